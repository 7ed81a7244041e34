"""Celery tasks of the employers app: thin wrappers around services."""

from celery import shared_task
from django.utils import timezone

from employers.agents.services import agents_disable_dormant as agents_disable_dormant_service
from employers.helpdesk.services import questions_mark_overdue as questions_mark_overdue_service
from employers.verification.bank import penny_drop_send as penny_drop_send_service
from employers.verification.bank import penny_drops_resolve as penny_drops_resolve_service


@shared_task(name="employers.tasks.agents_disable_dormant", ignore_result=True)
def agents_disable_dormant() -> int:
    """Disable agents with no login for the dormancy period (daily beat); idempotent."""
    return agents_disable_dormant_service()


@shared_task(name="employers.tasks.questions_mark_overdue", ignore_result=True)
def questions_mark_overdue() -> int:
    """Mark open 留言板 questions past their due time overdue (beat); idempotent."""
    return questions_mark_overdue_service()


@shared_task(name="employers.tasks.captcha_clean", ignore_result=True)
def captcha_clean() -> int:
    """Delete expired image-captcha challenges (beat): the login form no longer sweeps them."""
    from captcha.models import CaptchaStore

    deleted, _by_model = CaptchaStore.objects.filter(expiration__lte=timezone.now()).delete()
    return deleted


@shared_task(name="employers.tasks.penny_drop_send", ignore_result=True)
def penny_drop_send_task(transfer_id: int) -> str:
    """Call the bank for a pending penny-drop and record its answer; idempotent."""
    return penny_drop_send_service(transfer_id=transfer_id)


@shared_task(name="employers.tasks.penny_drops_resolve", ignore_result=True)
def penny_drops_resolve() -> int:
    """Ask the bank about penny-drops whose answer was lost (beat); idempotent."""
    return penny_drops_resolve_service()
