"""The contribution policy in force: base bounds, rates, rounding and the amounts they give.

Reference data low in the dependency order: this module imports only portal and
contributions.models, so that enrollment may use it to check a declared base and billing to
compute amounts, while it imports neither of them. Nothing here writes.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from contributions.models import (
    DEFAULT_ROUNDING,
    InsuranceType,
    PolicyPeriod,
    PolicyRate,
    RiskClass,
    RoundingMethod,
    RoundingRule,
    Side,
)
from portal.compiled_sql import CompiledQuery
from portal.models import Region

CENT = Decimal("0.01")
JIAO = Decimal("0.1")

# The largest |rounded − exact| each method allows; 见分进角 and 截尾 are one-sided (see
# round_amount): the rounded amount lies in [exact − low, exact + high].
ROUNDING_TOLERANCE: dict[str, tuple[Decimal, Decimal]] = {
    RoundingMethod.HALF_UP_CENT: (Decimal("0.005"), Decimal("0.005")),
    RoundingMethod.CENT_UP_TO_JIAO: (Decimal("0.005"), Decimal("0.095")),
    RoundingMethod.HALF_UP_JIAO: (Decimal("0.05"), Decimal("0.05")),
    RoundingMethod.TRUNCATE_CENT: (Decimal("0.01"), Decimal("0")),
}


class PolicyError(ValidationError):
    """The policy needed for a date, insurance type or risk class is missing.

    A ValidationError, so that a form can show the message as it is.
    """


class PolicyNotFound(PolicyError):
    pass


class RateNotFound(PolicyError):
    pass


class Rates(NamedTuple):
    """Employer and personal rates as Decimal fractions (0.16 is 16 %)."""

    employer: Decimal
    personal: Decimal


@dataclass(frozen=True)
class ContributionAmount:
    """One insurance type's contribution for one person and month."""

    insurance_type: str
    base: Decimal  # the declared base brought within the period's bounds
    employer_rate: Decimal
    personal_rate: Decimal
    employer: Decimal
    personal: Decimal

    @property
    def total(self) -> Decimal:
        return self.employer + self.personal


def round_amount(amount: Decimal, rule: str = DEFAULT_ROUNDING) -> Decimal:
    """Round an amount in yuan to whole cents by a region's rule (a RoundingMethod value).

    - 四舍五入到分 (half_up_cent, the default wherever a region sets no rule): to the nearest
      cent, a half cent up: 12.345 → 12.35, 12.3449 → 12.34.
    - 见分进角 (cent_up_to_jiao, as in Shanghai): first to the nearest cent as above (a
      fraction of a cent is not yet a 分), then any cent left over raises the amount to the next
      jiao: 12.31 → 12.40, 12.30 → 12.30, 12.3049 → 12.30, 12.305 → 12.40.
    - 四舍五入到角 (half_up_jiao): to the nearest jiao, half a jiao up: 12.35 → 12.40,
      12.349 → 12.30.
    - 截尾到分 (truncate_cent): fractions of a cent are dropped: 12.349 → 12.34.

    Negative amounts (credits) round as the mirror image of positive ones, so that a credit and
    the charge it cancels have the same size. The result always has two decimal places.
    Floats are refused: money is Decimal.
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    if rule == RoundingMethod.HALF_UP_CENT:
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if rule == RoundingMethod.CENT_UP_TO_JIAO:
        cents = amount.quantize(CENT, rounding=ROUND_HALF_UP)
        return cents.quantize(JIAO, rounding=ROUND_UP).quantize(CENT)
    if rule == RoundingMethod.HALF_UP_JIAO:
        return amount.quantize(JIAO, rounding=ROUND_HALF_UP).quantize(CENT)
    if rule == RoundingMethod.TRUNCATE_CENT:
        return amount.quantize(CENT, rounding=ROUND_DOWN)
    raise ValueError(f"unknown rounding rule: {rule!r}")


def _date_text(value: datetime.date) -> str:
    return f"{value:%Y-%m-%d}"


def policy_for(region: Region, on_date: datetime.date) -> PolicyPeriod:
    """Return the published policy period of the region in force on the date.

    Raises PolicyNotFound (a ValidationError with a message for the user) when no published
    period covers the date, saying whether one exists but is not yet published.
    """
    periods = list(
        PolicyPeriod.objects.select_related("region").filter(
            region=region, starts_on__lte=on_date, ends_on__gte=on_date
        )[:2]
    )
    published = [period for period in periods if period.is_published]
    if published:
        return published[0]
    params = {"region": region, "date": _date_text(on_date)}
    if periods:
        period = periods[0]
        raise PolicyNotFound(
            _("%(region)s %(start)s 至 %(end)s 的缴费政策尚未发布,暂不能按 %(date)s 计算")
            % {
                **params,
                "start": _date_text(period.starts_on),
                "end": _date_text(period.ends_on),
            },
            code="policy_unpublished",
        )
    raise PolicyNotFound(
        _("%(region)s 没有适用于 %(date)s 的缴费政策(缴费基数上下限和费率),请联系社保经办机构")
        % params,
        code="policy_missing",
    )


# Read on every add-employee filing and its pre-check: the rows policy_for reads (the same
# filter, order and limit), only the columns the bounds need; the SQL compiled once per process.
_BOUNDS = CompiledQuery(
    lambda region, day: PolicyPeriod.objects.filter(
        region_id=region, starts_on__lte=day, ends_on__gte=day
    ).values_list("base_lower", "base_upper", "is_published")[:2],
    "region",
    day=datetime.date,
)


def _region(region: Region | int) -> Region:
    return region if isinstance(region, Region) else Region.objects.get(pk=region)


def base_bounds(region: Region | int, on_date: datetime.date) -> tuple[Decimal, Decimal]:
    """Return the (lower, upper) monthly contribution base in force, in yuan.

    The region is an instance or its id; policy_for reads it (and says why) only when no
    published period covers the date.
    """
    region_id = region.pk if isinstance(region, Region) else region
    if type(region_id) is int and type(on_date) is datetime.date:
        for lower, upper, published in _BOUNDS.rows(region=region_id, day=on_date):
            if published:
                return lower, upper
    period = policy_for(_region(region), on_date)
    return period.base_lower, period.base_upper


def validate_base(region: Region | int, on_date: datetime.date, base: Decimal) -> None:
    """Refuse a declared monthly base outside the bounds in force, naming the bounds.

    The region is an instance or its id (read only to name it in a refusal).
    """
    lower, upper = base_bounds(region, on_date)
    if not lower <= base <= upper:
        raise ValidationError(
            _("月缴费工资应在 %(lower)s 元至 %(upper)s 元之间(%(region)s 缴费基数上下限)"),
            code="base_out_of_bounds",
            params={"lower": lower, "upper": upper, "region": _region(region).name},
        )


def _type_label(insurance_type: str, risk_class: int | None = None) -> str:
    label = str(InsuranceType(insurance_type).label)
    if risk_class is not None:
        label += f"({RiskClass(risk_class).label})"
    return label


def _rate_key(insurance_type: str, risk_class: int | None) -> tuple[str, int | None]:
    if insurance_type not in InsuranceType.values:
        raise ValueError(f"unknown insurance type: {insurance_type!r}")
    if insurance_type != InsuranceType.WORK_INJURY:
        return str(insurance_type), None
    if risk_class is None:
        raise RateNotFound(
            _("工伤保险费率按行业风险类别确定,请指明单位的行业风险类别"),
            code="risk_class_missing",
        )
    return str(insurance_type), int(risk_class)


def rate_for(period: PolicyPeriod, insurance_type: str, risk_class: int | None = None) -> Rates:
    """Return the (employer, personal) rates of an insurance type in the period.

    工伤保险 needs the unit's industry risk class (一类 … 八类); for the other types the risk
    class is ignored. Uses period.rates.all(), so a prefetch makes it query-free.
    """
    key = _rate_key(insurance_type, risk_class)
    for rate in period.rates.all():
        if (rate.insurance_type, rate.risk_class) == key:
            return Rates(rate.employer_rate, rate.personal_rate)
    raise RateNotFound(
        _("%(period)s 未设置%(type)s的费率") % {"period": period, "type": _type_label(*key)},
        code="rate_missing",
    )


@dataclass(frozen=True)
class Policy:
    """A period with its rates and its region's rounding rules, loaded once for many people."""

    period: PolicyPeriod
    rates: Mapping[tuple[str, int | None], Rates]
    rounding: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def rounding_rule(self, insurance_type: str, side: str) -> str:
        return self.rounding.get((str(insurance_type), str(side)), DEFAULT_ROUNDING)

    def clamp(self, base: Decimal) -> Decimal:
        """Bring a declared base within the period's bounds (the bill uses the clamped base)."""
        return min(max(base, self.period.base_lower), self.period.base_upper)

    def rate(self, insurance_type: str, risk_class: int | None = None) -> Rates:
        key = _rate_key(insurance_type, risk_class)
        try:
            return self.rates[key]
        except KeyError:
            raise RateNotFound(
                _("%(period)s 未设置%(type)s的费率")
                % {"period": self.period, "type": _type_label(*key)},
                code="rate_missing",
            ) from None

    def amounts(
        self,
        base: Decimal,
        insurance_types: Iterable[str],
        risk_class: int | None = None,
    ) -> dict[str, ContributionAmount]:
        """Return per insurance type the employer and personal amounts, rounded by the rules."""
        if not isinstance(base, Decimal):
            raise TypeError(f"base must be a Decimal, not {type(base).__name__}")
        if base < 0:
            raise ValueError("base must not be negative")
        applied = self.clamp(base)
        result = {}
        for insurance_type in insurance_types:
            rates = self.rate(insurance_type, risk_class)
            key = str(insurance_type)
            result[key] = ContributionAmount(
                insurance_type=key,
                base=applied,
                employer_rate=rates.employer,
                personal_rate=rates.personal,
                employer=round_amount(
                    applied * rates.employer, self.rounding_rule(key, Side.EMPLOYER)
                ),
                personal=round_amount(
                    applied * rates.personal, self.rounding_rule(key, Side.PERSONAL)
                ),
            )
        return result


def load_policy(region: Region, on_date: datetime.date) -> Policy:
    """Load the policy in force on the date with its rates and rounding rules (3 queries)."""
    period = policy_for(region, on_date)
    rates = {
        (rate.insurance_type, rate.risk_class): Rates(rate.employer_rate, rate.personal_rate)
        for rate in PolicyRate.objects.filter(period=period)
    }
    rounding = {
        (rule.insurance_type, rule.side): rule.method
        for rule in RoundingRule.objects.filter(region_id=period.region_id)
    }
    return Policy(period=period, rates=rates, rounding=rounding)


def contribution_amounts(
    region: Region,
    on_date: datetime.date,
    base: Decimal,
    insurance_types: Iterable[str],
    risk_class: int | None = None,
) -> dict[str, ContributionAmount]:
    """Return per insurance type the month's employer and personal amounts for one person.

    The base is first brought within the bounds in force on the date (clamp(base, lower,
    upper)), then multiplied by each rate and rounded by the region's rule for that insurance
    type and side (四舍五入到分 where none is set). 工伤保险 needs the unit's risk class.
    """
    return load_policy(region, on_date).amounts(base, insurance_types, risk_class)
