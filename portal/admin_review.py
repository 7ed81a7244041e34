"""The clerk's review screens: one ModelAdmin base for every reviewable type.

The queue list sorts by due time and filters by state, region and deadline; the detail page
shows the item, its evidence, the pre-check results and the history, with approve and reject
buttons. Every decision goes through portal.review.review_decide (row lock, audit, outbox).
"""

from __future__ import annotations

import datetime

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

from portal.models import OPEN_REVIEW_STATES, Region, ReviewState
from portal.review import clerk_may_review, review_bulk_approve, review_decide, review_history


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


class DueFilter(admin.SimpleListFilter):
    title = _("审核时限")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("today", _("今日到期")), ("overdue", _("已超期")), ("week", _("5日内到期"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        tz = timezone.get_current_timezone()
        start = datetime.datetime.combine(today, datetime.time.min, tzinfo=tz)
        if self.value() == "today":
            return queryset.filter(due_at__gte=start, due_at__lt=start + datetime.timedelta(days=1))
        if self.value() == "overdue":
            return queryset.filter(review_state__in=OPEN_REVIEW_STATES, due_at__lt=timezone.now())
        if self.value() == "week":
            return queryset.filter(due_at__lt=start + datetime.timedelta(days=5))
        return queryset


class RegionFilter(admin.SimpleListFilter):
    title = _("统筹区")
    parameter_name = "region"

    def lookups(self, request, model_admin):
        regions = Region.objects.all()
        if not request.user.is_superuser and request.user.regions.exists():
            regions = request.user.regions.all()
        return [(str(r.pk), r.name) for r in regions]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(review_region_id=self.value())
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
    list_filter = [QueueStateFilter, DueFilter, RegionFilter]
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
        queryset = super().get_queryset(request)
        user = request.user
        if not user.is_superuser:
            region_ids = list(user.regions.values_list("pk", flat=True))
            if region_ids:
                queryset = queryset.filter(review_region_id__in=region_ids)
        return queryset

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

    # Actions -------------------------------------------------------------------------------
    @admin.action(description=_("审核通过所选业务"))
    def approve_selected(self, request, queryset):
        changed, refusals = review_bulk_approve(
            model=self.model,
            pks=list(queryset.values_list("pk", flat=True)),
            actor=request.user,
            request=request,
        )
        if changed:
            self.message_user(request, _("已审核通过 %d 件。") % changed, messages.SUCCESS)
        for refusal in refusals:
            self.message_user(request, refusal, messages.ERROR)

    @admin.action(description=_("不予通过所选业务(需填写意见)"))
    def reject_selected(self, request, queryset):
        form = RejectForm(request.POST if "comment" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for pk in queryset.values_list("pk", flat=True):
                try:
                    result = review_decide(
                        model=self.model,
                        pk=pk,
                        actor=request.user,
                        decision="reject",
                        comment=form.cleaned_data["comment"],
                        request=request,
                    )
                    done += int(result.changed)
                except ValidationError as exc:
                    self.message_user(request, f"#{pk}: {' '.join(exc.messages)}", messages.ERROR)
            if done:
                self.message_user(request, _("已不予通过 %d 件。") % done, messages.SUCCESS)
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

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if obj is not None:
            extra_context.update(
                review_item=obj,
                review_history=review_history(obj),
                review_evidence=self.review_evidence(obj),
                reject_form=RejectForm(),
                decide_url=reverse(
                    f"admin:{obj._meta.app_label}_{obj._meta.model_name}_decide", args=[obj.pk]
                ),
                may_decide=obj.review_is_open
                and clerk_may_review(request.user, self.model, obj.review_region_id),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def review_evidence(self, obj) -> list[tuple[str, str]]:
        """Rows of (label, value) shown under "认证与材料"; subclasses add theirs."""
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
