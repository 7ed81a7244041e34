"""Reads of a bill's payments, for a bill already loaded for the agent's unit."""

from __future__ import annotations

import datetime

from contributions.models import BillStatus, MonthlyBill, Payment


def bill_expected_settlement(bill: MonthlyBill) -> datetime.date | None:
    """The date a debited bill's money should arrive; None (and no query) for any other bill."""
    if bill.status != BillStatus.DEBITED:
        return None
    return (
        Payment.objects.filter(bill=bill, status=Payment.Status.DEBITED)
        .order_by("-requested_at")
        .values_list("expected_settle_on", flat=True)
        .first()
    )
