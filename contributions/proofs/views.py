"""打印证明 pages for agents: issue a proof, the unit's proofs, one proof, its PDF, revoke it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, ListView, TemplateView, View

from contributions.proofs.codes import proof_check_url, proof_code_display, proof_form_url
from contributions.proofs.forms import ProofIssueForm
from contributions.proofs.selectors import proof_get_for_agent, proof_list_for_agent
from contributions.proofs.services import (
    MAX_MONTHS,
    proof_download_record,
    proof_issue,
    proof_revoke,
)
from employers.permissions import PermissionRequiredMixin

PDF_FILENAME = "参保缴费证明-%s-%s.pdf"


class ProofMixin(PermissionRequiredMixin):
    permission = "proofs.print"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="proofs", **kwargs)


class ProofListView(ProofMixin, ListView):
    template_name = "contributions/proof_list.html"
    context_object_name = "proofs"
    paginate_by = 20

    def get_queryset(self):
        return proof_list_for_agent(agent=self.agent)


class ProofIssueView(ProofMixin, FormView):
    template_name = "contributions/proof_issue.html"
    form_class = ProofIssueForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "agent": self.agent}

    def get_context_data(self, **kwargs):
        return super().get_context_data(max_months=MAX_MONTHS, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            proof = proof_issue(
                agent=self.agent,
                kind=data["kind"],
                month_from=data["month_from"],
                month_to=data["month_to"],
                person=data["person_obj"],
                request=self.request,
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
            for field, field_messages in errors.items():
                form.add_error(field if field in form.fields else None, field_messages)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("证明已开具,验证码 %(code)s。请下载PDF打印或发送给需要的单位。")
            % {"code": proof_code_display(proof.code)},
        )
        return redirect("contributions:proof_detail", proof_id=proof.pk)


class ProofDetailView(ProofMixin, TemplateView):
    template_name = "contributions/proof_detail.html"

    def get_context_data(self, **kwargs):
        proof = proof_get_for_agent(agent=self.agent, proof_id=self.kwargs["proof_id"])
        return super().get_context_data(
            proof=proof,
            content=proof.content,
            code=proof_code_display(proof.code),
            check_url=proof_check_url(proof.code, self.request),
            form_url=proof_form_url(self.request),
            # The agent may see the full name (the PDF prints it); the number stays masked.
            display_name=proof.person.name if proof.person_id else "",
            **kwargs,
        )


class ProofPdfView(ProofMixin, View):
    """The stored PDF, only to the unit's agents allowed to print proofs (audited)."""

    def get(self, request, *args, **kwargs):
        proof = proof_get_for_agent(agent=self.agent, proof_id=self.kwargs["proof_id"])
        if proof.revoked_at is not None:
            messages.info(
                request, _("该证明已作废,不再提供下载,以免继续流转。如有需要请重新开具。")
            )
            return redirect("contributions:proof_detail", proof_id=proof.pk)
        if not proof.pdf:
            raise Http404
        proof_download_record(agent=self.agent, proof=proof, request=request)
        response = FileResponse(
            proof.pdf.open("rb"),
            as_attachment=True,
            filename=PDF_FILENAME
            % (timezone.localtime(proof.created_at).strftime("%Y%m%d"), proof.pk),
            content_type="application/pdf",
        )
        response["Cache-Control"] = "private, no-store"
        return response


class ProofRevokeView(ProofMixin, View):
    """POST revokes; a GET (a bookmarked or typed address) shows the proof, never revokes."""

    def get(self, request, *args, **kwargs):
        proof = proof_get_for_agent(agent=self.agent, proof_id=self.kwargs["proof_id"])
        return redirect("contributions:proof_detail", proof_id=proof.pk)

    def post(self, request, *args, **kwargs):
        proof_id = self.kwargs["proof_id"]
        try:
            proof_revoke(agent=self.agent, proof_id=proof_id, request=request)
        except ValidationError as exc:
            messages.info(request, " ".join(exc.messages))
        else:
            messages.success(request, _("证明已作废。核验页面将显示“已作废”。"))
        return redirect(reverse("contributions:proof_detail", kwargs={"proof_id": proof_id}))
