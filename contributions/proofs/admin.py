"""Clerk screen of issued 参保缴费证明: read-only; personal data as the public page shows it."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from contributions.models import ContributionProof
from contributions.proofs.codes import proof_code_display, proof_code_normalise
from portal.admin import ReadOnlyAdmin
from portal.admin_review import clerk_region_queryset
from portal.audit import audit_log


@admin.register(ContributionProof)
class ContributionProofAdmin(ReadOnlyAdmin):
    list_display = [
        "code_display",
        "kind",
        "employer",
        "person_masked",
        "months",
        "created_at",
        "revoked_at",
    ]
    list_filter = ["kind", "created_at", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["employer"]
    search_fields = ["employer__name", "employer__ss_number"]
    date_hierarchy = "created_at"
    fields = [
        "code_display",
        "kind",
        "employer",
        "person_masked",
        "months",
        "created_by",
        "created_at",
        "revoked_at",
        "pdf_link",
        "content_display",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        # Like the review queues: a clerk assigned to regions sees those regions' units only.
        return clerk_region_queryset(
            request.user, super().get_queryset(request), "employer__region_id"
        )

    def get_search_results(self, request, queryset, search_term):
        """A verification code is looked up exactly (any case, dashes); else unit names."""
        code = proof_code_normalise(search_term)
        if len(code) == 16 and code.isalnum() and queryset.filter(code=code).exists():
            return queryset.filter(code=code), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("验证码"), ordering="code")
    def code_display(self, obj):
        return proof_code_display(obj.code)

    @admin.display(description=_("参保人员"))
    def person_masked(self, obj):
        if not obj.person_id:
            return "—"
        person = obj.content.get("person", {})
        return f"{person.get('name', '')} {person.get('document_number', '')}".strip() or "—"

    @admin.display(description=_("证明期间"))
    def months(self, obj):
        return _("%(start)s 至 %(end)s") % {
            "start": f"{obj.month_from:%Y-%m}",
            "end": f"{obj.month_to:%Y-%m}",
        }

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj):
        if not obj.pdf:
            return "—"
        opts = self.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_pdf", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("下载PDF"))

    @admin.display(description=_("证明内容"))
    def content_display(self, obj):
        # What the proof states, as the public check page shows it (names and IDs masked).
        return render_to_string(
            "contributions/proof_content.html",
            {
                "content": obj.content,
                "display_name": obj.content.get("person", {}).get("name", ""),
            },
        )

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/proof.pdf",
                self.admin_site.admin_view(self.pdf_view),
                name=f"{opts.app_label}_{opts.model_name}_pdf",
            ),
            *super().get_urls(),
        ]

    def pdf_view(self, request, object_id):
        proof = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_permission(request, proof):
            raise PermissionDenied
        if not proof.pdf:
            raise Http404
        audit_log(
            action="contributions.proof_viewed_by_clerk",
            actor=request.user,
            employer_id=proof.employer_id,
            obj=proof,
            request=request,
        )
        response = FileResponse(
            proof.pdf.open("rb"),
            as_attachment=True,
            filename=f"参保缴费证明-{proof.pk}.pdf",
            content_type="application/pdf",
        )
        response["Cache-Control"] = "private, no-store"
        return response
