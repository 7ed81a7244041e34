"""补缴申请 and the bill engine: one person's figures for a missed month, and the 补缴 bill.

The figures come from the engine itself (engine.type_figures with the engine's rate table: the
month's policy period, 工伤 at the unit's risk class × floating factor, the region's rounding
rule per insurance type and side), so a month paid late costs what the regular bill would have
charged on the same base.

An approved month becomes a bill of kind BACKPAY (补缴申请) for that 费款所属期, numbered after
the month's other 补缴申请 bills, with the person's lines (so that the month's records show it)
and the month's late fee in ``late_fee`` (part of the bill's total, not of the lines: 滞纳金 is
no contribution record). Its due date is the region's due day of the month after approval, as for
other supplements. The engine's regeneration of a month never touches these bills.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from contributions.billing.engine import (
    Figures,
    PolicyCache,
    _account_of,
    _account_terms,
    _audit,
    _due_on,
    _rate_table,
    _totals,
    _write_lines,
    region_rules,
    type_figures,
)
from contributions.common import contribution_types, month_start, new_reference
from contributions.models import BillKind, MonthlyBill
from employers.models import Employer


def backpay_figures(
    *,
    employer: Employer,
    person_id: int,
    month: datetime.date,
    base: Decimal,
    insurance_codes,
    cache: PolicyCache | None = None,
) -> dict[str, Figures]:
    """Per insurance type of the codes: the person's figures for the month on ``base``.

    Raises PolicyNotFound or RateNotFound (ValidationErrors with a message for the unit) when
    the month has no published policy or a rate is missing.
    """
    cache = cache or PolicyCache()
    policy = cache.policy(employer.region, month)
    risk_class, work_injury_float = _account_terms(_account_of(employer.pk))
    table = _rate_table(policy, risk_class, work_injury_float)
    applied = policy.clamp(base)
    return {
        insurance_type: Figures(
            person_id, applied, *type_figures(policy, table, risk_class, applied, insurance_type)
        )
        for insurance_type in contribution_types(insurance_codes)
    }


def backpay_due_on(region_id: int, month: datetime.date) -> datetime.date:
    """The due date of the month's regular bill in the region (late fees run from the next day)."""
    return _due_on(month_start(month), region_rules(region_id))


@transaction.atomic
def backpay_bill_create(
    *,
    employer: Employer,
    enrolment_id: int,
    month: datetime.date,
    figures: dict[str, Figures],
    late_fee: Decimal,
    note: str,
    actor=None,
) -> MonthlyBill:
    """Bill one approved 补缴 month: a BACKPAY bill with the person's lines and the late fee."""
    month = month_start(month)
    # The engine's lock: one writer of the unit's bills at a time.
    list(Employer.objects.select_for_update().filter(pk=employer.pk).values_list("pk", flat=True))
    policy = PolicyCache().policy(employer.region, month)
    lines = {(enrolment_id, insurance_type): line for insurance_type, line in figures.items()}
    header = _totals(month, lines)
    last = (
        MonthlyBill.objects.filter(employer=employer, month=month, kind=BillKind.BACKPAY)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    current = month_start(timezone.localdate())
    bill = MonthlyBill.objects.create(
        reference=new_reference("BJ"),
        employer=employer,
        month=month,
        kind=BillKind.BACKPAY,
        sequence=(last or 0) + 1,
        period=policy.period,
        base_lower=policy.period.base_lower,
        base_upper=policy.period.base_upper,
        due_on=_due_on(current, region_rules(employer.region_id)),
        note=note[:200],
        **{**header, "total": header["total"] + late_fee},
        late_fee=late_fee,
    )
    _write_lines(bill, lines)
    _audit(bill, "backpay", len(lines), actor)
    return bill
