"""The roster's compiled page queries: the page's size written in the SQL (a stable generic plan
on PostgreSQL), the constants of the rows' query written as literals (within psycopg's cached
sizes); the same rows as the ORM's own queries gave, on this database."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection

from enrollment.models import Enrolment, InsuranceCode
from enrollment.roster.selectors import (
    PAGE_SIZE,
    UnitRosterPaginator,
    _row_values,
    _rows_of_ids,
    _unit_roster,
    _unit_roster_queries,
)
from portal.compiled_sql import CompiledQuery, Ints, Slice
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_employer

pytestmark = pytest.mark.django_db

STATUSES = [Enrolment.Status.ACTIVE, Enrolment.Status.TERMINATED, Enrolment.Status.PENDING]


@pytest.fixture
def units():
    """Two units, the first with two pages and a bit of every status (ended ones: 续保)."""
    mine, other = create_employer(name="花名册甲"), create_employer(name="花名册乙")
    for index in range(PAGE_SIZE + 9):
        create_enrolment(
            mine,
            name=f"王{index}",
            status=STATUSES[index % len(STATUSES)],
            insurance_codes=[["110", "210", "310", "410"], ["410"]][index % 2],
            start_month=datetime.date(2024, 1 + index % 12, 1),
        )
    for index in range(3):
        create_enrolment(other, name=f"李{index}")
    return mine, other


def orm_page(unit: int, number: int, size: int, **filters) -> list[tuple]:
    """A page's rows as the ORM's queryset gives them (its slice written into its SQL)."""
    ids = _unit_roster(unit, **filters).order_by("-pk").values("pk")
    bottom = (number - 1) * size
    return list(_row_values().filter(pk__in=ids[bottom : bottom + size]))


def test_pages_are_the_orms_pages_with_the_size_in_the_sql(units):
    mine, other = units
    for status, code in [("", ""), (Enrolment.Status.ACTIVE, ""), ("", InsuranceCode.WORK_INJURY)]:
        for size in (PAGE_SIZE, 7):
            count, page = _unit_roster_queries(status, code, size)
            sql, params, slots, _converters = page.sql()
            # The size is a literal, the offset the one parameter besides the unit's id.
            assert f"LIMIT {size} OFFSET %s" in sql
            assert sorted(slots.values()) == ["skip", "unit", "unit"]  # ids and COUNT
            # The old query: the size a parameter too.
            old = CompiledQuery(
                lambda unit, skip, size, status=status, code=code: _row_values().filter(
                    pk__in=_unit_roster(unit, status=status, insurance_code=code)
                    .order_by("-pk")
                    .values("pk")[skip : skip + size]
                ),
                "unit",
                skip=Slice,
                size=Slice,
            )
            for unit in (mine.pk, other.pk, 0):
                total = count.rows(unit=unit)[0][0]
                for number in (1, 2, 3, 9):
                    skip = (number - 1) * size
                    with_count = page.rows(unit=unit, skip=skip)
                    # Each row followed by the unit's count.
                    assert {row[-1] for row in with_count} <= {total}
                    rows = [row[:-1] for row in with_count]
                    assert rows == old.rows(unit=unit, skip=skip, size=size)
                    assert rows == orm_page(unit, number, size, status=status, insurance_code=code)
                    assert len(rows) == max(0, min(size, total - skip))
    # Both pages of the first unit hold rows, 续保 offered on some of them.
    paginator = UnitRosterPaginator(mine.pk, PAGE_SIZE)
    rows = [row for number in (1, 2) for row in paginator.page(number).object_list]
    assert len(rows) == PAGE_SIZE + 9 and any(row.resume_url for row in rows)


def test_rows_of_ids_inline_their_constants_and_are_the_orms_rows(units):
    mine, _other = units
    query = _rows_of_ids(PAGE_SIZE)
    sql, params, slots, _converters = query.sql()
    # Only the ids are parameters on PostgreSQL: within the 50 psycopg converts once (SQLite's
    # untyped 1 of EXISTS stays one).
    assert len(slots) == PAGE_SIZE and "'terminated'" in sql and "'cancelled'" in sql
    others = [param for position, param in enumerate(params) if position not in slots]
    if connection.vendor == "postgresql":
        assert others == [] and "SELECT 1 AS" in sql
    else:
        assert others == [1]
    plain = CompiledQuery(lambda ids: _row_values().filter(pk__in=ids), ids=Ints(PAGE_SIZE))
    ids = list(Enrolment.objects.filter(employer=mine).order_by("-pk").values_list("pk", flat=True))
    for chosen in (ids[:PAGE_SIZE], ids[PAGE_SIZE:], ids[::3][:PAGE_SIZE], [ids[-1]], [0]):
        rows = query.rows(ids=chosen)
        assert rows == plain.rows(ids=chosen) == list(_row_values().filter(pk__in=chosen))
    assert {row[5] for row in query.rows(ids=ids[:PAGE_SIZE])} == set(STATUSES)


def test_row_urls_are_reverses_for_the_prefix_and_language(settings):
    from django.urls import clear_script_prefix, reverse, set_script_prefix
    from django.utils import translation

    from enrollment.roster.selectors import _id_url

    try:
        for prefix in ("/", "/portal/"):
            set_script_prefix(prefix)
            for language in ("zh-hans", "en"):
                with translation.override(language):
                    for name in ("enrollment:roster_detail", "enrollment:resume"):
                        url = _id_url(name)
                        for pk in (1, 42, 987654321, 10**12):
                            assert url(pk) == reverse(name, args=[pk])
                            assert url(pk).startswith(prefix)
    finally:
        clear_script_prefix()
    assert _id_url("enrollment:roster_detail")(7) == reverse("enrollment:roster_detail", args=[7])


NUMBERS = [None, "", "x", 1, "1", 2, "2", 2.0, 2.5, 3, 0, -1, "-2", 99, "99"]


def test_get_page_is_paginators_get_page_in_one_query_when_the_page_has_rows(units):
    from django.core.paginator import Paginator
    from django.test.utils import CaptureQueriesContext

    mine, other = units
    empty = create_employer(name="花名册丙")
    for unit in (mine.pk, other.pk, empty.pk):
        for status in ("", Enrolment.Status.TERMINATED):
            ids = list(
                _unit_roster(unit, status=status).order_by("-pk").values_list("pk", flat=True)
            )
            for size in (PAGE_SIZE, 7):
                for number in NUMBERS:
                    expected = Paginator(ids, size).get_page(number)
                    with CaptureQueriesContext(connection) as captured:
                        page = UnitRosterPaginator(unit, size, status=status).get_page(number)
                    assert [row.pk for row in page.object_list] == list(expected.object_list)
                    assert page.number == expected.number
                    assert page.paginator.count == len(ids)
                    assert page.paginator.num_pages == expected.paginator.num_pages
                    # One query when the page asked for is shown (it has rows, or it is the
                    # first); else the COUNT and the nearest page, after the try past the end.
                    parsed = 1 if number in (None, "", "x", 2.5) else int(number)
                    if parsed == expected.number:
                        assert len(captured.captured_queries) == 1
                    elif parsed < 1:
                        assert len(captured.captured_queries) == 2
                    else:
                        assert len(captured.captured_queries) == 3


def test_name_search_ids_are_roster_for_agents_ids(units):
    from enrollment.roster.selectors import roster_for_agent, roster_page
    from tests.factories import create_agent

    mine, other = units
    for index, name in enumerate(["王%五", "王_六", "张王", "Wang 王", "王\\七", "欧阳王小"]):
        create_enrolment(mine, name=name, status=STATUSES[index % len(STATUSES)])
    create_enrolment(other, name="王八")
    agent = create_agent(mine)
    searches = ["王", "王%", "王_", "%", "_", "王\\", "阳王", "王 ", " 王小", "李", "五六"]
    searches += ["Wang", "王1"]  # a Latin name, a document number: the ORM's queries
    for q in searches:
        for status in ("", Enrolment.Status.ACTIVE, "nonsense"):
            for code in ("", InsuranceCode.PENSION, InsuranceCode.MATERNITY):
                filters = {"status": status, "insurance_code": code}
                expected = list(
                    roster_for_agent(agent, q=q, **filters)
                    .order_by("-pk")
                    .values_list("pk", flat=True)
                )
                page = roster_page(agent, 1, q=q, **filters)
                assert page.paginator.count == len(expected), (q, status, code)
                assert [row.pk for row in page.object_list] == expected[:PAGE_SIZE]
    assert roster_page(agent, 1, q="王%").paginator.count == 1
    assert roster_page(agent, 1, q="王").paginator.count > PAGE_SIZE
