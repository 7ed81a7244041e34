"""留言板 (DESIGN.md section 14): an agent asks, follows up; a clerk answers in the admin.

A question is due 2 working days after the agent's latest message (portal.workdays, through
portal.review.review_due_at); a beat task marks the ones past due overdue. An answer goes to
the asking agent by SMS (a short text with the reference) and in full to its inbox.
"""

from __future__ import annotations

import datetime
import secrets
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from employers.models import Agent, Question, QuestionMessage
from portal.audit import audit_log
from portal.models import InboxCategory, Notification
from portal.notifications import notification_create
from portal.review import clerk_may_review, review_due_at
from portal.uploads import CheckedFile

ANSWER_WORKING_DAYS = 2
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
TEXT_MAX_LENGTH = 2000
# The same follow-up sent twice within this time (a double click) is written once.
DOUBLE_SUBMIT_SECONDS = 60


def question_due_at(moment: datetime.datetime) -> datetime.datetime:
    """When a message written at ``moment`` must be answered: the close of the 2nd working day."""
    return review_due_at(moment, ANSWER_WORKING_DAYS)


def _new_reference() -> str:
    return f"LY{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


def _check_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("请填写内容。")}, code="required")
    if len(text) > TEXT_MAX_LENGTH:
        raise ValidationError(
            {"text": _("内容不能超过%(max)d个字。") % {"max": TEXT_MAX_LENGTH}}, code="max_length"
        )
    return text


def _message_create(
    *, question: Question, text: str, agent=None, clerk=None, attachment: CheckedFile | None
) -> QuestionMessage:
    message = QuestionMessage(question=question, agent=agent, clerk=clerk, text=text)
    if attachment is not None:
        message.attachment_name = attachment.original_name
        message.attachment_type = attachment.content_type
        message.attachment.save(attachment.original_name, ContentFile(attachment.data), save=False)
    message.full_clean()
    message.save()
    return message


@transaction.atomic
def question_ask(
    *,
    agent: Agent,
    topic: str,
    subject: str,
    text: str,
    idempotency_key: uuid.UUID,
    attachment: CheckedFile | None = None,
    request=None,
) -> Question:
    """Ask the hall a question; the same form submitted twice asks once."""
    text = _check_text(text)
    existing = Question.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.employer_id != agent.employer_id:
            raise ValidationError(_("该页面已失效,请重新打开留言页面后再提交。"), code="stale")
        return existing
    question = Question(
        reference=_new_reference(),
        employer_id=agent.employer_id,
        agent=agent,
        region_id=agent.employer.region_id,
        topic=topic,
        subject=subject.strip(),
        idempotency_key=idempotency_key,
        due_at=question_due_at(timezone.now()),
    )
    question.full_clean()
    try:
        with transaction.atomic():
            question.save()
    except IntegrityError:  # the same form, submitted twice at the same moment
        existing = Question.objects.filter(
            idempotency_key=idempotency_key, employer_id=agent.employer_id
        ).first()
        if existing is None:
            raise
        return existing
    _message_create(question=question, agent=agent, text=text, attachment=attachment)
    audit_log(
        action="question.asked",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=question,
        request=request,
        details={"topic": topic, "attachment": attachment is not None},
    )
    return question


@transaction.atomic
def question_follow_up(
    *,
    agent: Agent,
    question: Question,
    text: str,
    attachment: CheckedFile | None = None,
    request=None,
) -> QuestionMessage:
    """Add the agent's message to the thread; an answered question is open again, due anew."""
    text = _check_text(text)
    question = Question.objects.select_for_update().get(
        pk=question.pk, employer_id=agent.employer_id
    )
    if question.state == Question.State.CLOSED:
        raise ValidationError(
            _("该留言已关闭,不能继续追问。如有新的问题,请重新提交留言。"), code="closed"
        )
    now = timezone.now()
    last = question.messages.order_by("-created_at", "-pk").first()
    if (
        last is not None
        and last.agent_id == agent.pk
        and last.text == text
        and now - last.created_at < datetime.timedelta(seconds=DOUBLE_SUBMIT_SECONDS)
    ):
        return last
    message = _message_create(question=question, agent=agent, text=text, attachment=attachment)
    question.state = Question.State.OPEN
    question.due_at = question_due_at(now)
    question.is_overdue = False
    question.save(update_fields=["state", "due_at", "is_overdue", "updated_at"])
    audit_log(
        action="question.followed_up",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=question,
        request=request,
        details={"attachment": attachment is not None},
    )
    return message


@transaction.atomic
def question_answer(*, question: Question, clerk, text: str, request=None) -> QuestionMessage:
    """A clerk's answer: the question is answered, the asking agent told by SMS and inbox."""
    text = _check_text(text)
    question = (
        Question.objects.select_for_update().select_related("agent", "employer").get(pk=question.pk)
    )
    if not clerk_may_review(clerk, Question, question.region_id):
        raise PermissionDenied(_("您没有答复该统筹区留言的权限。"))
    if question.state == Question.State.CLOSED:
        raise ValidationError(_("该留言已关闭,不能再答复。"), code="closed")
    message = _message_create(question=question, clerk=clerk, text=text, attachment=None)
    question.state = Question.State.ANSWERED
    question.answered_at = timezone.now()
    question.is_overdue = False
    question.save(update_fields=["state", "answered_at", "is_overdue", "updated_at"])
    audit_log(
        action="question.answered",
        actor=clerk,
        employer_id=question.employer_id,
        obj=question,
        request=request,
    )
    notification_create(
        channel=Notification.Channel.SMS,
        recipient=question.agent.phone,
        template="question_answered",
        context={
            "reference": question.reference,
            "subject": question.subject,
            "answer": text,
            "asked": timezone.localtime(question.created_at).strftime("%Y-%m-%d %H:%M"),
        },
        employer_id=question.employer_id,
        agent_id=question.agent_id,
        inbox_category=InboxCategory.ANSWER,
    )
    return message


def questions_mark_overdue(*, now: datetime.datetime | None = None) -> int:
    """Mark open questions past their due time overdue; return how many changed (idempotent)."""
    now = now or timezone.now()
    return Question.objects.filter(
        state=Question.State.OPEN, due_at__lt=now, is_overdue=False
    ).update(is_overdue=True)
