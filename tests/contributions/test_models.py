import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from contributions.models import InsuranceType, PolicyPeriod, PolicyRate, RoundingRule
from portal.models import AuditEvent, Region
from tests.contributions.factories import make_period, standard_rates
from tests.factories import RegionFactory

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def region():
    return RegionFactory()


def unsaved_period(region, starts_on, ends_on, lower="5000", upper="25000"):
    return PolicyPeriod(
        region=region,
        starts_on=starts_on,
        ends_on=ends_on,
        base_lower=Decimal(lower),
        base_upper=Decimal(upper),
    )


@pytest.mark.parametrize(
    ("starts_on", "ends_on"),
    [
        (D(2027, 6, 30), D(2028, 6, 29)),  # shares the last day
        (D(2026, 1, 1), D(2026, 7, 1)),  # shares the first day
        (D(2026, 10, 1), D(2026, 12, 31)),  # inside
        (D(2026, 1, 1), D(2028, 1, 1)),  # around
    ],
)
def test_clean_refuses_a_period_overlapping_another_of_the_region(region, starts_on, ends_on):
    make_period(region)
    period = unsaved_period(region, starts_on, ends_on)
    with pytest.raises(ValidationError) as excinfo:
        period.full_clean()
    assert "2026-07-01 至 2027-06-30 重叠" in " ".join(excinfo.value.messages)


def test_adjacent_periods_and_other_regions_may_share_dates(region):
    make_period(region)
    unsaved_period(region, D(2027, 7, 1), D(2028, 6, 30)).full_clean()
    unsaved_period(region, D(2025, 7, 1), D(2026, 6, 30)).full_clean()
    other = Region.objects.create(code="310000", name="上海市(测试)")
    unsaved_period(other, D(2026, 7, 1), D(2027, 6, 30)).full_clean()


def test_an_existing_period_does_not_overlap_itself(region):
    period = make_period(region)
    period.base_upper = Decimal("36000.00")
    period.full_clean()


def test_clean_refuses_reversed_dates_and_bounds_in_chinese(region):
    period = unsaved_period(region, D(2027, 6, 30), D(2026, 7, 1), lower="30000", upper="5000")
    with pytest.raises(ValidationError) as excinfo:
        period.full_clean()
    errors = excinfo.value.message_dict
    assert errors["ends_on"] == ["截止日期不能早于起始日期"]
    assert errors["base_upper"] == ["缴费基数上限不能低于下限"]


def test_database_refuses_reversed_bounds(region):
    with pytest.raises(IntegrityError), transaction.atomic():
        unsaved_period(region, D(2026, 7, 1), D(2027, 6, 30), lower="9000", upper="8000").save()


def test_publishing_stamps_the_time_and_unpublishing_clears_it(region):
    period = unsaved_period(region, D(2026, 7, 1), D(2027, 6, 30))
    period.is_published = True
    period.full_clean()
    assert period.published_at is not None
    period.is_published = False
    period.full_clean()
    assert period.published_at is None


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"insurance_type": "work_injury"}, "risk_class", "工伤保险费率须按行业风险类别填写"),
        (
            {"insurance_type": "work_injury", "risk_class": 1, "personal_rate": Decimal("0.01")},
            "personal_rate",
            "工伤保险无个人缴费,个人费率应为 0",
        ),
        (
            {"insurance_type": "pension", "risk_class": 3},
            "risk_class",
            "只有工伤保险按行业风险类别设费率",
        ),
        (
            {"insurance_type": "pension", "employer_rate": Decimal("16")},
            "employer_rate",
            "不能大于 1",
        ),
        ({"insurance_type": "pension", "personal_rate": Decimal("-0.08")}, "personal_rate", "负数"),
    ],
)
def test_rate_clean_refuses_bad_rates_in_chinese(region, fields, field, message):
    period = make_period(region, rates=[])
    values = {"employer_rate": Decimal("0.16"), "personal_rate": Decimal("0")} | fields
    with pytest.raises(ValidationError) as excinfo:
        PolicyRate(period=period, **values).full_clean()
    assert message in " ".join(excinfo.value.message_dict[field])


def test_database_refuses_a_rate_above_one_and_a_second_rate_of_a_type(region):
    period = make_period(region)
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyRate.objects.create(
            period=period,
            insurance_type=InsuranceType.PENSION,
            employer_rate=Decimal("0.16"),
            personal_rate=Decimal("0.08"),
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyRate.objects.create(
            period=period,
            insurance_type=InsuranceType.WORK_INJURY,
            risk_class=2,
            employer_rate=Decimal("0.004"),
        )
    period.rates.all().delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyRate.objects.create(
            period=period, insurance_type=InsuranceType.PENSION, employer_rate=Decimal("1.5")
        )


def test_one_rounding_rule_per_region_type_and_side(region):
    RoundingRule.objects.create(region=region, insurance_type="pension", side="personal")
    duplicate = RoundingRule(region=region, insurance_type="pension", side="personal")
    with pytest.raises(ValidationError) as excinfo:
        duplicate.full_clean()
    assert "已有舍入规则" in " ".join(excinfo.value.messages)


def test_service_refuses_overlap_and_changes_nothing(region):
    make_period(region)
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="重叠"):
        make_period(region, starts_on=D(2027, 1, 1), ends_on=D(2027, 12, 31))
    assert PolicyPeriod.objects.count() == 1
    assert PolicyRate.objects.count() == len(standard_rates())
    assert AuditEvent.objects.count() == before


def test_changes_are_kept_in_history_and_audited(region):
    period = make_period(region)
    make_period(region, base_upper="36000.00")
    period.refresh_from_db()
    assert period.base_upper == Decimal("36000.00")
    assert period.history.count() == 2
    assert [h.base_upper for h in period.history.order_by("history_date")] == [
        Decimal("35811.00"),
        Decimal("36000.00"),
    ]
    assert AuditEvent.objects.filter(action="policy.saved", object_id=str(period.pk)).count() == 2


def test_saving_the_same_values_again_writes_nothing(region):
    period = make_period(region)
    make_period(region)
    assert period.history.count() == 1
    assert PolicyRate.history.count() == len(standard_rates())
    assert AuditEvent.objects.filter(action="policy.saved").count() == 1
