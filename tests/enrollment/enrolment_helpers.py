"""Persons and enrolments made directly, for tests of the roster and of 减员."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

from enrollment.models import EmploymentForm, Enrolment, HukouType, Person
from portal.identifiers import resident_id_check_char
from tests.factories import make_phone

_serial = itertools.count(1)


def unique_resident_id() -> str:
    """A valid male resident ID, unique per call (the birth date moves a day each time)."""
    birth = datetime.date(1975, 1, 1) + datetime.timedelta(days=next(_serial))
    first17 = f"110105{birth:%Y%m%d}001"
    return first17 + resident_id_check_char(first17)


def create_enrolment(
    employer,
    *,
    name: str = "张三",
    status: str = Enrolment.Status.ACTIVE,
    insurance_codes=("110", "210", "310", "410"),
    start_month: datetime.date = datetime.date(2024, 1, 1),
    document_number: str | None = None,
    phone: str | None = None,
) -> Enrolment:
    number = document_number or unique_resident_id()
    person = Person.objects.create(
        name=name,
        document_number=number,
        sex=Person.Sex.MALE,
        birth_date=datetime.date(1990, 1, 1),
        hukou_type=HukouType.LOCAL_URBAN,
        phone=phone or make_phone(),
    )
    return Enrolment.objects.create(
        person=person,
        employer=employer,
        employment_form=EmploymentForm.objects.get(region=None, code="11"),
        insurance_codes=list(insurance_codes),
        start_month=start_month,
        contribution_base=Decimal("8000.00"),
        status=status,
    )
