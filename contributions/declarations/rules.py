"""The amount rules of a base declaration: what a typed base may be, and the period's bounds."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from contributions.models import (
    MONEY_MAX_DIGITS,
    PolicyPeriod,
)

CENT = Decimal("0.01")


# DecimalField(max_digits=12, decimal_places=2): ten digits before the point.
MONEY_LIMIT = Decimal(10) ** (MONEY_MAX_DIGITS - 2)


def parse_amount(value) -> Decimal:
    """Parse a typed monthly wage in yuan; raise ValidationError with a message for the user."""
    if isinstance(value, float):
        value = repr(value)
    text = str(value if value is not None else "").strip().replace(",", "").replace("元", "")
    text = text.replace("\uff0c", "").replace(" ", "")
    if not text:
        raise ValidationError(_("请填写月平均工资(缴费基数)。"), code="required")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValidationError(
            _("“%(value)s”不是有效的金额,请填写数字,如 8000 或 8000.50。") % {"value": text[:20]},
            code="invalid",
        )
    if amount < 0:
        raise ValidationError(_("金额不能为负数。"), code="negative")
    if amount == 0:
        raise ValidationError(_("金额应大于 0。"), code="zero")
    if amount >= MONEY_LIMIT:
        raise ValidationError(_("金额过大,请检查是否多输了数字。"), code="too_large")
    if amount != amount.quantize(CENT):
        raise ValidationError(_("金额最多保留两位小数(到分)。"), code="decimals")
    return amount.quantize(CENT)


def bounds_message(period: PolicyPeriod) -> str:
    return _(
        "缴费基数应在 %(lower)s 元至 %(upper)s 元之间(本期缴费基数下限 %(lower)s 元,"
        "上限 %(upper)s 元)。可修改,或点击“一键调整到上下限”。"
    ) % {"lower": period.base_lower, "upper": period.base_upper}


def in_bounds(period: PolicyPeriod, amount: Decimal) -> bool:
    return period.base_lower <= amount <= period.base_upper


def clamp(period: PolicyPeriod, amount: Decimal) -> Decimal:
    """The nearest bound for an amount outside them; the amount itself otherwise."""
    return min(max(amount, period.base_lower), period.base_upper)
