"""Celery tasks of the monthly bills (月度核定): thin, idempotent, calling billing.engine."""

from __future__ import annotations

import datetime
import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from contributions.billing import engine, runs
from contributions.common import month_start, parse_month
from contributions.models import PolicyPeriod
from employers.models import Employer

__all__ = ["bill_generate_unit", "bills_generate_all", "bills_recompute_period"]

logger = logging.getLogger(__name__)


def _month(month_iso: str | None) -> datetime.date:
    if not month_iso:
        return month_start(timezone.localdate())
    return parse_month(month_iso)


@shared_task(name="contributions.tasks.bill_generate_unit")
def bill_generate_unit(employer_id: int, month_iso: str, actor_user_id: int | None = None):
    """Generate one unit's bill of the month (on demand); returns the bill id or None."""
    employer = Employer.objects.select_related("region").filter(pk=employer_id).first()
    if employer is None:
        return None
    actor = None
    if actor_user_id is not None:
        actor = get_user_model().objects.filter(pk=actor_user_id).first()
    try:
        bill = engine.bill_generate(employer=employer, month=_month(month_iso), actor=actor)
    except ValidationError as exc:
        # Refusals (no policy, nobody billed, a future month) are final: retrying cannot help.
        code = getattr(exc, "code", None)
        logger.info("bill of unit %s for %s not generated: %s", employer_id, month_iso, code)
        return None
    return bill.pk if bill is not None else None


@shared_task(name="contributions.tasks.bills_generate_all")
def bills_generate_all(month_iso: str | None = None) -> dict:
    """Generate every active unit's bill of the month (default: the current month)."""
    return runs.bills_generate_all(month=_month(month_iso)).as_dict()


@shared_task(name="contributions.tasks.bills_recompute_period")
def bills_recompute_period(period_id: int) -> dict | None:
    """Recompute the bills of a period after its bounds changed (补缴/退费)."""
    period = PolicyPeriod.objects.filter(pk=period_id).first()
    if period is None:
        return None
    return runs.bills_recompute_period(period=period).as_dict()
