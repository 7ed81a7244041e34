from celery import shared_task
from django.db import DatabaseError

from portal.audit import audit_log


@shared_task(name="portal.tasks.ping")
def ping() -> str:
    """Answer "pong": lets the health check and tests see that a worker is consuming."""
    return "pong"


@shared_task(name="portal.tasks.record_worker_heartbeat")
def record_worker_heartbeat(token: str) -> int:
    """Write an audit row from the worker: proves the worker reaches the same database."""
    event = audit_log(action="worker.heartbeat", details={"token": token})
    return event.pk


# A database outage (PostgreSQL restarting) is waited out a few seconds at a time: the row was
# either not claimed or is claimed for a short lease, and the resend beat is the safety net.
@shared_task(
    name="portal.notifications.deliver",
    ignore_result=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=2,
    retry_backoff_max=30,
    retry_jitter=False,
    max_retries=10,
)
def notification_deliver_task(pk: int) -> str:
    """Send one outbox row; a temporary failure is tried again after its backoff."""
    from portal.models import Notification
    from portal.notifications import notification_deliver

    status = notification_deliver(pk)
    if (
        status == Notification.Status.TEMPORARY_FAILURE
        and not notification_deliver_task.request.is_eager
    ):
        next_at = (
            Notification.objects.filter(pk=pk).values_list("next_attempt_at", flat=True).first()
        )
        if next_at is not None:
            notification_deliver_task.apply_async((pk,), eta=next_at)
    return status


@shared_task(name="portal.notifications.resend_due", ignore_result=True)
def notifications_resend_due_task() -> int:
    """Queue outbox rows that are due again (beat, every 30 seconds); note that beat is alive."""
    from portal.health import beat_heartbeat_record
    from portal.notifications import notifications_resend_due

    beat_heartbeat_record()
    return notifications_resend_due()


@shared_task(name="portal.review.requeue_prechecks", ignore_result=True)
def review_requeue_prechecks_task() -> int:
    """Send again the pre-checks that could not be queued (beat, every 30 seconds)."""
    from portal.review import review_requeue_prechecks

    return review_requeue_prechecks()


@shared_task(name="portal.review.precheck", ignore_result=True)
def review_precheck_task(model_label: str, pk: int) -> str:
    """Run the automatic pre-checks of one submitted item."""
    from portal.review import review_precheck

    return review_precheck(model_label=model_label, pk=pk)


@shared_task(name="portal.review.watch_deadlines", ignore_result=True)
def review_watch_deadlines_task() -> dict:
    """Mark overdue items and remind clerks before deadlines (beat, every few minutes)."""
    from portal.review import review_watch_deadlines

    return review_watch_deadlines()
