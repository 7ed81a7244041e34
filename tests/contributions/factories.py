"""Policy periods for the contribution tests (figures are made up)."""

import datetime
from decimal import Decimal

from contributions.models import InsuranceType, RiskClass
from contributions.policy.services import RateInput, RoundingInput, policy_period_save

WORK_INJURY_RATES = ["0.002", "0.004", "0.007", "0.009", "0.011", "0.013", "0.016", "0.019"]


def standard_rates() -> list[RateInput]:
    return [
        RateInput(InsuranceType.PENSION, None, Decimal("0.16"), Decimal("0.08")),
        RateInput(InsuranceType.MEDICAL, None, Decimal("0.098"), Decimal("0.02")),
        RateInput(InsuranceType.UNEMPLOYMENT, None, Decimal("0.005"), Decimal("0.005")),
    ] + [
        RateInput(InsuranceType.WORK_INJURY, risk, Decimal(rate), Decimal("0"))
        for risk, rate in zip(RiskClass.values, WORK_INJURY_RATES, strict=True)
    ]


def make_period(
    region,
    starts_on=datetime.date(2026, 7, 1),
    ends_on=datetime.date(2027, 6, 30),
    base_lower="7162.00",
    base_upper="35811.00",
    is_published=True,
    rates=None,
    rounding=(),
):
    """Create a period through the service, the way admin and import_policy do."""
    return policy_period_save(
        region=region,
        starts_on=starts_on,
        ends_on=ends_on,
        base_lower=Decimal(base_lower),
        base_upper=Decimal(base_upper),
        is_published=is_published,
        note="测试数据",
        rates=standard_rates() if rates is None else rates,
        rounding=[RoundingInput(*item) for item in rounding],
    ).period
