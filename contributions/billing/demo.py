"""Demo data for the monthly bills (manage.py seed_demo): made-up employees, labelled 演示数据."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contributions.billing.engine import bill_generate
from contributions.common import add_months, month_start
from contributions.models import (
    ContributionAccount,
    ContributionBase,
    MonthlyBill,
    PolicyPeriod,
    SandboxBankAccount,
)
from enrollment.models import EmploymentForm, Enrolment, HukouType, Person
from portal.crypto import blind_index
from portal.identifiers import resident_id_check_char

DEMO_BALANCE = Decimal("500000.00")
DEMO_CODES = ["110", "210", "310", "410", "510"]
DEMO_EMPLOYEES = [
    # name, resident ID prefix (17), sex, monthly base: one below the lower bound and one above
    # the upper bound show the clamp on the bill.
    ("周明", "11010519880304011", Person.Sex.MALE, "9800.00"),
    ("吴婷", "11010819910512022", Person.Sex.FEMALE, "12500.00"),
    ("郑海", "11010619950821031", Person.Sex.MALE, "6000.00"),
    ("冯雪", "11010219860117042", Person.Sex.FEMALE, "42000.00"),
]


def _demo_enrolments(employer) -> list[Enrolment]:
    form = EmploymentForm.objects.get(region=None, code="11")
    enrolments = []
    for name, prefix, sex, base in DEMO_EMPLOYEES:
        number = prefix + resident_id_check_char(prefix)
        person = Person.objects.filter(
            document_type="resident_id", document_index=blind_index("document_number", number)
        ).first()
        if person is None:
            person = Person.objects.create(
                name=name,
                document_number=number,
                sex=sex,
                birth_date=datetime.date(int(prefix[6:10]), int(prefix[10:12]), int(prefix[12:14])),
                hukou_type=HukouType.LOCAL_URBAN,
            )
        enrolment = Enrolment.objects.filter(person=person, employer=employer).first()
        if enrolment is None:
            enrolment = Enrolment.objects.create(
                person=person,
                employer=employer,
                employment_form=form,
                insurance_codes=DEMO_CODES,
                start_month=datetime.date(2024, 3, 1),
                employment_start=datetime.date(2024, 3, 1),
                contribution_base=Decimal(base),
                status=Enrolment.Status.ACTIVE,
            )
        enrolments.append((enrolment, Decimal(base)))
    return enrolments


@transaction.atomic
def billing_seed_demo(*, employer) -> MonthlyBill | None:
    """Give the demo unit an account, employees with declared bases, a sandbox balance and last
    month's bill (idempotent); return the bill, or None when no demo period covers last month."""
    ContributionAccount.objects.get_or_create(employer=employer)
    SandboxBankAccount.objects.get_or_create(employer=employer, defaults={"balance": DEMO_BALANCE})
    enrolments = _demo_enrolments(employer)
    month = add_months(month_start(timezone.localdate()), -1)
    period = PolicyPeriod.objects.filter(
        region_id=employer.region_id, starts_on__lte=month, ends_on__gte=month, is_published=True
    ).first()
    if period is None:
        return None
    for enrolment, base in enrolments:
        ContributionBase.objects.get_or_create(
            enrolment=enrolment, period=period, defaults={"base": base}
        )
    try:
        return bill_generate(employer=employer, month=month)
    except ValidationError:
        return None
