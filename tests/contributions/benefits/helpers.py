"""A unit with bills over the months a benefit claim looks back on, and claim forms."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.utils import timezone

from contributions.common import add_months, month_start
from contributions.models import ContributionBase, RegionalAverageWage
from employers.models import Role
from enrollment.models import Person
from tests.contributions.bill_helpers import create_bill
from tests.contributions.factories import make_period
from tests.enrollment.add_helpers import jpg_bytes, pdf_bytes, upload
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer


def event_date() -> datetime.date:
    """A birth 13 days ago: a claim in time, looking back on the 12 months before its month."""
    return timezone.localdate() - datetime.timedelta(days=13)


def month_before(count: int, day: datetime.date | None = None) -> datetime.date:
    """The first of the month ``count`` months before the event's month (0: that month)."""
    return add_months(month_start(day or event_date()), -count)


class Unit:
    """An active unit, its 待遇申领员 agent, one policy period over the 2 years before the event
    and the year after it."""

    def __init__(self, name: str = "待遇测试有限公司"):
        self.employer = create_employer(name=name)
        self.region = self.employer.region
        self.agent = create_agent(employer=self.employer, roles=[Role.BENEFITS], name="待遇经办人")
        self.periods = [
            make_period(
                self.region,
                starts_on=month_before(24),
                ends_on=month_before(-13) - datetime.timedelta(days=1),
                base_lower="3000.00",
            )
        ]

    def employee(self, name: str, base: str, *, female: bool = True, **fields):
        """An active employee with the base declared in both periods."""
        enrolment = create_enrolment(self.employer, name=name, **fields)
        if female:
            Person.objects.filter(pk=enrolment.person_id).update(sex=Person.Sex.FEMALE)
        for period in self.periods:
            ContributionBase.objects.create(enrolment=enrolment, period=period, base=Decimal(base))
        return enrolment

    def bills(self, months, enrolments):
        """A bill per month (the first of the month) with the lines of the enrolments."""
        return [create_bill(self.employer, month, enrolments) for month in months]

    def regional_wage(self, year: int, wage: str):
        return RegionalAverageWage.objects.create(
            region=self.region, year=year, monthly_wage=Decimal(wage)
        )


def pdf(name: str = "出生医学证明.pdf"):
    return upload(name, pdf_bytes(), "application/pdf")


def jpg(name: str = "诊断证明.jpg"):
    return upload(name, jpg_bytes(), "image/jpeg")


def maternity_facts(enrolment, **overrides) -> dict:
    facts = {
        "document_number": enrolment.person.document_number,
        "event_date": event_date(),
        "kind": "birth",
        "babies": 1,
        "difficult_birth": False,
    }
    facts.update(overrides)
    return facts


def maternity_post(enrolment, **overrides) -> dict:
    """The first step's form as the browser posts it."""
    data = {
        "document_number": enrolment.person.document_number,
        "event_date": event_date().isoformat(),
        "kind": "birth",
        "babies": "1",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def new_agent(unit: Unit, roles) -> object:
    return create_agent(employer=unit.employer, roles=roles)


def key() -> uuid.UUID:
    return uuid.uuid4()
