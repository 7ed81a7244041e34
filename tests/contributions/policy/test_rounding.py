from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contributions.models import DEFAULT_ROUNDING, RoundingMethod
from contributions.policy.reference import ROUNDING_TOLERANCE, round_amount

HALF_UP_CENT = RoundingMethod.HALF_UP_CENT
CENT_UP_TO_JIAO = RoundingMethod.CENT_UP_TO_JIAO
HALF_UP_JIAO = RoundingMethod.HALF_UP_JIAO
TRUNCATE_CENT = RoundingMethod.TRUNCATE_CENT


@pytest.mark.parametrize(
    ("rule", "amount", "expected"),
    [
        (HALF_UP_CENT, "12.345", "12.35"),  # the half cent goes up (not to even)
        (HALF_UP_CENT, "12.335", "12.34"),
        (HALF_UP_CENT, "12.3449", "12.34"),
        (HALF_UP_CENT, "40.005", "40.01"),
        (HALF_UP_CENT, "7", "7.00"),
        (CENT_UP_TO_JIAO, "12.31", "12.40"),
        (CENT_UP_TO_JIAO, "12.30", "12.30"),
        (CENT_UP_TO_JIAO, "12.3049", "12.30"),  # below half a cent is not a 分
        (CENT_UP_TO_JIAO, "12.305", "12.40"),
        (CENT_UP_TO_JIAO, "12.99", "13.00"),
        (HALF_UP_JIAO, "12.35", "12.40"),
        (HALF_UP_JIAO, "12.349", "12.30"),
        (HALF_UP_JIAO, "12.25", "12.30"),
        (TRUNCATE_CENT, "12.349", "12.34"),
        (TRUNCATE_CENT, "12.3", "12.30"),
        (HALF_UP_CENT, "-12.345", "-12.35"),  # a credit mirrors the charge
        (CENT_UP_TO_JIAO, "-12.31", "-12.40"),
        (TRUNCATE_CENT, "-12.349", "-12.34"),
    ],
)
def test_round_amount_examples(rule, amount, expected):
    result = round_amount(Decimal(amount), rule)
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -2  # always two decimal places


def test_default_rule_is_half_up_to_the_cent():
    assert DEFAULT_ROUNDING == HALF_UP_CENT
    assert round_amount(Decimal("0.125")) == Decimal("0.13")


def test_round_amount_refuses_floats_and_unknown_rules():
    with pytest.raises(TypeError):
        round_amount(0.125, HALF_UP_CENT)
    with pytest.raises(ValueError):
        round_amount(Decimal("1"), "banker")


amounts = st.decimals(
    min_value=Decimal("-1000000"),
    max_value=Decimal("1000000"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)
rules = st.sampled_from(RoundingMethod.values)


@given(amount=amounts, rule=rules)
def test_result_is_a_whole_number_of_cents(amount, rule):
    result = round_amount(amount, rule)
    assert result % Decimal("0.01") == 0
    if rule in (CENT_UP_TO_JIAO, HALF_UP_JIAO):
        assert result % Decimal("0.1") == 0


@given(amount=amounts.filter(lambda value: value >= 0), rule=rules)
def test_result_stays_within_what_the_rule_allows(amount, rule):
    below, above = ROUNDING_TOLERANCE[rule]
    result = round_amount(amount, rule)
    assert amount - below <= result <= amount + above


@given(amount=amounts, rule=rules)
def test_credits_mirror_charges(amount, rule):
    assert round_amount(-amount, rule) == -round_amount(amount, rule)


@given(cents=st.integers(min_value=0, max_value=10**8))
def test_half_cent_boundaries_go_up_and_just_below_goes_down(cents):
    exact = Decimal(cents) / 100
    half = exact + Decimal("0.005")
    assert round_amount(half, HALF_UP_CENT) == exact + Decimal("0.01")
    assert round_amount(half - Decimal("0.000001"), HALF_UP_CENT) == exact
    assert round_amount(half - Decimal("0.000001"), TRUNCATE_CENT) == exact


@given(jiao=st.integers(min_value=0, max_value=10**7))
def test_half_jiao_boundary_and_cent_up_to_jiao(jiao):
    exact = Decimal(jiao) / 10
    assert round_amount(exact + Decimal("0.05"), HALF_UP_JIAO) == exact + Decimal("0.1")
    assert round_amount(exact + Decimal("0.049999"), HALF_UP_JIAO) == exact
    assert round_amount(exact + Decimal("0.01"), CENT_UP_TO_JIAO) == exact + Decimal("0.1")
    assert round_amount(exact + Decimal("0.004999"), CENT_UP_TO_JIAO) == exact
    assert round_amount(exact, CENT_UP_TO_JIAO) == exact


@given(amount=amounts.filter(lambda value: value >= 0))
def test_rules_are_ordered_as_their_definitions_say(amount):
    truncated = round_amount(amount, TRUNCATE_CENT)
    half_up = round_amount(amount, HALF_UP_CENT)
    assert truncated <= half_up <= round_amount(amount, CENT_UP_TO_JIAO)
