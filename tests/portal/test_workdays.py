import datetime
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal import workdays
from portal.models import WorkdayCalendarYear, WorkdayOverride
from portal.workdays import (
    WorkdayCalendar,
    add_working_days,
    is_working_day,
    working_days_between,
)

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    # The fallback warns once per year per process; each test starts with nothing warned.
    monkeypatch.setattr(workdays, "_warned_years", set())


def fallback_warnings(caplog):
    return [
        r for r in caplog.records if r.name == "portal.workdays" and r.levelno == logging.WARNING
    ]


def test_national_day_is_not_a_working_day():
    assert not is_working_day(D(2025, 10, 1))
    assert not is_working_day(D(2025, 10, 8))
    assert is_working_day(D(2025, 10, 9))


def test_adjusted_sunday_is_a_working_day():
    # 2025-09-28 is a Sunday worked in exchange for the National Day break (调休).
    assert D(2025, 9, 28).weekday() == 6
    assert is_working_day(D(2025, 9, 28))


def test_spring_festival_2026():
    assert not is_working_day(D(2026, 2, 16))  # 除夕 eve, a Monday
    assert not is_working_day(D(2026, 2, 17))  # 正月初一
    assert not is_working_day(D(2026, 2, 23))  # last day of the break, a Monday
    assert is_working_day(D(2026, 2, 14))  # Saturday worked (调休)
    assert is_working_day(D(2026, 2, 28))  # Saturday worked (调休)
    assert add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert add_working_days(D(2026, 2, 14), 1) == D(2026, 2, 24)


def test_ordinary_weekend_is_not_a_working_day():
    assert not is_working_day(D(2025, 9, 27))  # Saturday
    assert is_working_day(D(2025, 9, 26))  # Friday


def test_one_working_day_after_friday_is_the_adjusted_sunday():
    assert add_working_days(D(2025, 9, 26), 1) == D(2025, 9, 28)


def test_three_working_days_across_national_day():
    # Tuesday 2025-09-30 is the last day before the 1–8 October break.
    assert add_working_days(D(2025, 9, 29), 3) == D(2025, 10, 10)
    assert working_days_between(D(2025, 9, 29), D(2025, 10, 10)) == 3


def test_zero_working_days_is_start_or_the_next_working_day():
    assert add_working_days(D(2025, 9, 26), 0) == D(2025, 9, 26)
    assert add_working_days(D(2025, 10, 1), 0) == D(2025, 10, 9)


def test_negative_count_is_refused():
    with pytest.raises(ValueError):
        add_working_days(D(2025, 9, 26), -1)


def test_datetime_is_refused():
    moment = datetime.datetime(2025, 9, 26, 9, tzinfo=datetime.UTC)
    with pytest.raises(TypeError):
        is_working_day(moment)


def test_working_days_between_counts_after_start_up_to_end():
    assert working_days_between(D(2025, 9, 26), D(2025, 9, 26)) == 0
    assert working_days_between(D(2025, 9, 26), D(2025, 9, 30)) == 3  # Sun 28, Mon 29, Tue 30
    assert working_days_between(D(2025, 9, 30), D(2025, 9, 26)) == -3


def test_unknown_year_falls_back_to_monday_to_friday_with_one_warning(caplog):
    caplog.set_level(logging.WARNING, logger="portal.workdays")

    assert is_working_day(D(2027, 3, 1))  # Monday
    assert not is_working_day(D(2027, 3, 6))  # Saturday
    assert add_working_days(D(2027, 3, 5), 1) == D(2027, 3, 8)

    warnings = fallback_warnings(caplog)
    assert len(warnings) == 1
    assert "2027" in warnings[0].getMessage()


def test_overrides_take_effect_in_an_unknown_year():
    WorkdayOverride.objects.create(date=D(2027, 2, 8), is_working_day=False, name="春节")
    WorkdayOverride.objects.create(date=D(2027, 2, 20), is_working_day=True, name="春节")

    assert not is_working_day(D(2027, 2, 8))  # a Monday off
    assert is_working_day(D(2027, 2, 20))  # a Saturday worked
    assert add_working_days(D(2027, 2, 5), 1) == D(2027, 2, 9)


def test_loaded_year_uses_weekdays_without_warning(caplog):
    caplog.set_level(logging.WARNING, logger="portal.workdays")
    WorkdayCalendarYear.objects.create(year=2027, source="test")
    WorkdayOverride.objects.create(date=D(2027, 1, 1), is_working_day=False, name="元旦")

    assert not is_working_day(D(2027, 1, 1))
    assert is_working_day(D(2027, 1, 4))
    assert not is_working_day(D(2027, 1, 9))
    assert fallback_warnings(caplog) == []


def test_override_beats_the_library():
    # An emergency change after the library shipped: National Day eve given off.
    WorkdayOverride.objects.create(date=D(2025, 9, 30), is_working_day=False, name="调整")
    WorkdayOverride.objects.create(date=D(2025, 9, 28), is_working_day=False, name="调整")

    assert not is_working_day(D(2025, 9, 30))
    assert add_working_days(D(2025, 9, 26), 1) == D(2025, 9, 29)


def test_loaded_year_replaces_the_library():
    WorkdayCalendarYear.objects.create(year=2025, source="test")

    # Without 2025 override rows the library's 调休 Sunday and National Day no longer apply.
    assert not is_working_day(D(2025, 9, 28))
    assert is_working_day(D(2025, 10, 1))


def test_a_year_is_loaded_with_a_fixed_number_of_queries(django_assert_num_queries):
    # One query for the year's overrides and whether the year was loaded.
    with django_assert_num_queries(1):
        assert working_days_between(D(2025, 1, 1), D(2025, 12, 31)) == 248
    with django_assert_num_queries(2):
        assert add_working_days(D(2025, 12, 30), 3) == D(2026, 1, 5)


def _year_by_two_queries(year: int) -> tuple[dict, bool]:
    """A year's overrides and whether it was loaded, read as before they were one statement."""
    overrides = dict(
        WorkdayOverride.objects.filter(
            date__gte=D(year, 1, 1), date__lte=D(year, 12, 31)
        ).values_list("date", "is_working_day")
    )
    return overrides, WorkdayCalendarYear.objects.filter(year=year).exists()


def test_a_year_read_in_one_statement_is_the_year_read_in_two():
    WorkdayCalendarYear.objects.create(year=2027, source="test")  # loaded, with overrides
    WorkdayOverride.objects.create(date=D(2027, 1, 1), is_working_day=False, name="元旦")
    WorkdayOverride.objects.create(date=D(2027, 2, 20), is_working_day=True, name="调休")
    WorkdayOverride.objects.create(date=D(2026, 12, 31), is_working_day=False, name="前一年")
    WorkdayOverride.objects.create(date=D(2028, 1, 1), is_working_day=False, name="后一年")
    WorkdayCalendarYear.objects.create(year=2029, source="test")  # loaded, no overrides
    WorkdayOverride.objects.create(date=D(2030, 10, 8), is_working_day=True, name="未整年载入")
    seen = set()
    for year in (2025, 2026, 2027, 2028, 2029, 2030, 2031):
        loaded = WorkdayCalendar()._year(year)
        assert (loaded.overrides, loaded.fully_loaded) == _year_by_two_queries(year)
        assert all(type(value) is bool for value in loaded.overrides.values())
        seen.add((bool(loaded.overrides), loaded.fully_loaded))
    assert seen == {(True, True), (False, True), (True, False), (False, False)}


def test_calendar_object_reuses_loaded_years(django_assert_num_queries):
    calendar = WorkdayCalendar()
    calendar.is_working_day(D(2025, 10, 1))
    with django_assert_num_queries(0):
        calendar.add_working_days(D(2025, 9, 26), 3)
        calendar.is_working_day(D(2025, 5, 1))


def test_broken_calendar_raises_instead_of_looping():
    WorkdayCalendarYear.objects.create(year=2027, source="test")
    WorkdayOverride.objects.bulk_create(
        WorkdayOverride(date=D(2027, 1, 1) + datetime.timedelta(days=i), is_working_day=False)
        for i in range(365)
    )
    with pytest.raises(ValueError, match="no working day"):
        add_working_days(D(2027, 1, 1), 1)


@settings(max_examples=60, deadline=None)
@given(
    start=st.dates(min_value=D(2024, 12, 1), max_value=D(2027, 6, 30)),
    n=st.integers(min_value=0, max_value=30),
)
def test_adding_then_counting_gives_back_n(start, n):
    end = add_working_days(start, n)

    assert end >= start
    assert is_working_day(end)
    if n == 0:
        assert working_days_between(start, end) == (0 if is_working_day(start) else 1)
    else:
        assert working_days_between(start, end) == n
