"""Bills written directly (not through contributions.billing.engine), for tests of the features that
read bills: payments, records, exports and proofs. Figures come from the policy's own amounts.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from contributions.billing.line_order import bill_lines_number
from contributions.common import contribution_types, line_sums, new_reference, type_totals
from contributions.models import (
    BillKind,
    BillLine,
    BillStatus,
    CollectionMode,
    ContributionAccount,
    ContributionBase,
    MonthlyBill,
    RegionContributionSettings,
)
from contributions.policy.reference import load_policy
from tests.contributions.factories import make_period
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer


def create_unit_with_staff(
    count: int = 3,
    *,
    period=None,
    base: str = "8000.00",
    roles=("unit_admin",),
    collection_mode: str = CollectionMode.DIRECT_DEBIT,
):
    """An active unit with a contributions account, an agent and ``count`` active employees.

    Returns (employer, agent, period, enrolments). The period (2026-07 → 2027-06 by default) is
    created for the unit's region unless given; each enrolment gets a ContributionBase. The
    region collects by direct debit unless ``collection_mode`` says tax_bureau.
    """
    employer = create_employer()
    set_collection_mode(employer.region, collection_mode)
    agent = create_agent(employer, roles=roles)
    ContributionAccount.objects.get_or_create(employer=employer)
    if period is None:
        period = make_period(employer.region)
    enrolments = []
    for index in range(count):
        enrolment = create_enrolment(
            employer, name=f"职工{index + 1}", start_month=datetime.date(2024, 1, 1)
        )
        ContributionBase.objects.create(enrolment=enrolment, period=period, base=Decimal(base))
        enrolments.append(enrolment)
    return employer, agent, period, enrolments


def set_collection_mode(region, mode: str) -> None:
    RegionContributionSettings.objects.update_or_create(
        region=region, defaults={"collection_mode": mode}
    )


def create_bill(
    employer,
    month: datetime.date,
    enrolments,
    *,
    status: str = BillStatus.ASSESSED,
    kind: str = BillKind.REGULAR,
    sequence: int = 0,
) -> MonthlyBill:
    """A bill of ``month`` for the given enrolments, with the lines the policy gives."""
    policy = load_policy(employer.region, month)
    account = ContributionAccount.objects.filter(employer=employer).first()
    risk_class = account.risk_class if account else 1
    bill = MonthlyBill.objects.create(
        reference=new_reference("HD"),
        employer=employer,
        month=month,
        kind=kind,
        sequence=sequence,
        period=policy.period,
        base_lower=policy.period.base_lower,
        base_upper=policy.period.base_upper,
        status=status,
        due_on=month.replace(day=28),
    )
    lines = []
    for enrolment in enrolments:
        declared = (
            ContributionBase.objects.filter(enrolment=enrolment, period=policy.period)
            .values_list("base", flat=True)
            .first()
        ) or enrolment.contribution_base
        amounts = policy.amounts(
            declared, contribution_types(enrolment.insurance_codes), risk_class
        )
        for amount in amounts.values():
            lines.append(
                BillLine(
                    bill=bill,
                    employer=employer,
                    month=month,
                    enrolment=enrolment,
                    person_id=enrolment.person_id,
                    insurance_type=amount.insurance_type,
                    base=amount.base,
                    employer_rate=amount.employer_rate,
                    personal_rate=amount.personal_rate,
                    employer_amount=amount.employer,
                    personal_amount=amount.personal,
                )
            )
    BillLine.objects.bulk_create(lines)
    bill_lines_number([bill.pk])  # in page order, as the billing engine numbers its lines
    bill.person_count = len(enrolments)
    bill.employer_total = sum((line.employer_amount for line in lines), Decimal("0"))
    bill.personal_total = sum((line.personal_amount for line in lines), Decimal("0"))
    bill.total = bill.employer_total + bill.personal_total
    bill.type_totals = type_totals(
        (line.insurance_type, line.employer_amount, line.personal_amount) for line in lines
    )
    bill.line_sums = line_sums(
        (line.month, line.insurance_type, line.base, line.employer_amount, line.personal_amount)
        for line in lines
    )
    bill.save()
    return bill
