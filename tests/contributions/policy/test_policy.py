import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from contributions.models import InsuranceType, PolicyRate
from contributions.policy.reference import (
    PolicyNotFound,
    RateNotFound,
    base_bounds,
    contribution_amounts,
    load_policy,
    policy_for,
    rate_for,
    validate_base,
)
from tests.contributions.factories import make_period
from tests.factories import RegionFactory

pytestmark = pytest.mark.django_db

D = datetime.date
ALL_TYPES = list(InsuranceType.values)


@pytest.fixture
def region():
    return RegionFactory()


@pytest.fixture
def two_periods_with_gap(region):
    """2025-07-01–2026-06-30 and 2026-09-01–2027-06-30: July and August 2026 are not covered."""
    earlier = make_period(
        region,
        starts_on=D(2025, 7, 1),
        ends_on=D(2026, 6, 30),
        base_lower="6821.00",
        base_upper="35283.00",
    )
    later = make_period(region, starts_on=D(2026, 9, 1), ends_on=D(2027, 6, 30))
    return earlier, later


@pytest.mark.parametrize(
    ("on_date", "expected"),
    [
        (D(2025, 7, 1), "earlier"),  # first day
        (D(2026, 6, 30), "earlier"),  # last day
        (D(2026, 9, 1), "later"),
        (D(2027, 6, 30), "later"),
    ],
)
def test_policy_for_covers_first_and_last_day(two_periods_with_gap, region, on_date, expected):
    earlier, later = two_periods_with_gap
    assert policy_for(region, on_date) == {"earlier": earlier, "later": later}[expected]


@pytest.mark.parametrize("on_date", [D(2026, 7, 1), D(2026, 8, 31), D(2025, 6, 30), D(2027, 7, 1)])
def test_policy_for_a_date_in_a_gap_or_outside_raises_a_clear_error(
    two_periods_with_gap, region, on_date
):
    with pytest.raises(PolicyNotFound) as excinfo:
        policy_for(region, on_date)
    message = excinfo.value.messages[0]
    assert f"{on_date:%Y-%m-%d}" in message
    assert "没有适用于" in message and region.name in message
    assert isinstance(excinfo.value, ValidationError)  # a form can show it as it is


def test_an_unpublished_period_is_not_used_and_the_error_says_so(region):
    make_period(region, is_published=False)
    with pytest.raises(PolicyNotFound, match="尚未发布"):
        base_bounds(region, D(2026, 8, 1))


def test_base_bounds_returns_the_published_numbers(two_periods_with_gap, region):
    assert base_bounds(region, D(2026, 6, 30)) == (Decimal("6821.00"), Decimal("35283.00"))
    assert base_bounds(region, D(2026, 9, 1)) == (Decimal("7162.00"), Decimal("35811.00"))


def test_validate_base_accepts_both_bounds_and_names_them_when_outside(region):
    make_period(region)
    on = D(2026, 7, 1)
    validate_base(region, on, Decimal("7162.00"))
    validate_base(region, on, Decimal("35811.00"))
    for base in (Decimal("7161.99"), Decimal("35811.01")):
        with pytest.raises(ValidationError) as excinfo:
            validate_base(region, on, base)
        assert "7162.00 元至 35811.00 元" in excinfo.value.messages[0]


def test_rate_for_each_type_and_work_injury_by_risk_class(region):
    period = make_period(region)
    assert rate_for(period, InsuranceType.PENSION) == (Decimal("0.16"), Decimal("0.08"))
    assert rate_for(period, "medical").employer == Decimal("0.098")
    assert rate_for(period, "unemployment", risk_class=5).personal == Decimal("0.005")
    assert rate_for(period, "work_injury", 1) == (Decimal("0.002"), Decimal("0"))
    assert rate_for(period, "work_injury", 8).employer == Decimal("0.019")


def test_rate_for_refuses_work_injury_without_class_and_a_missing_rate(region):
    period = make_period(region)
    with pytest.raises(RateNotFound, match="行业风险类别"):
        rate_for(period, InsuranceType.WORK_INJURY)
    PolicyRate.objects.filter(period=period, risk_class=3).delete()
    with pytest.raises(RateNotFound, match=r"未设置工伤保险\(三类\)的费率"):
        rate_for(period, InsuranceType.WORK_INJURY, 3)
    with pytest.raises(ValueError):
        rate_for(period, "maternity")


def test_rate_for_uses_prefetched_rates_without_queries(region, django_assert_num_queries):
    make_period(region)
    from contributions.models import PolicyPeriod

    period = PolicyPeriod.objects.prefetch_related("rates").get()
    with django_assert_num_queries(0):
        for risk_class in range(1, 9):
            rate_for(period, InsuranceType.WORK_INJURY, risk_class)


def test_contribution_amounts_hand_checked(region):
    make_period(region)
    amounts = contribution_amounts(region, D(2026, 7, 15), Decimal("10000.00"), ALL_TYPES, 2)
    assert amounts["pension"].employer == Decimal("1600.00")
    assert amounts["pension"].personal == Decimal("800.00")
    assert amounts["medical"].employer == Decimal("980.00")
    assert amounts["medical"].personal == Decimal("200.00")
    assert amounts["unemployment"].employer == Decimal("50.00")
    assert amounts["unemployment"].personal == Decimal("50.00")
    assert amounts["work_injury"].employer == Decimal("40.00")
    assert amounts["work_injury"].personal == Decimal("0.00")
    assert amounts["pension"].total == Decimal("2400.00")


def test_contribution_amounts_clamp_the_base_to_each_bound(region):
    make_period(region)
    on = D(2026, 7, 1)
    low = contribution_amounts(region, on, Decimal("3000"), ["pension"])["pension"]
    assert low.base == Decimal("7162.00")
    assert low.employer == Decimal("1145.92")  # 7162 × 0.16
    assert low.personal == Decimal("572.96")  # 7162 × 0.08
    high = contribution_amounts(region, on, Decimal("99999"), ["pension"])["pension"]
    assert high.base == Decimal("35811.00")
    assert high.employer == Decimal("5729.76")
    assert high.personal == Decimal("2864.88")
    at_lower = contribution_amounts(region, on, Decimal("7162.00"), ["unemployment"])
    assert at_lower["unemployment"].employer == Decimal("35.81")  # 35.810


def test_contribution_amounts_round_by_the_region_rule_per_type_and_side(region):
    make_period(
        region,
        rounding=[
            ("unemployment", "personal", "cent_up_to_jiao"),
            ("medical", "personal", "truncate_cent"),
        ],
    )
    on = D(2026, 7, 1)
    # 8001.00 × 0.005 = 40.005: half up → 40.01; 见分进角 → 40.01 → 40.10.
    amounts = contribution_amounts(region, on, Decimal("8001.00"), ["unemployment", "medical"])
    assert amounts["unemployment"].employer == Decimal("40.01")
    assert amounts["unemployment"].personal == Decimal("40.10")
    # 8001.00 × 0.098 = 784.098 → 784.10; × 0.02 = 160.02 exactly.
    assert amounts["medical"].employer == Decimal("784.10")
    amounts = contribution_amounts(region, on, Decimal("8000.99"), ["medical"])
    assert amounts["medical"].personal == Decimal("160.01")  # 160.0198 truncated


def test_contribution_amounts_refuse_work_injury_without_class_and_floats(region):
    make_period(region)
    with pytest.raises(RateNotFound):
        contribution_amounts(region, D(2026, 7, 1), Decimal("8000"), ["work_injury"])
    with pytest.raises(TypeError):
        contribution_amounts(region, D(2026, 7, 1), 8000.0, ["pension"])


def test_loaded_policy_computes_many_people_without_queries(region, django_assert_num_queries):
    make_period(region)
    with django_assert_num_queries(3):
        policy = load_policy(region, D(2026, 7, 1))
    with django_assert_num_queries(0):
        for base in range(5000, 40000, 1000):
            policy.amounts(Decimal(base), ALL_TYPES, risk_class=4)
