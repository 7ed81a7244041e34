"""portal_tags.money: a Decimal formatted as it is gives the text the Decimal(str()) way gave."""

import random
from decimal import Decimal, InvalidOperation, localcontext

from portal.templatetags.portal_tags import money


def _money_before(value) -> str:
    """money as it was: every value read back from its text first."""
    if value in (None, ""):
        return ""
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value)


def _decimals():
    rng = random.Random(13)
    fixed = [
        "0",
        "-0",
        "0.00",
        "-0.00",
        "0E-10",
        "-0E+3",
        "0.005",
        "-0.005",
        "0.015",
        "0.025",
        "-0.015",
        "0.0049999",
        "1",
        "-1",
        "999.995",
        "-999.995",
        "999999.994",
        "1234567.891",
        "-1234567.891",
        "1E+3",
        "1E-3",
        "-1.5E+12",
        "12345678901234567890.125",
        "99999999999999999999999999999999999.999",
        "0.1",
        "1.10",
        "100",
        "1000",
        "1000.00",
        "NaN",
        "-NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "123.456789012345678901234567890",
    ]
    values = [Decimal(text) for text in fixed]
    for _ in range(20_000):
        digits = rng.randint(0, 24)
        places = rng.randint(0, 8)
        number = rng.randint(-(10**digits), 10**digits)
        values.append(Decimal(number).scaleb(-places))
    return values


def test_money_of_a_decimal_is_the_text_it_was_for_every_kind_of_decimal():
    for value in _decimals():
        assert money(value) == _money_before(value), value


def test_money_of_a_decimal_follows_the_context_as_before():
    # Both ways round with the current context's rounding (format() reads it).
    with localcontext() as context:
        context.rounding = "ROUND_DOWN"
        for value in [Decimal("0.015"), Decimal("-2.999"), Decimal("1234.567")]:
            assert money(value) == _money_before(value), value


def test_money_of_other_values_is_unchanged():
    class Amount(Decimal):
        pass

    for value in [None, "", "12.5", "-0", "abc", 3, -7, 2.5, 1e20, Amount("4.445"), "1,000"]:
        assert money(value) == _money_before(value), value
    assert money(Decimal("1177151.93")) == "1,177,151.93"
    assert money(Decimal("-0.004")) == "-0.00"  # as before: the sign of a rounded negative
