"""Reads of a bill's payments, for a bill already loaded for the agent's unit."""

from __future__ import annotations

import datetime

from contributions.models import BillStatus, MonthlyBill, Payment


def bill_expected_settlement(
    bill: MonthlyBill, payments: list[Payment] | None = None
) -> datetime.date | None:
    """The date a debited bill's money should arrive; None (and no query) for any other bill.

    ``payments``: the bill's payments newest first (contributions.billing.selectors
    .bill_payments), when the caller has them: then no query either."""
    if bill.status != BillStatus.DEBITED:
        return None
    if payments is not None:
        return next(
            (p.expected_settle_on for p in payments if p.status == Payment.Status.DEBITED), None
        )
    return (
        Payment.objects.filter(bill=bill, status=Payment.Status.DEBITED)
        .order_by("-requested_at", "-pk")
        .values_list("expected_settle_on", flat=True)
        .first()
    )
