"""The roster (参保人员花名册): reads of the unit's enrolments, always scoped to the agent's unit.

Document numbers are stored encrypted with random nonces, so they can be searched only as a
whole, through the blind index; names are searched as substrings.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from typing import NamedTuple

from django.core.paginator import Page, Paginator
from django.core.signals import setting_changed
from django.db.models import CharField, Func, IntegerField, QuerySet, Subquery, Value
from django.db.models.expressions import Star
from django.db.models.functions import StrIndex
from django.shortcuts import get_object_or_404
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.functional import cached_property
from django.utils.translation import get_language

from enrollment.models import Enrolment, InsuranceCode, Person, insurance_masks_with
from enrollment.resume.rules import with_resumable
from portal.compiled_sql import CompiledQuery, Ints, Slice
from portal.crypto import as_stored, blind_index, masked_many
from portal.identifiers import mask_id_number
from portal.templatetags.portal_tags import money, month_label

PAGE_SIZE = 50
# Columns a roster row never shows: not loading them saves decrypting a phone per row.
ROW_DEFERRED = ("person__phone", "person__created_at", "person__updated_at")


def looks_like_document_number(q: str) -> bool:
    """A search term with a digit is a document number; names have none."""
    return any(ch.isdigit() for ch in q)


def _insurance_code_filter(queryset: QuerySet, code: str) -> QuerySet:
    """Enrolments that include the insurance type, by the indexed bitmask (not the JSON list):
    ``insurance_mask IN (16 masks)`` is an index condition on enrolment_roster, so the page's
    COUNT is an index-only scan instead of reading and parsing every row's JSON."""
    return queryset.filter(insurance_mask__in=insurance_masks_with(code))


def _unit_roster(unit: int, *, status: str = "", insurance_code: str = "") -> QuerySet:
    """The unit's enrolments with this status and insurance type (unknown values ignored)."""
    queryset = Enrolment.objects.filter(employer_id=unit)
    if status in Enrolment.Status.values:
        queryset = queryset.filter(status=status)
    if insurance_code in InsuranceCode.values:
        queryset = _insurance_code_filter(queryset, insurance_code)
    return queryset


def _is_latin(q: str) -> bool:
    """Whether a name search holds a Latin letter (matched without regard to case)."""
    return q.isascii() or any(ch.isascii() and ch.isalpha() for ch in q)


def roster_for_agent(agent, *, q: str = "", status: str = "", insurance_code: str = "") -> QuerySet:
    """Return the unit's enrolments, newest first, filtered by name or document number,
    status and insurance type (unknown filter values are ignored)."""
    queryset = Enrolment.objects.filter(employer_id=agent.employer_id)
    q = " ".join((q or "").split())
    if q:
        if looks_like_document_number(q):
            number = q.replace(" ", "").upper()
            # Resolve the person first: an indexed look-up, then a join-free filter.
            person_ids = Person.objects.filter(
                document_index=blind_index("document_number", number)
            ).values("pk")
            queryset = queryset.filter(person_id__in=person_ids)
        elif _is_latin(q):
            queryset = queryset.filter(person__name__icontains=q)  # a foreigner's Latin name
        else:
            # Chinese has no letter case: a plain LIKE spares UPPER() on every row scanned.
            queryset = queryset.filter(person__name__contains=q)
    if status in Enrolment.Status.values:
        queryset = queryset.filter(status=status)
    if insurance_code in InsuranceCode.values:
        queryset = _insurance_code_filter(queryset, insurance_code)
    return queryset


def roster_rows(queryset: QuerySet) -> QuerySet:
    """Load what a roster row shows in the same query."""
    # ``resumable`` (an EXISTS per row of the page) offers 续保 on the rows it applies to.
    return with_resumable(
        queryset.select_related("person", "employment_form").defer(*ROW_DEFERRED)
    ).order_by("-pk")


class RosterPaginator(Paginator):
    """Pages of the filtered enrolments, newest first, as display rows.

    A page is picked by id in a subquery and only its 50 rows are joined to their persons: a
    plain OFFSET would join (and decrypt nothing, but still read) every row it skips, which
    made page 1000 of 100,000 take over 150 ms on PostgreSQL.
    """

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        ids = self.object_list.order_by("-pk").values("pk")[bottom : bottom + self.per_page]
        return self._get_page(roster_row_list(ids), number, self)


class UnitRosterPaginator(Paginator):
    """RosterPaginator's pages of the unit's roster filtered by status and insurance type only,
    with the COUNT and the page's query (its rows carry the COUNT too) compiled once per process
    (per filter and size) and run with the unit's id and the page's offset
    (portal.compiled_sql): building and compiling them cost the ORM more than PostgreSQL takes
    to run them."""

    def __init__(self, unit: int, per_page: int, *, status: str = "", insurance_code: str = ""):
        super().__init__([], per_page)
        self.unit = unit
        self.queries = _unit_roster_queries(
            status if status in Enrolment.Status.values else "",
            insurance_code if insurance_code in InsuranceCode.values else "",
            per_page,
        )

    @cached_property
    def count(self) -> int:
        return self.queries[0].rows(unit=self.unit)[0][0]

    def get_page(self, number):
        """Paginator.get_page() in one query when the page asked for has rows (or is the
        first): the page's rows carry the unit's count. Otherwise (past the last page, below
        the first) the COUNT first, as Paginator does, then the nearest page."""
        wanted = _page_number(number)
        if wanted is not None and "count" not in self.__dict__:
            rows = self._rows(wanted)
            if rows or wanted == 1:
                # Rows at this offset: the number is within the pages; none on the first: no
                # rows at all.
                self.count = rows[0][-1] if rows else 0
                return self._get_page(_roster_rows([row[:-1] for row in rows]), wanted, self)
        return super().get_page(number)

    def page(self, number):
        number = self.validate_number(number)
        rows = self._rows(number)
        return self._get_page(_roster_rows([row[:-1] for row in rows]), number, self)

    def _rows(self, number: int) -> list[tuple]:
        """The page's RosterRow.COLUMNS, each row followed by the unit's count."""
        return self.queries[1].rows(unit=self.unit, skip=(number - 1) * self.per_page)


def _page_number(number) -> int | None:
    """The page Paginator.get_page() shows for ``number`` when the count allows it, read as
    validate_number() reads it: 1 for what is not an integer; None below 1 (the last page)."""
    try:
        if isinstance(number, float) and not number.is_integer():
            raise ValueError
        number = int(number)
    except (TypeError, ValueError):
        return 1
    return number if number >= 1 else None


# COUNT(*) as QuerySet.count() writes it, as a column of a compiled query (not an aggregate:
# no GROUP BY).
_COUNT_ALL = Func(Star(), function="COUNT", output_field=IntegerField())


@cache
def _unit_roster_queries(
    status: str, insurance_code: str, size: int
) -> tuple[CompiledQuery, CompiledQuery]:
    """The COUNT and the pages of ``size`` rows (each row followed by the COUNT) of a unit's
    roster with these filters (known values or "": a few statuses and insurance types, each
    pair compiled once).

    The page's size is written in its SQL (LIMIT 50), only the offset is a parameter: with both
    a parameter, PostgreSQL's generic plan of the prepared statement guesses that a tenth of
    the unit's rows pass the LIMIT, costs more than a plan for the actual values, and so every
    run was planned again (~0.4 ms of the backend per page); with the LIMIT known the generic
    plan is the same plan and is kept."""

    def enrolments(unit):
        return _unit_roster(unit, status=status, insurance_code=insurance_code).order_by()

    def page(unit, skip):
        ids = enrolments(unit).order_by("-pk").values("pk")[skip : skip + size]
        # The COUNT as a last column (one scalar subquery, run once): a page is one query.
        total = Subquery(enrolments(unit).values(n=_COUNT_ALL), output_field=IntegerField())
        return _row_values().filter(pk__in=ids).annotate(total=total)

    return (
        CompiledQuery(lambda unit: enrolments(unit).values_list(_COUNT_ALL), "unit"),
        _RowsQuery(page, "unit", skip=Slice),
    )


class _RowsQuery(CompiledQuery):
    # The statuses of ``resumable`` and its EXISTS' SELECT 1 written in the SQL: a page of
    # picked ids (Ints(50)) then passes 50 parameters, within what psycopg converts once per
    # process (over 50, it parsed the 1,400-character SQL on every run, ~0.17 ms).
    inline_constants = True


class MatchedIdsPaginator(Paginator):
    """Pages of a name search: the matching ids are read once, and count and page come from them.

    A name is matched with LIKE '%…%', which no index serves for a two-character Chinese name
    (pg_trgm needs three): the COUNT and the page query would each scan every person. One scan
    for the ids (integers only, newest first) and one query for the page's 50 rows instead.
    """

    def __init__(self, ids: list[int], per_page: int):
        super().__init__(ids, per_page)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        ids = self.object_list[bottom : bottom + self.per_page]
        rows = _rows_of_ids(self.per_page).rows(ids=ids) if ids else []
        return self._get_page(_roster_rows(rows), number, self)


@cache
def _name_match_ids(status: str, insurance_code: str) -> CompiledQuery:
    """The ids, newest first, of the unit's enrolments (with these filters) whose person's name
    holds a name without Latin letters, compiled once per process per filter: roster_for_agent's
    ``person__name__contains`` as STRPOS (INSTR on SQLite) > 0, the same literal substring test
    (LIKE's % and _ are escaped by the ORM; such a name has no letter case), with the name a
    plain parameter. Building and compiling the ORM's query cost more than running it."""

    def ids(unit, name):
        found = StrIndex("person__name", Value(name, output_field=CharField()))
        return (
            _unit_roster(unit, status=status, insurance_code=insurance_code)
            .alias(found_at=found)
            .filter(found_at__gt=0)
            .order_by("-pk")
            .values_list("pk")
        )

    return CompiledQuery(ids, "unit", name=str)


@cache
def _rows_of_ids(size: int) -> CompiledQuery:
    """The roster rows of up to ``size`` enrolments by id, compiled once per process."""
    return _RowsQuery(lambda ids: _row_values().filter(pk__in=ids), ids=Ints(size))


def is_name_search(q: str) -> bool:
    q = " ".join((q or "").split())
    return bool(q) and not looks_like_document_number(q)


def roster_page(
    agent, page_number, *, q: str = "", status: str = "", insurance_code: str = ""
) -> Page:
    """Return one page of 50 rows of the unit's enrolments filtered as roster_for_agent does;
    a bad or too large page number gives the nearest page."""
    if not " ".join((q or "").split()):
        paginator = UnitRosterPaginator(
            agent.employer_id, PAGE_SIZE, status=status, insurance_code=insurance_code
        )
        return paginator.get_page(page_number)
    filters = {"status": status, "insurance_code": insurance_code}
    if is_name_search(q):
        name = " ".join(q.split())
        if _is_latin(name):
            queryset = roster_for_agent(agent, q=q, **filters)
            ids = list(queryset.order_by("-pk").values_list("pk", flat=True))
        else:
            query = _name_match_ids(
                status if status in Enrolment.Status.values else "",
                insurance_code if insurance_code in InsuranceCode.values else "",
            )
            ids = [pk for (pk,) in query.rows(unit=agent.employer_id, name=name)]
        return MatchedIdsPaginator(ids, PAGE_SIZE).get_page(page_number)
    queryset = roster_for_agent(agent, q=q, **filters)
    return RosterPaginator(queryset.order_by("-pk"), PAGE_SIZE).get_page(page_number)


# The status badge's colour; any other status is grey.
STATUS_BADGES = {
    Enrolment.Status.ACTIVE: "text-bg-success",
    Enrolment.Status.PENDING: "text-bg-warning",
}


class RosterRow(NamedTuple):
    """What a roster row shows, ready to print: the template does no look-ups, filters or
    translations per row (a page has 50 rows)."""

    pk: int
    detail_url: str
    name: str
    masked_document_number: str
    employment_form: str
    insurance_codes: str
    start_month: str
    contribution_base: str
    badge: str
    status_label: str
    resume_url: str

    # The columns roster_row_list reads, in its order (person and employment form joined); the
    # last two are STORED_AS_TEXT.
    COLUMNS = (
        "pk",
        "person__name",
        "employment_form__name",
        "start_month",
        "contribution_base",
        "status",
        "resumable",
        "document_envelope",
        "insurance_codes_json",
    )


# Columns read as stored, without their fields' conversion: the document number's envelope is
# masked through portal.crypto.masked (remembered per ciphertext, not decrypted for every page)
# and the insurance codes' JSON text printed through _codes_text (a unit has a few combinations).
STORED_AS_TEXT = {
    "document_envelope": "person__document_number",
    "insurance_codes_json": "insurance_codes",
}


def _id_url(viewname: str):
    """The URL of ``viewname`` for an id, as reverse() writes it: reversed once per process
    (for the request's script prefix, urlconf and language) with a placeholder id, split
    around it."""
    head, tail = _id_url_parts(viewname, get_script_prefix(), get_urlconf(), get_language())
    return lambda pk: f"{head}{pk}{tail}"


@lru_cache(maxsize=64)
def _id_url_parts(viewname: str, prefix: str, urlconf, language: str) -> tuple[str, str]:
    head, _, tail = reverse(viewname, args=[987654321], urlconf=urlconf).rpartition("987654321")
    return head, tail


def _id_urls_clear(**kwargs) -> None:
    _id_url_parts.cache_clear()  # ROOT_URLCONF may have changed (tests)


setting_changed.connect(_id_urls_clear)


@cache
def _row_values() -> QuerySet:
    """The enrolments' row columns with ``resumable``, newest first: built once per process
    (nothing in it depends on the request) and filtered per page."""
    as_text = {name: as_stored(column) for name, column in STORED_AS_TEXT.items()}
    return (
        with_resumable(Enrolment.objects.all())
        .annotate(**as_text)
        .order_by("-pk")
        .values_list(*RosterRow.COLUMNS)
    )


@lru_cache(maxsize=256)
def _codes_text(stored: str) -> str:
    """The insurance codes as a row prints them (110 210 310) from their stored JSON text."""
    return " ".join(json.loads(stored))


def roster_row_list(ids) -> list[RosterRow]:
    """The enrolments with these ids (a list or a subquery of the agent's unit's, as the
    paginators pick them) as display rows, newest first: one query of plain values (no model
    instances; the phone is not read), labels translated and URLs reversed once per page."""
    return _roster_rows(_row_values().filter(pk__in=ids))


def _roster_rows(rows) -> list[RosterRow]:
    """Display rows of tuples of RosterRow.COLUMNS (built positionally, in RosterRow's order;
    each distinct amount of a page formatted once)."""
    detail_url = _id_url("enrollment:roster_detail")
    resume_url = _id_url("enrollment:resume")
    status_labels = {value: str(label) for value, label in Enrolment.Status.choices}
    numbers = masked_many([row[7] for row in rows], mask_id_number)
    amounts: dict = {}
    out = []
    for (
        pk,
        name,
        employment_form,
        start_month,
        contribution_base,
        status,
        resumable,
        _document_envelope,
        insurance_codes_json,
    ), number in zip(rows, numbers, strict=True):
        # By the amount's text: the same text is the same value, printed alike (1 and 1.0
        # are equal and print alike too, but -0 and 0 do not).
        amount_key = str(contribution_base)
        amount = amounts.get(amount_key)
        if amount is None:
            amount = amounts[amount_key] = money(contribution_base)
        out.append(
            RosterRow(
                pk,
                detail_url(pk),
                name,
                number,
                employment_form,
                _codes_text(insurance_codes_json),
                month_label(start_month),
                amount,
                STATUS_BADGES.get(status, "text-bg-secondary"),
                status_labels.get(status, status),
                resume_url(pk) if resumable else "",
            )
        )
    return out


def roster_enrolment_get_for_agent(*, agent, enrolment_id: int) -> Enrolment:
    """Return one enrolment of the agent's unit; 404 whether missing or another unit's."""
    return get_object_or_404(
        with_resumable(Enrolment.objects.select_related("person", "employment_form")),
        pk=enrolment_id,
        employer_id=agent.employer_id,
    )


def roster_enrolment_history(enrolment: Enrolment) -> dict:
    """Return the enrolment's recorded versions, its filings, and the person's other
    enrolments with the same unit (never another unit's)."""
    from enrollment.models import AddEmployeeFiling, PersonChangeFiling, RemoveEmployeeFiling

    versions = list(
        enrolment.history.select_related("history_user").order_by("-history_date", "-history_id")
    )
    add_filing = AddEmployeeFiling.objects.filter(enrolment_id=enrolment.pk).first()
    remove_filings = list(
        RemoveEmployeeFiling.objects.filter(enrolment_id=enrolment.pk).order_by("-created_at")
    )
    # The unit's own corrections of the person (another unit's are not its business).
    change_filings = list(
        PersonChangeFiling.objects.filter(
            person_id=enrolment.person_id, employer_id=enrolment.employer_id
        )
        .defer("phone")
        .order_by("-created_at")
    )
    others = list(
        Enrolment.objects.filter(person_id=enrolment.person_id, employer_id=enrolment.employer_id)
        .exclude(pk=enrolment.pk)
        .order_by("-start_month")
    )
    return {
        "versions": versions,
        "add_filing": add_filing,
        "remove_filings": remove_filings,
        "change_filings": change_filings,
        "other_enrolments": others,
    }
