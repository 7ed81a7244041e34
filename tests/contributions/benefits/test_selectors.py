"""The wages a claim is computed from, and the region's terms with their defaults."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contributions.benefits import rules
from contributions.benefits.selectors import (
    DEFAULT_TERMS,
    benefit_terms_for,
    own_monthly_wage,
    unit_average_wage,
)
from contributions.models import (
    BillKind,
    BillLine,
    InsuranceType,
    MaternityKind,
    RegionBenefitSettings,
    UnitWageSource,
)
from tests.contributions.benefits.helpers import Unit, event_date, month_before
from tests.contributions.bill_helpers import create_bill

pytestmark = pytest.mark.django_db

D = Decimal


def test_the_kinds_are_the_rules_kinds():
    assert tuple(MaternityKind.values) == rules.MATERNITY_KINDS


def test_a_supplement_adds_to_its_month_without_counting_a_person_month_twice():
    unit = Unit()
    wang = unit.employee("王芳", "8000")
    unit.bills([month_before(n) for n in range(12, 0, -1)], [wang])
    supplement = create_bill(
        unit.employer, month_before(1), [wang], kind=BillKind.SUPPLEMENT, sequence=1
    )
    # A supplement line holds the difference of base: here 1200 more for the last month.
    BillLine.objects.filter(bill=supplement).update(base=D("1200"))
    figure = unit_average_wage(employer_id=unit.employer.pk, event_date=event_date())
    # (12 × 8000 + 1200) ÷ 12 person-months = 97200 ÷ 12 = 8100.00.
    assert (figure.amount, figure.months, figure.person_months) == (D("8100.00"), 12, 12)


def test_a_unit_without_bills_in_the_window_has_no_average():
    unit = Unit()
    wang = unit.employee("王芳", "8000")
    unit.bills([month_before(0), month_before(13)], [wang])
    assert unit_average_wage(employer_id=unit.employer.pk, event_date=event_date()) is None


def test_the_own_wage_averages_the_months_there_are_and_else_takes_the_enrolment_base():
    unit = Unit()
    worker = unit.employee("张伟", "9000", female=False)
    assert own_monthly_wage(enrolment=worker, injury_date=event_date()).amount == D("8000.00")
    unit.bills([month_before(2), month_before(1)], [worker])
    BillLine.objects.filter(month=month_before(1), insurance_type=InsuranceType.WORK_INJURY).update(
        base=D("10000")
    )
    figure = own_monthly_wage(enrolment=worker, injury_date=event_date())
    # (9000 + 10000) ÷ 2 months = 9500.00.
    assert (figure.amount, figure.months) == (D("9500.00"), 2)


def test_a_region_without_settings_has_the_defaults():
    unit = Unit()
    assert benefit_terms_for(unit.region.pk) == DEFAULT_TERMS
    assert DEFAULT_TERMS.divisor == D("30") and not DEFAULT_TERMS.unit_wage_declared
    RegionBenefitSettings.objects.create(
        region=unit.region,
        maternity_divisor=D("30.4"),
        maternity_extra_days=60,
        unit_wage_source=UnitWageSource.DECLARED,
    )
    terms = benefit_terms_for(unit.region.pk)
    assert (str(terms.divisor), terms.extra_maternity_days, terms.unit_wage_declared) == (
        "30.4",
        60,
        True,
    )
