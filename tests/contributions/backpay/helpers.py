"""A unit whose employee started work months before the enrolment's start month (the months a
补缴申请 is for), with one policy period over the window, and the application's form."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.utils import timezone

from contributions.common import add_months, month_start
from contributions.models import CollectionMode
from employers.models import Role
from enrollment.models import Enrolment
from tests.contributions.bill_helpers import set_collection_mode
from tests.contributions.factories import make_period
from tests.enrollment.add_helpers import pdf_bytes, upload
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer


def this_month() -> datetime.date:
    return month_start(timezone.localdate())


def months_ago(count: int) -> datetime.date:
    return add_months(this_month(), -count)


class Unit:
    """An active unit with a 缴费申报员 agent and a period from 40 months ago to next year."""

    def __init__(self, name: str = "补缴测试有限公司", *, period: bool = True):
        self.employer = create_employer(name=name)
        self.region = self.employer.region
        # These tests pay their bills by direct debit (bill_pay), not at the tax bureau.
        set_collection_mode(self.region, CollectionMode.DIRECT_DEBIT)
        self.agent = create_agent(
            employer=self.employer, roles=[Role.CONTRIBUTIONS], name="缴费经办人"
        )
        # A second unit of the same region shares the first one's period (period=False).
        self.period = (
            make_period(
                self.region,
                starts_on=months_ago(40),
                ends_on=add_months(this_month(), 13) - datetime.timedelta(days=1),
            )
            if period
            else None
        )

    def late_joiner(self, name: str = "李雷", *, started: int = 6, enrolled: int = 2):
        """An employee who started work ``started`` months ago, enrolled from ``enrolled``."""
        enrolment = create_enrolment(self.employer, name=name, start_month=months_ago(enrolled))
        Enrolment.objects.filter(pk=enrolment.pk).update(
            employment_start=months_ago(started).replace(day=10)
        )
        enrolment.refresh_from_db()
        return enrolment


def pdf(name: str = "劳动合同.pdf"):
    return upload(name, pdf_bytes(), "application/pdf")


def key() -> uuid.UUID:
    return uuid.uuid4()


def months_post(rows, **extra) -> dict:
    """The form as the browser posts it: person, reason and the month rows (``month`` and
    ``base`` once per row, blank rows included)."""
    months = [m if isinstance(m, str) else f"{m:%Y-%m}" for m, _base in rows]
    bases = [str(base) for _month, base in rows]
    blanks = [""] * (12 - len(rows))
    data = {
        "idempotency_key": str(key()),
        "reason": "入职后未及时办理参保登记",
        "month": months + blanks,
        "base": bases + blanks,
    }
    data.update(extra)
    return data


D = Decimal
