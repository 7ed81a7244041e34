"""The clerk's 留言板 queue: the oldest unanswered question first, the thread, an answer form.

The agent's text is never editable; answering is ``question_answer`` (audited, SMS and inbox).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from employers.helpdesk.selectors import question_thread
from employers.helpdesk.services import TEXT_MAX_LENGTH, question_answer
from employers.models import Employer, Question
from portal.admin_review import RegionFilter, clerk_region_queryset
from portal.audit import audit_log


class QuestionAnswerForm(forms.Form):
    text = forms.CharField(
        label=_("答复内容"),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
        help_text=_("答复全文会发送到提问经办人的站内消息,短信只提示留言编号。"),
        error_messages={
            "required": _("请填写答复内容。"),
            "max_length": _("答复不能超过%(limit_value)d个字(现有%(show_value)d个字)。"),
        },
    )


class QuestionStateFilter(admin.SimpleListFilter):
    title = _("状态")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("open", _("待答复(默认)")),
            ("answered", _("已答复")),
            ("closed", _("已关闭")),
            ("all", _("全部")),
        ]

    def value(self):
        return super().value() or "open"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        return queryset.filter(state=self.value())


class QuestionRegionFilter(RegionFilter):
    region_field = "region_id"


class OverdueFilter(admin.SimpleListFilter):
    title = _("答复时限")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("已超期")), ("no", _("未超期"))]

    def queryset(self, request, queryset):
        # Past due counts before the beat has marked it, too.
        overdue = Q(is_overdue=True) | Q(state=Question.State.OPEN, due_at__lt=timezone.now())
        if self.value() == "yes":
            return queryset.filter(overdue)
        if self.value() == "no":
            return queryset.exclude(overdue)
        return queryset


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "subject",
        "topic",
        "unit_name",
        "region",
        "state_column",
        "created_at",
        "due_column",
    ]
    list_filter = [QuestionStateFilter, "topic", QuestionRegionFilter, OverdueFilter]
    search_fields = ["reference", "subject"]
    # The due time is 2 working days after the agent's latest message: the earliest due has
    # waited longest (a follow-up on an old question waits from the follow-up).
    ordering = ["due_at", "created_at", "pk"]
    list_select_related = ["employer", "region"]
    list_per_page = 50
    show_full_result_count = False

    def get_queryset(self, request):
        return clerk_region_queryset(request.user, super().get_queryset(request), "region_id")

    def get_search_results(self, request, queryset, search_term):
        """A 留言编号 exactly (its unique index); anything else in the subject."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.upper().startswith("LY") and term.isascii() and term.isalnum():
            return queryset.filter(reference=term.upper()), False
        return queryset.filter(subject__icontains=term), False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("单位"), ordering="employer__name")
    def unit_name(self, obj):
        return obj.employer.name

    @admin.display(description=_("状态"), ordering="state")
    def state_column(self, obj):
        return obj.get_state_display()

    @admin.display(description=_("答复时限"), ordering="due_at")
    def due_column(self, obj):
        if obj.due_at is None:
            return "—"
        text = timezone.localtime(obj.due_at).strftime("%m-%d %H:%M")
        overdue = obj.state == Question.State.OPEN and (
            obj.is_overdue or obj.due_at < timezone.now()
        )
        if overdue:
            return format_html('<strong class="review-overdue">{} {}</strong>', text, _("已超期"))
        return text

    # The detail: the thread read-only and the answer form -------------------------------------
    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/files/<int:message_id>/",
                self.admin_site.admin_view(self.attachment_view),
                name=f"{opts.app_label}_{opts.model_name}_attachment",
            ),
            *super().get_urls(),
        ]

    def _question(self, request, object_id) -> Question:
        question = self.get_object(request, unquote(object_id))
        if question is None:
            raise Http404
        if not self.has_view_or_change_permission(request, question):
            raise PermissionDenied
        return question

    def change_view(self, request, object_id, form_url="", extra_context=None):
        question = self._question(request, object_id)
        may_answer = (
            self.has_change_permission(request, question)
            and question.state != Question.State.CLOSED
        )
        form = QuestionAnswerForm(request.POST if request.method == "POST" else None)
        if request.method == "POST":
            if not may_answer:
                raise PermissionDenied
            if form.is_valid():
                try:
                    question_answer(
                        question=question,
                        clerk=request.user,
                        text=form.cleaned_data["text"],
                        request=request,
                    )
                except ValidationError as exc:
                    form.add_error(None, exc)
                else:
                    self.message_user(
                        request,
                        _("已答复留言 %(reference)s,已短信和站内消息通知提问经办人。")
                        % {"reference": question.reference},
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:employers_question_changelist"))
        employer: Employer = question.employer
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("留言 %(reference)s") % {"reference": question.reference},
            "subtitle": question.subject,
            "question": question,
            "unit": employer,
            "asker": question.agent,
            "thread": question_thread(question),
            "form": form,
            "may_answer": may_answer,
            "overdue": question.state == Question.State.OPEN
            and question.due_at is not None
            and (question.is_overdue or question.due_at < timezone.now()),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/helpdesk/question_change.html", context)

    def attachment_view(self, request, object_id, message_id):
        question = self._question(request, object_id)
        message = question.messages.filter(pk=message_id).exclude(attachment="").first()
        if message is None:
            raise Http404
        audit_log(
            action="question.attachment_downloaded",
            actor=request.user,
            employer_id=question.employer_id,
            obj=message,
            request=request,
        )
        response = FileResponse(
            message.attachment.open("rb"),
            as_attachment=True,
            filename=message.attachment_name or "attachment",
            content_type=message.attachment_type or "application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response
