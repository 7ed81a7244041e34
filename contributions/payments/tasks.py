"""Celery tasks of payments: settling debited contributions (names under contributions.tasks.*)."""

from celery import shared_task

from contributions.payments.services import payments_resolve_requested as _resolve_requested
from contributions.payments.services import payments_settle_due as _settle_due

__all__ = ["payments_resolve_requested", "payments_settle_due"]


@shared_task(name="contributions.tasks.payments_settle_due")
def payments_settle_due() -> int:
    """Move payments whose expected settlement date has come to 已到账 (beat, hourly)."""
    return _settle_due()


@shared_task(name="contributions.tasks.payments_resolve_requested")
def payments_resolve_requested() -> int:
    """Ask the bank about debits whose answer was lost (beat, every 5 minutes)."""
    return _resolve_requested()
