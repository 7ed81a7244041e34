"""站内消息 (DESIGN.md section 14): every notification to a unit or its agent, readable in full.

``notification_create`` calls ``inbox_message_for_notification`` in the same transaction, so a
message is in the inbox exactly when the SMS or e-mail that reports it is in the outbox. The
full text comes from ``notifications/inbox/<template>.txt`` (first line the title, the rest the
body) when there is one, else from the SMS or e-mail itself. The agent-facing reads and the read
marks live with the agent (employers.inbox).
"""

from __future__ import annotations

from django.conf import settings
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import translation

from portal.models import InboxCategory, InboxMessage, Notification

SMS_PREFIX = "【社保网上服务大厅】"

# A template's category by the words in its name; the first match wins, a caller may name one.
CATEGORY_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("question_",), InboxCategory.ANSWER),
    (("bill",), InboxCategory.BILL),
    (("lock", "password", "login", "agent_"), InboxCategory.SECURITY),
    (("remind", "due", "overdue"), InboxCategory.REMINDER),
    (("_approved", "_rejected", "_submitted"), InboxCategory.REVIEW),
)


def inbox_category_for(template: str) -> str:
    """The inbox category of a notification template (InboxCategory value)."""
    for words, category in CATEGORY_RULES:
        if any(word in template for word in words):
            return category
    return InboxCategory.NOTICE


def _exists(name: str) -> bool:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


def _is_copy_of_an_sms(notification: Notification) -> bool:
    # One inbox message per event: an event sent by SMS and by e-mail (a review result to the
    # unit's phone and address) renders the same template name on both channels, so the SMS
    # writes the message and an e-mail writes one only when no SMS template has its name.
    return notification.channel == Notification.Channel.EMAIL and _exists(
        f"notifications/sms/{notification.template}.txt"
    )


def _fallback_title(notification: Notification) -> str:
    if notification.subject:
        return notification.subject
    text = notification.body.removeprefix(SMS_PREFIX)
    first = text.split("。")[0].split("\n")[0]
    return first if len(first) <= 60 else f"{first[:59]}…"


def inbox_message_create(
    *,
    employer_id: int,
    template: str,
    context: dict,
    agent_id: int | None = None,
    category: str | None = None,
    fallback: tuple[str, str] = ("", ""),
    created_at=None,
    save: bool = True,
) -> InboxMessage:
    """Write one inbox message from ``notifications/inbox/<template>.txt``, else ``fallback``
    (title, body); with ``save=False`` build it only, for an insert of many."""
    name = f"notifications/inbox/{template}.txt"
    if _exists(name):
        with translation.override(settings.LANGUAGE_CODE):  # stored: Chinese for every reader
            title, _sep, body = render_to_string(name, context).strip().partition("\n")
        title, body = title.strip(), body.strip()
    else:
        title, body = fallback
    message = InboxMessage(
        employer_id=employer_id,
        agent_id=agent_id,
        category=category or inbox_category_for(template),
        template=template,
        title=title[:200],
        body=body,
        reference=str(context.get("reference", ""))[:32],
    )
    if created_at is not None:
        message.created_at = created_at
    if save:
        message.save()
    return message


def inbox_message_for_notification(
    notification: Notification,
    *,
    context: dict,
    agent_id: int | None = None,
    category: str | None = None,
    save: bool = True,
) -> InboxMessage | None:
    """Write (or with ``save=False`` build) the inbox message of a notification to a unit;
    None when it gets none.

    Verification codes (they expire) and messages not about a unit (clerks' reminders) stay out;
    so does the e-mail copy of an event that also went out by SMS.
    """
    if notification.employer_id is None or notification.expires_at is not None:
        return None
    if _is_copy_of_an_sms(notification):
        return None
    return inbox_message_create(
        employer_id=notification.employer_id,
        template=notification.template,
        context=context,
        agent_id=agent_id,
        category=category,
        fallback=(_fallback_title(notification), notification.body),
        created_at=notification.created_at,
        save=save,
    )
