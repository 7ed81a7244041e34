"""The benefit rules as pure functions (DESIGN.md section 15): no database, no settings.

生育津贴 (maternity allowance): the days of leave follow the Special Provisions on Labour
Protection of Female Employees (女职工劳动保护特别规定, 2012) art. 7 — 98 days for a birth, 15 more
for a difficult birth (难产) and 15 more for each additional baby of a multiple birth, plus the
extra days a region grants; a miscarriage before 4 months of pregnancy gives 15 days, from 4
months 42 days, without extras. The allowance is the unit's average monthly wage ÷ the region's
divisor (30, or 30.4 where the region says so) × the days, rounded half up to the cent once, at
the end (Social Insurance Law art. 56).

一次性伤残补助金 (the work-injury disability lump sum): months by disability level 1–10
(工伤保险条例 arts. 35–37) × the employee's own monthly wage, which is first bounded to
60 %–300 % of the region's average wage (art. 64).

Bad arguments raise ValueError with a Chinese message a page can show as it is.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")

BIRTH = "birth"
MISCARRIAGE_UNDER_4_MONTHS = "miscarriage_under_4_months"
MISCARRIAGE_4_MONTHS_OR_MORE = "miscarriage_4_months_or_more"
MATERNITY_KINDS = (BIRTH, MISCARRIAGE_UNDER_4_MONTHS, MISCARRIAGE_4_MONTHS_OR_MORE)

BIRTH_DAYS = 98
DIFFICULT_BIRTH_DAYS = 15
ADDITIONAL_BABY_DAYS = 15
MISCARRIAGE_DAYS = {MISCARRIAGE_UNDER_4_MONTHS: 15, MISCARRIAGE_4_MONTHS_OR_MORE: 42}

DIVISORS = (Decimal("30"), Decimal("30.4"))

# 工伤保险条例 arts. 35–37: months of the employee's own wage, by disability level 1–10.
DISABILITY_MONTHS = {1: 27, 2: 25, 3: 23, 4: 21, 5: 18, 6: 16, 7: 13, 8: 11, 9: 9, 10: 7}
WAGE_FLOOR_SHARE = Decimal("0.6")
WAGE_CEILING_SHARE = Decimal("3")


def _amount(value, what: str) -> Decimal:
    """A money amount as a Decimal; refuse what is not a non-negative number."""
    if isinstance(value, bool):
        raise ValueError(f"{what}必须是数字。")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"{what}必须是数字。") from None
    if not amount.is_finite():
        raise ValueError(f"{what}必须是数字。")
    if amount < 0:
        raise ValueError(f"{what}不能为负数。")
    return amount


def _whole(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what}必须是整数。")
    return value


def maternity_leave_days(
    kind: str, babies: int = 1, difficult_birth: bool = False, regional_extra_days: int = 0
) -> int:
    """Days of maternity leave for a birth or a miscarriage."""
    if kind not in MATERNITY_KINDS:
        raise ValueError("生育类别不正确,应为生育、怀孕未满4个月流产或怀孕满4个月流产。")
    babies = _whole(babies, "胎儿数")
    regional_extra_days = _whole(regional_extra_days, "地方增加的产假天数")
    if babies < 1:
        raise ValueError("胎儿数至少为1。")
    if regional_extra_days < 0:
        raise ValueError("地方增加的产假天数不能为负数。")
    if kind in MISCARRIAGE_DAYS:
        return MISCARRIAGE_DAYS[kind]
    days = BIRTH_DAYS + ADDITIONAL_BABY_DAYS * (babies - 1) + regional_extra_days
    if difficult_birth:
        days += DIFFICULT_BIRTH_DAYS
    return days


def maternity_allowance(unit_average_wage, days: int, divisor=Decimal("30")) -> Decimal:
    """生育津贴 = the unit's average monthly wage ÷ divisor × days, rounded once at the end."""
    wage = _amount(unit_average_wage, "单位月平均工资")
    days = _whole(days, "产假天数")
    if days <= 0:
        raise ValueError("产假天数必须大于0。")
    divisor = _amount(divisor, "计发天数")
    if divisor not in DIVISORS:
        raise ValueError("计发天数应为30或30.4。")
    # Multiplying before dividing keeps the one inexact step, the division, last.
    return (wage * days / divisor).quantize(CENT, rounding=ROUND_HALF_UP)


def bounded_own_wage(own_monthly_wage, regional_average_wage) -> Decimal:
    """The employee's own monthly wage bounded to 60 %–300 % of the region's average wage."""
    own = _amount(own_monthly_wage, "本人月工资")
    average = _amount(regional_average_wage, "统筹地区职工月平均工资")
    if average == 0:
        raise ValueError("统筹地区职工月平均工资必须大于0。")
    return min(max(own, average * WAGE_FLOOR_SHARE), average * WAGE_CEILING_SHARE)


def disability_lump_sum(level: int, own_monthly_wage, regional_average_wage) -> Decimal:
    """一次性伤残补助金 = months by level × the bounded own monthly wage, rounded to the cent."""
    if isinstance(level, bool) or level not in DISABILITY_MONTHS:
        raise ValueError("伤残等级应为1至10级。")
    wage = bounded_own_wage(own_monthly_wage, regional_average_wage)
    return (DISABILITY_MONTHS[level] * wage).quantize(CENT, rounding=ROUND_HALF_UP)
