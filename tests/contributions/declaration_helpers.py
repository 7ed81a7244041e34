"""A unit with three employees, last year's bases and this year's period (7162–35811 yuan)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from contributions.models import (
    ContributionAccount,
    ContributionBase,
    PolicyPeriod,
    RegionContributionSettings,
)
from employers.models import Role
from tests.contributions.factories import make_period
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer

URL = "/contributions/declarations/"
LOWER, UPPER = Decimal("7162.00"), Decimal("35811.00")


@dataclass
class Unit:
    employer: object
    agent: object
    previous: object
    period: object
    staff: list

    def field(self, index: int) -> str:
        return f"base_{self.staff[index].pk}"


def make_unit(*, review: bool | None = None, count: int = 3, roles=(Role.CONTRIBUTIONS,)) -> Unit:
    """Staff 0 and 1 have last year's bases 9000 and 12000; staff 2 has none (its enrolment
    says 8000). ``review`` None leaves the region without settings (review required)."""
    employer = create_employer()
    agent = create_agent(employer, roles=list(roles), name="缴费经办人")
    ContributionAccount.objects.get_or_create(employer=employer)
    region = employer.region
    previous = PolicyPeriod.objects.filter(region=region, starts_on="2025-07-01").first()
    previous = previous or make_period(
        region,
        starts_on=datetime.date(2025, 7, 1),
        ends_on=datetime.date(2026, 6, 30),
        base_lower="6821.00",
        base_upper="34108.00",
    )
    period = PolicyPeriod.objects.filter(region=region, starts_on="2026-07-01").first()
    period = period or make_period(region)
    if review is not None:
        RegionContributionSettings.objects.update_or_create(
            region=region, defaults={"declaration_requires_review": review}
        )
    staff = [create_enrolment(employer, name=f"职工{index + 1}") for index in range(count)]
    for enrolment, base in zip(staff, ("9000.00", "12000.00"), strict=False):
        ContributionBase.objects.create(enrolment=enrolment, period=previous, base=Decimal(base))
    return Unit(employer, agent, previous, period, staff)


def screen_data(unit: Unit, values: list[str], key: str, **extra) -> dict:
    data = {"period": unit.period.pk, "idempotency_key": key, "action": "submit"}
    for index, value in enumerate(values):
        data[unit.field(index)] = value
    data.update(extra)
    return data
