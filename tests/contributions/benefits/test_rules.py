"""The benefit rules, with the arithmetic of each figure written out by hand."""

from decimal import Decimal

import pytest

from contributions.benefits.rules import (
    bounded_own_wage,
    disability_lump_sum,
    maternity_allowance,
    maternity_leave_days,
)

D = Decimal


# 产假天数 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "days"),
    [
        ({"kind": "birth"}, 98),
        ({"kind": "birth", "difficult_birth": True}, 113),  # 98 + 15
        ({"kind": "birth", "babies": 2}, 113),  # 98 + 15 × 1
        ({"kind": "birth", "babies": 3, "difficult_birth": True}, 143),  # 98 + 15 × 2 + 15
        ({"kind": "birth", "regional_extra_days": 60}, 158),  # 98 + 60 (e.g. Beijing)
        ({"kind": "birth", "babies": 2, "regional_extra_days": 30}, 143),  # 98 + 15 + 30
        ({"kind": "miscarriage_under_4_months"}, 15),
        ({"kind": "miscarriage_4_months_or_more"}, 42),
        # No extras for a miscarriage, whatever else is passed.
        ({"kind": "miscarriage_4_months_or_more", "regional_extra_days": 60}, 42),
        ({"kind": "miscarriage_under_4_months", "difficult_birth": True, "babies": 2}, 15),
    ],
)
def test_maternity_leave_days(arguments, days):
    assert maternity_leave_days(**arguments) == days


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"kind": "adoption"}, "生育类别不正确"),
        ({"kind": ""}, "生育类别不正确"),
        ({"kind": "birth", "babies": 0}, "胎儿数至少为1"),
        ({"kind": "birth", "babies": 1.5}, "胎儿数必须是整数"),
        ({"kind": "birth", "regional_extra_days": -1}, "不能为负数"),
    ],
)
def test_maternity_leave_days_refuses_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        maternity_leave_days(**arguments)


# 生育津贴 ---------------------------------------------------------------------------------------


def test_maternity_allowance_divides_by_30():
    # 9,000.00 ÷ 30 = 300.00 a day; × 98 days = 29,400.00.
    assert maternity_allowance(D("9000.00"), 98) == D("29400.00")


def test_maternity_allowance_rounds_once_at_the_end():
    # 10,000 × 98 ÷ 30.4 = 980,000 ÷ 30.4 = 32,236.842105… → 32,236.84.
    # Rounding the daily figure first would give 328.95 × 98 = 32,237.10: 0.26 too much.
    assert maternity_allowance(D("10000"), 98, divisor=D("30.4")) == D("32236.84")
    # 7,777.77 × 113 ÷ 30 = 878,888.01 ÷ 30 = 29,296.267 → 29,296.27.
    assert maternity_allowance("7777.77", 113) == D("29296.27")


def test_maternity_allowance_rounds_half_up():
    # 0.45 × 1 ÷ 30 = 0.015 → 0.02 (half up, not to even).
    assert maternity_allowance(D("0.45"), 1) == D("0.02")
    # 0.15 × 1 ÷ 30 = 0.005 → 0.01.
    assert maternity_allowance(D("0.15"), 1) == D("0.01")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((D("-1"), 98), "不能为负数"),
        ((D("9000"), 0), "必须大于0"),
        ((D("9000"), -5), "必须大于0"),
        (("abc", 98), "必须是数字"),
        ((D("9000"), 98, D("31")), "应为30或30.4"),
        ((D("9000"), 98, D("0")), "应为30或30.4"),
    ],
)
def test_maternity_allowance_refuses_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        maternity_allowance(*arguments)


# 一次性伤残补助金 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "amount"),
    [
        (1, D("216000.00")),  # 27 × 8,000
        (2, D("200000.00")),  # 25 × 8,000
        (3, D("184000.00")),  # 23 × 8,000
        (4, D("168000.00")),  # 21 × 8,000
        (5, D("144000.00")),  # 18 × 8,000
        (6, D("128000.00")),  # 16 × 8,000
        (7, D("104000.00")),  # 13 × 8,000
        (8, D("88000.00")),  # 11 × 8,000
        (9, D("72000.00")),  # 9 × 8,000
        (10, D("56000.00")),  # 7 × 8,000
    ],
)
def test_disability_lump_sum_by_level(level, amount):
    # Own wage 8,000 lies within 60 %–300 % of an average of 10,000 (6,000–30,000).
    assert disability_lump_sum(level, D("8000"), D("10000")) == amount


def test_a_low_own_wage_is_raised_to_60_percent_of_the_average():
    # 4,000 < 0.6 × 11,937 = 7,162.20; level 7: 13 × 7,162.20 = 93,108.60.
    assert bounded_own_wage(D("4000"), D("11937")) == D("7162.20")
    assert disability_lump_sum(7, D("4000"), D("11937")) == D("93108.60")


def test_a_high_own_wage_is_cut_to_300_percent_of_the_average():
    # 50,000 > 3 × 11,937 = 35,811; level 10: 7 × 35,811 = 250,677.00.
    assert bounded_own_wage(D("50000"), D("11937")) == D("35811")
    assert disability_lump_sum(10, D("50000"), D("11937")) == D("250677.00")


def test_the_lump_sum_is_rounded_half_up_to_the_cent():
    # 0.6 × 10,000.01 = 6,000.006 is the floor; 9 × 6,000.006 = 54,000.054 → 54,000.05.
    assert disability_lump_sum(9, D("1"), D("10000.01")) == D("54000.05")
    # 0.6 × 10,000.025 = 6,000.015 (not rounded on its own); 9 × 6,000.015 = 54,000.135 → .14.
    assert disability_lump_sum(9, D("1"), D("10000.025")) == D("54000.14")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((0, D("8000"), D("10000")), "伤残等级应为1至10级"),
        ((11, D("8000"), D("10000")), "伤残等级应为1至10级"),
        (("3", D("8000"), D("10000")), "伤残等级应为1至10级"),
        ((True, D("8000"), D("10000")), "伤残等级应为1至10级"),
        ((5, D("-1"), D("10000")), "本人月工资不能为负数"),
        ((5, D("8000"), D("-10000")), "不能为负数"),
        ((5, D("8000"), D("0")), "必须大于0"),
    ],
)
def test_disability_lump_sum_refuses_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        disability_lump_sum(*arguments)
