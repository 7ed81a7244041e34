"""留言板 pages of the agent: the unit's questions, ask, one thread with a follow-up, a file."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, TemplateView, View

from employers.helpdesk.forms import QuestionAskForm, QuestionFollowUpForm
from employers.helpdesk.selectors import (
    question_attachment_get_for_agent,
    question_get_for_agent,
    question_page_for_agent,
    question_thread,
)
from employers.helpdesk.services import question_ask, question_follow_up
from employers.models import Question
from employers.permissions import PermissionRequiredMixin
from portal.audit import audit_log


class HelpdeskMixin(PermissionRequiredMixin):
    permission = "unit.view"


class QuestionListView(HelpdeskMixin, TemplateView):
    template_name = "employers/helpdesk/list.html"

    def get_context_data(self, **kwargs):
        page = question_page_for_agent(
            agent=self.agent, page_number=self.request.GET.get("page") or 1
        )
        return super().get_context_data(page_obj=page, **kwargs)


class QuestionAskView(HelpdeskMixin, FormView):
    template_name = "employers/helpdesk/ask.html"
    form_class = QuestionAskForm

    def get_initial(self):
        # A token per rendered page: submitting the same page twice asks once.
        return {**super().get_initial(), "idempotency_key": uuid.uuid4()}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            question = question_ask(
                agent=self.agent,
                topic=data["topic"],
                subject=data["subject"],
                text=data["text"],
                idempotency_key=data["idempotency_key"],
                attachment=data["upload"],
                request=self.request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("留言已提交,编号 %(reference)s。经办机构将在2个工作日内答复,届时短信通知您。")
            % {"reference": question.reference},
        )
        return redirect("helpdesk:detail", reference=question.reference)


class QuestionDetailView(HelpdeskMixin, FormView):
    """The thread, and a follow-up form while the question is not closed."""

    template_name = "employers/helpdesk/detail.html"
    form_class = QuestionFollowUpForm

    @cached_property
    def question(self) -> Question:
        return question_get_for_agent(agent=self.agent, reference=self.kwargs["reference"])

    def deny(self, request):
        denied = super().deny(request)
        if denied is None:
            self.question  # noqa: B018 — load the question (or 404) before anything else happens
        return denied

    def get_context_data(self, **kwargs):
        question = self.question
        return super().get_context_data(
            question=question,
            thread=question_thread(question),
            may_follow_up=question.state != Question.State.CLOSED,
            **kwargs,
        )

    def form_valid(self, form):
        try:
            question_follow_up(
                agent=self.agent,
                question=self.question,
                text=form.cleaned_data["text"],
                attachment=form.cleaned_data["upload"],
                request=self.request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("已提交追问,经办机构将在2个工作日内答复。"))
        return redirect("helpdesk:detail", reference=self.question.reference)


class QuestionAttachmentView(HelpdeskMixin, View):
    """An attachment of the unit's thread, as a download (never shown inline)."""

    def get(self, request, message_id, *args, **kwargs):
        message = question_attachment_get_for_agent(agent=self.agent, message_id=message_id)
        if not message.attachment:
            raise Http404
        audit_log(
            action="question.attachment_downloaded",
            actor=request.user,
            employer_id=self.agent.employer_id,
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
