"""Celery tasks of 税务征收 (names under contributions.tasks.*): send, poll, daily 对账."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.utils import timezone

from contributions.collection import services
from contributions.collection.reconcile import reconciliation_run

__all__ = [
    "collection_send",
    "collection_poll_key",
    "collection_poll_due",
    "collection_poll_order",
    "collection_reconcile_daily",
]


@shared_task(name="contributions.tasks.collection_send")
def collection_send(order_id: int) -> str:
    """Send one order's 应征数据 (queued after the bill's confirmation commits)."""
    return services.collection_send(order_id=order_id).status


@shared_task(name="contributions.tasks.collection_poll_key")
def collection_poll_key(idempotency_key: str) -> str | None:
    """Ask the collection system about one bill's order now."""
    order = services.collection_poll_key(idempotency_key=idempotency_key)
    return None if order is None else order.status


@shared_task(name="contributions.tasks.collection_poll_due")
def collection_poll_due() -> int:
    """Resend orders whose task was lost, and poll every order not yet paid (beat)."""
    resend, poll = services.collection_orders_due()
    for order_id in resend:
        collection_send.delay(order_id)
    for order_id in poll:
        collection_poll_order.delay(order_id)
    return len(resend) + len(poll)


@shared_task(name="contributions.tasks.collection_poll_order")
def collection_poll_order(order_id: int) -> str:
    """Ask the collection system about one order (queued by collection_poll_due)."""
    return services.collection_poll(order_id=order_id).status


@shared_task(name="contributions.tasks.collection_reconcile_daily")
def collection_reconcile_daily(date: str | None = None) -> int:
    """The daily 对账 of yesterday (or ``date``); returns the number of mismatches."""
    day = (
        datetime.date.fromisoformat(date)
        if date
        else timezone.localdate() - datetime.timedelta(days=1)
    )
    return reconciliation_run(date=day).mismatch_count
