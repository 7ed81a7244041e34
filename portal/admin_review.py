"""The clerk's review screens: one ModelAdmin base for every reviewable type.

The queue list sorts by due time and filters by state, region and deadline; the detail page
shows the item, its evidence, the pre-check results and the history, with approve and reject
buttons. Every decision goes through portal.review.review_decide (row lock, audit, outbox), and
the bulk actions through portal.review_bulk (the same rows, set-based). Filters, search and the
clerk's home live in portal.admin_queue.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from portal.admin_queue import (
    DueFilter,
    MineFilter,
    SubmittedRangeFilter,
    review_search_results,
)
from portal.models import OPEN_REVIEW_STATES, Region, ReviewState
from portal.review import clerk_may_review, review_decide
from portal.review_bulk import bulk_decision_messages, review_decide_many
from portal.review_detail import ReviewFile, checklist, history_steps


class QueueStateFilter(admin.SimpleListFilter):
    title = _("审核状态")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("open", _("待处理(默认)")), *ReviewState.choices, ("all", _("全部"))]

    def value(self):
        return super().value() or "open"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value == "all":
            return queryset
        if value == "open":
            return queryset.filter(review_state__in=OPEN_REVIEW_STATES)
        return queryset.filter(review_state=value)


def clerk_region_queryset(user, queryset, field: str):
    """What a clerk sees: the rows of the clerk's regions when the clerk has any (``field`` is
    the rows' region id column); a superuser or a clerk without regions sees all."""
    if user.is_superuser:
        return queryset
    region_ids = list(user.regions.values_list("pk", flat=True))
    if not region_ids:
        return queryset
    return queryset.filter(**{f"{field}__in": region_ids})


class RegionFilter(admin.SimpleListFilter):
    """The clerk's regions (or all) to filter by; ``region_field`` names the rows' column."""

    title = _("统筹区")
    parameter_name = "region"
    region_field = "review_region_id"

    def lookups(self, request, model_admin):
        regions = Region.objects.all()
        if not request.user.is_superuser and request.user.regions.exists():
            regions = request.user.regions.all()
        return [(str(r.pk), r.name) for r in regions]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.region_field: self.value()})
        return queryset


class RejectForm(forms.Form):
    comment = forms.CharField(
        label=_("审核意见"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=1000,
        error_messages={"required": _("不予通过时必须填写审核意见,告诉单位需要如何修改。")},
        help_text=_("单位会在状态页看到这段意见,请写明需要修改或补充的内容。"),
    )


class ReviewAdmin(admin.ModelAdmin):
    """Subclasses set ``review_columns`` (leading list columns) and ``search_fields``."""

    review_columns: list[str] = []
    list_filter = [QueueStateFilter, DueFilter, RegionFilter, SubmittedRangeFilter, MineFilter]
    search_fields = ["reference"]
    search_help_text = _("输入业务编号、单位社保编号或统一社会信用代码精确查找,或输入名称查找。")
    ordering = ["due_at", "pk"]
    list_per_page = 50
    show_full_result_count = False
    actions = ["approve_selected", "reject_selected"]
    change_form_template = "admin/review/change_form.html"

    def get_list_display(self, request):
        return [*self.review_columns, "state_badge", "review_region", "due_column", "age_column"]

    def get_list_select_related(self, request):
        return ["review_region"]

    def get_queryset(self, request):
        return clerk_region_queryset(
            request.user, super().get_queryset(request), "review_region_id"
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.display(description=_("状态"), ordering="review_state")
    def state_badge(self, obj):
        return format_html(
            '<span class="review-state review-state-{}">{}</span>',
            obj.review_state,
            obj.get_review_state_display(),
        )

    @admin.display(description=_("审核时限"), ordering="due_at")
    def due_column(self, obj):
        if obj.due_at is None:
            return "—"
        text = timezone.localtime(obj.due_at).strftime("%m-%d %H:%M")
        if obj.review_is_open and obj.due_at < timezone.now():
            return format_html('<strong class="review-overdue">{} {}</strong>', text, _("已超期"))
        return text

    @admin.display(description=_("已等待"), ordering="submitted_at")
    def age_column(self, obj):
        if obj.submitted_at is None:
            return "—"
        hours = int((timezone.now() - obj.submitted_at).total_seconds() // 3600)
        return _("%(d)d天%(h)d小时") % {"d": hours // 24, "h": hours % 24}

    def get_search_results(self, request, queryset, search_term):
        return review_search_results(self, request, queryset, search_term)

    # Actions: set-based, all or nothing per item (portal.review_bulk) ------------------------
    def _decide_selected(self, request, queryset, decision: str, comment: str = "") -> None:
        selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
        if selected and request.POST.get("select_across") != "1":
            # The ticked rows, also those another clerk decided since the list was shown (the
            # list's filters would drop them silently): they are named as skipped.
            queryset = self.get_queryset(request).filter(pk__in=selected)
        try:
            result = review_decide_many(
                model=self.model,
                pks=list(queryset.values_list("pk", flat=True)),
                actor=request.user,
                decision=decision,
                comment=comment,
                request=request,
            )
        except ValidationError as exc:
            for message in exc.messages:
                self.message_user(request, message, messages.ERROR)
            return
        levels = {"success": messages.SUCCESS, "warning": messages.WARNING}
        for level, text in bulk_decision_messages(result):
            self.message_user(request, text, levels.get(level, messages.ERROR))

    @admin.action(description=_("审核通过所选业务"))
    def approve_selected(self, request, queryset):
        self._decide_selected(request, queryset, "approve")

    @admin.action(description=_("不予通过所选业务(需填写意见)"))
    def reject_selected(self, request, queryset):
        form = RejectForm(request.POST if "comment" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._decide_selected(request, queryset, "reject", form.cleaned_data["comment"])
            return None
        return TemplateResponse(
            request,
            "admin/review/reject_selected.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "queryset": queryset,
                "form": form,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "title": _("不予通过:填写审核意见"),
            },
        )

    # Detail page with decision buttons -------------------------------------------------------
    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name=f"{opts.app_label}_{opts.model_name}_decide",
            ),
            *super().get_urls(),
        ]

    # The detail page is for reading and deciding: no generic edit form on a reviewable item
    # (the list keeps the change permission its actions need; decisions go through decide_view).
    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if obj is not None:
            checks = checklist(obj.precheck_results)
            extra_context.update(
                review_item=obj,
                review_unit=self.review_unit(obj),
                review_applicant=self.review_applicant(obj),
                review_applicant_role=self.review_applicant_role,
                review_evidence=self.review_evidence(obj),
                review_evidence_title=self.review_evidence_title,
                review_checks=checks,
                review_checks_failed=sum(not check.passed for check in checks),
                review_files=self.review_files(obj),
                review_history=history_steps(obj),
                reject_form=RejectForm(),
                reject_reasons=self.reject_reasons,
                decide_url=reverse(
                    f"admin:{obj._meta.app_label}_{obj._meta.model_name}_decide", args=[obj.pk]
                ),
                may_decide=obj.review_is_open
                and clerk_may_review(request.user, self.model, obj.review_region_id),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    # What the detail page shows; subclasses fill these in -----------------------------------
    review_applicant_role = _("经办人")
    review_evidence_title = _("申请内容")
    reject_reasons: list[str] = [
        _("材料不完整,请补充后重新提交。"),
        _("填写的信息与材料不一致,请核对后重新提交。"),
    ]

    def review_unit(self, obj):
        """The unit the item is for (name, USCC, social-security number), or None."""
        return getattr(obj, "employer", None)

    def review_applicant(self, obj):
        """The agent who filed the item (name, masked ID number and phone), or None."""
        return getattr(obj, "submitted_by", None)

    def review_evidence(self, obj) -> list[tuple[str, str]]:
        """Rows of (label, value) shown under ``review_evidence_title``; subclasses add theirs."""
        return []

    def review_files(self, obj) -> list[ReviewFile]:
        """Attachments and generated forms shown inline (images and PDFs)."""
        return []

    def decide_view(self, request, object_id):
        if request.method != "POST":
            raise PermissionDenied
        obj = get_object_or_404(self.get_queryset(request), pk=object_id)
        opts = self.model._meta
        change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        decision = "approve" if "approve" in request.POST else "reject"
        try:
            result = review_decide(
                model=self.model,
                pk=obj.pk,
                actor=request.user,
                decision=decision,
                comment=request.POST.get("comment", ""),
                request=request,
            )
        except ValidationError as exc:
            for message in exc.messages:
                self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(change_url)
        self.message_user(
            request, result.message, messages.SUCCESS if result.changed else messages.INFO
        )
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        return HttpResponseRedirect(changelist)
