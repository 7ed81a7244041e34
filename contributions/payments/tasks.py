"""Celery tasks of payments: settling debited contributions (names under contributions.tasks.*)."""

from celery import shared_task

from contributions.payments.services import payment_debit_send as _debit_send
from contributions.payments.services import payments_resolve_requested as _resolve_requested
from contributions.payments.services import payments_settle_due as _settle_due

__all__ = ["payment_debit_send", "payments_resolve_requested", "payments_settle_due"]


@shared_task(name="contributions.tasks.payment_debit_send", ignore_result=True)
def payment_debit_send(payment_id: int, at: str | None = None) -> str:
    """Call the bank for a requested debit and record its answer (queued by bill_pay)."""
    return _debit_send(payment_id=payment_id, at=at)


@shared_task(name="contributions.tasks.payments_settle_due")
def payments_settle_due() -> int:
    """Move payments whose expected settlement date has come to 已到账 (beat, hourly)."""
    return _settle_due()


@shared_task(name="contributions.tasks.payments_resolve_requested")
def payments_resolve_requested() -> int:
    """Ask the bank about debits whose answer was lost (beat, every 5 minutes)."""
    return _resolve_requested()
