"""Working days on the Chinese calendar: statutory holidays and adjusted working days (调休).

Truth for one date, first match wins:
1. a WorkdayOverride row that ops loaded for that date;
2. a year ops loaded completely (WorkdayCalendarYear): other Monday–Friday work, weekends rest;
3. chinese_calendar, which knows the State Council's notices it shipped with (调休 weekends work);
4. Monday–Friday, with a warning: a due time a day off beats a review queue that stops.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

import chinese_calendar
from django.db import transaction
from django.db.models import BooleanField, DateField, IntegerField, Value

from portal.audit import audit_log
from portal.compiled_sql import CompiledQuery
from portal.models import WorkdayCalendarYear, WorkdayOverride

logger = logging.getLogger("portal.workdays")

# Years already warned about in this process, so that a year of lookups logs one line.
_warned_years: set[int] = set()

# No published calendar has a break this long; a longer run means broken override data.
MAX_CONSECUTIVE_REST_DAYS = 60


@dataclass(frozen=True)
class _Year:
    overrides: dict[datetime.date, bool]
    fully_loaded: bool


# Read on every review submission (its due time), compiled once per process: a year's overrides
# and, as one more row without a date (no override's date is NULL), whether ops loaded the
# whole year; one statement where there were two. The year as an expression: a positive
# field's lookup of a literal refuses the negative sentinel.
_YEAR = CompiledQuery(
    lambda first, last, year: (
        WorkdayOverride.objects.filter(date__gte=first, date__lte=last)
        .order_by()  # a compound statement's parts are not ordered
        .values_list("date", "is_working_day")
        .union(
            WorkdayCalendarYear.objects.filter(year=Value(year, output_field=IntegerField()))
            .order_by()
            .values_list(
                Value(None, output_field=DateField()), Value(True, output_field=BooleanField())
            ),
            all=True,
        )
    ),
    "year",
    first=datetime.date,
    last=datetime.date,
)


class WorkdayCalendar:
    """Answer working-day questions, loading each year's overrides at most once.

    Build one per task or request that asks about many dates; rows loaded later are not seen.
    """

    def __init__(self) -> None:
        self._years: dict[int, _Year] = {}

    def _year(self, year: int) -> _Year:
        if year not in self._years:
            rows = _YEAR.rows(
                first=datetime.date(year, 1, 1), last=datetime.date(year, 12, 31), year=year
            )
            overrides = {day: working for day, working in rows if day is not None}
            fully_loaded = any(day is None for day, _working in rows)
            self._years[year] = _Year(overrides=overrides, fully_loaded=fully_loaded)
        return self._years[year]

    def is_working_day(self, d: datetime.date) -> bool:
        """Return whether d is a working day."""
        _check_date(d)
        year = self._year(d.year)
        if d in year.overrides:
            return year.overrides[d]
        if year.fully_loaded:
            return d.weekday() < 5
        try:
            return chinese_calendar.is_workday(d)
        except NotImplementedError:
            _warn_unknown_year(d.year)
            return d.weekday() < 5

    def add_working_days(self, start: datetime.date, n: int) -> datetime.date:
        """Return the n-th working day after start (start itself, or the next one, for n=0)."""
        _check_date(start)
        if n < 0:
            raise ValueError("n must not be negative")
        d = start
        if n == 0:
            return self._next_working_day(d, include=True)
        for _ in range(n):
            d = self._next_working_day(d, include=False)
        return d

    def working_days_between(self, start: datetime.date, end: datetime.date) -> int:
        """Count the working days after start up to and including end (negative if end < start)."""
        _check_date(start)
        _check_date(end)
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        d = start
        while d < end:
            d += datetime.timedelta(days=1)
            count += self.is_working_day(d)
        return count

    def _next_working_day(self, d: datetime.date, *, include: bool) -> datetime.date:
        if include and self.is_working_day(d):
            return d
        for offset in range(1, MAX_CONSECUTIVE_REST_DAYS + 1):
            candidate = d + datetime.timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(
            f"no working day in the {MAX_CONSECUTIVE_REST_DAYS} days after {d:%Y-%m-%d}: "
            "check the loaded working-day calendar"
        )


def is_working_day(d: datetime.date) -> bool:
    """Return whether d is a working day."""
    return WorkdayCalendar().is_working_day(d)


def add_working_days(start: datetime.date, n: int) -> datetime.date:
    """Return the n-th working day after start (start itself, or the next one, for n=0)."""
    return WorkdayCalendar().add_working_days(start, n)


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """Count the working days after start up to and including end (negative if end < start)."""
    return WorkdayCalendar().working_days_between(start, end)


@dataclass(frozen=True)
class CalendarDay:
    date: datetime.date
    is_working_day: bool
    name: str = ""


@dataclass(frozen=True)
class CalendarLoadResult:
    year: int
    holidays: int
    workdays: int
    created: int
    updated: int
    removed: int
    kept: int


@transaction.atomic
def workday_calendar_load(
    *,
    year: int,
    days: list[CalendarDay],
    source: str = "",
    replace: bool = False,
    actor=None,
) -> CalendarLoadResult:
    """Load one year's holidays and 调休 working days from the State Council's notice."""
    dates = [day.date for day in days]
    if any(d.year != year for d in dates):
        raise ValueError(f"every day must fall in {year}")
    if len(set(dates)) != len(dates):
        raise ValueError("a day is listed twice")
    if not days:
        raise ValueError("no days to load")

    in_year = WorkdayOverride.objects.filter(
        date__gte=datetime.date(year, 1, 1), date__lte=datetime.date(year, 12, 31)
    )
    others = in_year.exclude(date__in=dates)
    removed = kept = 0
    if replace:
        removed, _ = others.delete()
    else:
        kept = others.count()

    created = 0
    for day in days:
        _, was_created = WorkdayOverride.objects.update_or_create(
            date=day.date, defaults={"is_working_day": day.is_working_day, "name": day.name}
        )
        created += was_created
    WorkdayCalendarYear.objects.update_or_create(year=year, defaults={"source": source[:200]})

    workdays = sum(day.is_working_day for day in days)
    result = CalendarLoadResult(
        year=year,
        holidays=len(days) - workdays,
        workdays=workdays,
        created=created,
        updated=len(days) - created,
        removed=removed,
        kept=kept,
    )
    audit_log(
        action="workdays.loaded",
        actor=actor,
        details={
            "year": year,
            "days": len(days),
            "holidays": result.holidays,
            "workdays": result.workdays,
            "removed": removed,
            "source": source[:200],
        },
    )
    return result


def _check_date(d: object) -> None:
    # A datetime is a date subclass: refuse it rather than guess which time zone's day it means.
    if isinstance(d, datetime.datetime) or not isinstance(d, datetime.date):
        raise TypeError(f"expected a date, got {type(d).__name__}")


def _warn_unknown_year(year: int) -> None:
    if year in _warned_years:
        return
    _warned_years.add(year)
    logger.warning(
        "no working-day calendar for %s: counting Monday to Friday as working days; "
        "load the State Council's holiday notice with manage.py load_workday_calendar",
        year,
    )
