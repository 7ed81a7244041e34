"""The notification outbox (DESIGN.md section 12).

A notification is written in the transaction of the change it reports
(``notification_create``) and sent by a Celery task after commit (``notification_deliver``).
Sending claims the row with a guarded UPDATE, calls the provider outside any transaction with
the row's idempotency key, then records the outcome: a message is sent at most once even when
a worker dies between the provider's answer and the database write, because the resend carries
the same key. Rows still unsent after a while are picked up by a beat task
(``notifications_resend_due``). Verification codes stop retrying when the code expires.
A notification to a unit also writes its 站内消息 in the same transaction (portal.inbox).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from portal.audit import audit_log
from portal.bulk_insert import insert_many
from portal.inbox import inbox_message_for_notification
from portal.models import InboxMessage, Notification
from portal.sms import SmsPermanentError, SmsTemporaryError, send_sms

logger = logging.getLogger(__name__)

Status = Notification.Status


def _settings() -> dict:
    return settings.NOTIFICATIONS


def notification_create(
    *,
    channel: str,
    recipient: str,
    template: str,
    context: dict | None = None,
    employer_id: int | None = None,
    agent_id: int | None = None,
    expires_at: datetime.datetime | None = None,
    inbox_category: str | None = None,
) -> Notification:
    """Write an outbox row from ``notifications/<channel>/<template>.txt``; send after commit.

    Call it inside the transaction of the state change, so that the message exists exactly
    when the change does. With ``employer_id`` the unit's inbox gets the message too (only
    the agent ``agent_id`` sees it when given; ``inbox_category`` overrides the category the
    template's name gives).
    """
    context = dict(context or {})
    notification = _notification_build(
        channel=channel,
        recipient=recipient,
        template=template,
        context=context,
        employer_id=employer_id,
        expires_at=expires_at,
    )
    notification.save()
    inbox_message_for_notification(
        notification, context=context, agent_id=agent_id, category=inbox_category
    )
    transaction.on_commit(lambda: _enqueue(notification.pk))
    return notification


def _notification_build(
    *, channel, recipient, template, context, employer_id=None, expires_at=None
) -> Notification:
    # Messages are Chinese whatever language the acting agent or clerk browses in.
    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string(f"notifications/{channel}/{template}.txt", context).strip()
    subject = ""
    if channel == Notification.Channel.EMAIL:
        subject, _sep, body = body.partition("\n")
        body = body.strip()
    return Notification(
        channel=channel,
        recipient=recipient,
        template=template,
        subject=subject[:200],
        body=body,
        employer_id=employer_id,
        expires_at=expires_at,
    )


def notification_create_many(notices: Sequence[dict]) -> list[Notification]:
    """notification_create for each kwargs dict in ``notices``: the same outbox rows and inbox
    messages, written with one INSERT each (COPY on PostgreSQL); each sent after commit."""
    built = []
    for notice in notices:
        notice = dict(notice)
        context = dict(notice.pop("context", None) or {})
        agent_id = notice.pop("agent_id", None)
        category = notice.pop("inbox_category", None)
        built.append((_notification_build(context=context, **notice), context, agent_id, category))
    notifications = insert_many(Notification, [notification for notification, *_rest in built])
    messages = [
        inbox_message_for_notification(
            notification, context=context, agent_id=agent_id, category=category, save=False
        )
        for notification, context, agent_id, category in built
    ]
    insert_many(InboxMessage, [message for message in messages if message is not None])
    pks = [notification.pk for notification in notifications]
    transaction.on_commit(lambda: [_enqueue(pk) for pk in pks])
    return notifications


def _enqueue(pk: int) -> None:
    from portal.tasks import notification_deliver_task

    try:
        notification_deliver_task.delay(pk)
    except Exception:  # noqa: BLE001 — broker down: due now, so the next beat resends it
        logger.warning("notification %s not queued; the resend task will pick it up", pk)
        try:
            Notification.objects.filter(pk=pk, status=Status.CREATED).update(
                next_attempt_at=timezone.now()
            )
        except Exception:  # noqa: BLE001 — the database too: the 10-minute sweep finds it
            logger.warning("notification %s not marked for resending", pk)


def _backoff(attempts: int) -> datetime.timedelta:
    conf = _settings()
    seconds = min(conf["retry_base_seconds"] * 2 ** max(attempts - 1, 0), conf["retry_max_seconds"])
    return datetime.timedelta(seconds=seconds)


def _claim(pk: int, now: datetime.datetime) -> Notification | None:
    """Take the row for sending and return it as claimed; None when it is not due.

    The row is read and claimed in one locked statement and handed back as read: nothing is
    read again between the claim and the send, so a database hiccup after the claim cannot
    leave a claimed row that nobody sends until its lease runs out.
    """
    lease = now - datetime.timedelta(seconds=_settings()["sending_lease_seconds"])
    due = Q(status__in=[Status.CREATED, Status.TEMPORARY_FAILURE]) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    stale = Q(status=Status.SENDING, claimed_at__lt=lease)
    with transaction.atomic():
        row = Notification.objects.select_for_update().filter(due | stale, pk=pk).first()
        if row is None:
            return None
        row.status = Status.SENDING
        row.claimed_at = now
        row.attempts += 1
        row.save(update_fields=["status", "claimed_at", "attempts"])
    return row


def notification_deliver(pk: int) -> str:
    """Send one outbox row if it is due; return its status afterwards."""
    now = timezone.now()
    notification = _claim(pk, now)
    if notification is None:
        return Notification.objects.filter(pk=pk).values_list("status", flat=True).first() or ""
    if notification.expires_at and notification.expires_at <= now:
        return _finish(notification, Status.PERMANENT_FAILURE, error="expired before sending")
    try:
        provider = _send(notification)
    except SmsPermanentError as exc:
        return _finish(notification, Status.PERMANENT_FAILURE, error=str(exc))
    except SmsTemporaryError as exc:
        return _retry_later(notification, str(exc))
    except Exception as exc:  # noqa: BLE001 — a bug or an unexpected provider answer
        logger.exception("notification %s: unexpected error while sending", pk)
        if notification.attempts >= _settings()["max_attempts"]:
            return _finish(notification, Status.TECHNICAL_FAILURE, error=type(exc).__name__)
        return _retry_later(notification, type(exc).__name__)
    return _finish(notification, Status.DELIVERED, provider=provider)


def _send(notification: Notification) -> str:
    key = str(notification.idempotency_key)
    if notification.channel == Notification.Channel.SMS:
        return send_sms(notification.recipient, notification.body, idempotency_key=key)
    try:
        EmailMessage(
            notification.subject,
            notification.body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.recipient],
            headers={"X-Idempotency-Key": key},
        ).send()
    except OSError as exc:
        raise SmsTemporaryError(type(exc).__name__) from None
    return "email"


def _retry_later(notification: Notification, error: str) -> str:
    now = timezone.now()
    give_up = notification.attempts >= _settings()["max_attempts"] or (
        notification.expires_at is not None and notification.expires_at <= now
    )
    if give_up:
        return _finish(notification, Status.TECHNICAL_FAILURE, error=error)
    notification.status = Status.TEMPORARY_FAILURE
    notification.next_attempt_at = now + _backoff(notification.attempts)
    notification.last_error = error[:200]
    notification.save(update_fields=["status", "next_attempt_at", "last_error"])
    return notification.status


def _finish(notification: Notification, status: str, *, error: str = "", provider: str = "") -> str:
    notification.status = status
    notification.last_error = error[:200]
    notification.provider = provider[:64]
    fields = ["status", "last_error", "provider"]
    if status == Status.DELIVERED:
        notification.delivered_at = timezone.now()
        fields.append("delivered_at")
    notification.save(update_fields=fields)
    return status


def notifications_resend_due(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Queue rows due again: retries whose time has come, rows never queued, stale sends."""
    now = now or timezone.now()
    conf = _settings()
    unqueued = now - datetime.timedelta(seconds=conf["resend_after_seconds"])
    lease = now - datetime.timedelta(seconds=conf["sending_lease_seconds"])
    due = (
        Q(status=Status.TEMPORARY_FAILURE, next_attempt_at__lte=now)
        # Not sent to the broker (it was down): due at once; any other, after a long while.
        | Q(status=Status.CREATED, next_attempt_at__lte=now)
        | Q(status=Status.CREATED, created_at__lte=unqueued)
        | Q(status=Status.SENDING, claimed_at__lt=lease)
    )
    pks = list(
        Notification.objects.filter(due).order_by("created_at").values_list("pk", flat=True)[:limit]
    )
    for pk in pks:
        _enqueue(pk)
    return len(pks)


# The outbox admin's filters for rows that need an operator (portal.admin_outbox).
NEVER_QUEUED_AFTER = datetime.timedelta(minutes=1)
UNSENT_STATUSES = (Status.CREATED, Status.SENDING, Status.TEMPORARY_FAILURE)


def notifications_stuck_q(kind: str, *, now: datetime.datetime | None = None) -> Q:
    """The rows of one kind of stuck: sending past the lease, never queued, retry due, failed."""
    now = now or timezone.now()
    lease = now - datetime.timedelta(seconds=_settings()["sending_lease_seconds"])
    if kind == "sending_expired":
        return Q(status=Status.SENDING, claimed_at__lt=lease)
    if kind == "never_queued":
        return Q(status=Status.CREATED) & (
            Q(next_attempt_at__lte=now) | Q(created_at__lte=now - NEVER_QUEUED_AFTER)
        )
    if kind == "retry_due":
        return Q(status=Status.TEMPORARY_FAILURE, next_attempt_at__lte=now)
    if kind == "technical_failure":
        return Q(status=Status.TECHNICAL_FAILURE)
    raise ValueError(kind)


@transaction.atomic
def notifications_resend(
    *, pks: Iterable[int], actor=None, now: datetime.datetime | None = None
) -> tuple[int, int]:
    """Send chosen rows again under their own idempotency keys; return (queued, skipped).

    A row is made due now with a fresh round of attempts and queued after commit, the path the
    resend beat takes, so a provider that saw the key before does not send twice. Delivered
    rows, sends still within their lease and expired codes are skipped; no row is ever copied.
    """
    now = now or timezone.now()
    pks = list(pks)
    lease = now - datetime.timedelta(seconds=_settings()["sending_lease_seconds"])
    resendable = (
        Q(
            status__in=[
                Status.CREATED,
                Status.TEMPORARY_FAILURE,
                Status.PERMANENT_FAILURE,
                Status.TECHNICAL_FAILURE,
            ]
        )
        | Q(status=Status.SENDING, claimed_at__lt=lease)
    ) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    chosen = list(
        Notification.objects.select_for_update()
        .filter(resendable, pk__in=pks)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    Notification.objects.filter(pk__in=chosen).update(
        status=Status.CREATED, next_attempt_at=now, claimed_at=None, attempts=0
    )
    audit_log(
        action="notification.resent",
        actor=actor,
        details={"notification_ids": chosen, "skipped": len(pks) - len(chosen)},
    )
    for pk in chosen:
        transaction.on_commit(partial(_enqueue, pk))
    return len(chosen), len(pks) - len(chosen)


def notifications_unsent_summary(*, now: datetime.datetime | None = None) -> dict:
    """How many rows are not sent yet and how old the oldest is (seconds): for /healthz."""
    now = now or timezone.now()
    unsent = Notification.objects.filter(status__in=UNSENT_STATUSES)
    oldest = unsent.order_by("created_at").values_list("created_at", flat=True).first()
    return {
        "count": unsent.count(),
        "oldest_age_seconds": int((now - oldest).total_seconds()) if oldest else None,
    }
