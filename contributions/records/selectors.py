"""查询统计: the unit's contribution records (bill lines), their totals, and why a record is
missing. Every read takes the agent and is scoped to the agent's unit.

A record is one BillLine (a person's amounts of one insurance type in one bill); its state is its
bill's status. A month can hold a regular line and later 补缴/退费 lines of the same person and
type: each is shown as its own row, so that the totals are the sums of the rows shown.

Speed: the lines are filtered on (employer, month), the index bill_line_unit_month; the totals
and the row count come from one GROUP BY over that range, and a page picks its 50 ids in a
subquery before joining persons and bills (see RecordPaginator).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import NamedTuple

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Sum
from django.shortcuts import get_object_or_404

from contributions.common import TYPE_ORDER, MaskedDocuments
from contributions.models import (
    BillKind,
    BillLine,
    BillStatus,
    InsuranceType,
    MonthlyBill,
)
from enrollment.models import Enrolment, Person
from enrollment.roster.selectors import looks_like_document_number
from portal.compiled_sql import CompiledQuery, Slice
from portal.crypto import as_stored, blind_index
from portal.templatetags.portal_tags import money, month_label

PAGE_SIZE = 50


ROW_ORDER = ("-month", "person_id", "pk")


ZERO = Decimal("0.00")


HOTLINE = "12333"


def _document_person_ids(q: str):
    number = q.replace(" ", "").upper()
    return Person.objects.filter(document_index=blind_index("document_number", number)).values("pk")


def _name_person_ids(agent, q: str):
    """Persons of the unit whose name contains ``q`` (a subquery, not a list)."""
    persons = Person.objects.filter(
        pk__in=Enrolment.objects.filter(employer_id=agent.employer_id).values("person_id")
    )
    if q.isascii() or any(ch.isascii() and ch.isalpha() for ch in q):
        persons = persons.filter(name__icontains=q)
    else:
        persons = persons.filter(name__contains=q)
    return persons.values("pk")


def records_for_agent(
    agent,
    *,
    q: str = "",
    month_from: datetime.date,
    month_to: datetime.date,
    insurance_type: str = "",
) -> QuerySet:
    """Return the unit's records of the months from ``month_from`` to ``month_to`` (first days),
    filtered by a person's name or full document number and by insurance type."""
    queryset = BillLine.objects.filter(
        employer_id=agent.employer_id, month__gte=month_from, month__lte=month_to
    )
    q = " ".join((q or "").split())
    if q:
        if looks_like_document_number(q):
            queryset = queryset.filter(person_id__in=_document_person_ids(q))
        else:
            queryset = queryset.filter(person_id__in=_name_person_ids(agent, q))
    return _of_type(queryset, insurance_type)


def _of_type(queryset: QuerySet, insurance_type: str) -> QuerySet:
    if insurance_type in InsuranceType.values:
        queryset = queryset.filter(insurance_type=insurance_type)
    return queryset


@dataclass
class TypeTotal:
    insurance_type: str
    label: str
    rows: int = 0
    employer: Decimal = ZERO
    personal: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.employer + self.personal


@dataclass
class RecordTotals:
    rows: int = 0
    employer: Decimal = ZERO
    personal: Decimal = ZERO
    by_type: list[TypeTotal] = field(default_factory=list)
    # Rows per month (first days), known when the totals come from per-bill totals.
    month_rows: dict[datetime.date, int] | None = None

    @property
    def total(self) -> Decimal:
        return self.employer + self.personal


def _grouped_totals(queryset: QuerySet, *fields: str) -> list[dict]:
    return list(
        queryset.order_by()
        .values(*fields)
        .annotate(
            rows=Count("*"),
            employer=Sum("employer_amount"),
            personal=Sum("personal_amount"),
        )
    )


def _totals_from(per_type: dict[str, list], insurance_type: str = "") -> RecordTotals:
    """Build RecordTotals from {type: [rows, employer, personal]}, in TYPE_ORDER."""
    labels = dict(InsuranceType.choices)
    totals = RecordTotals()
    for kind in TYPE_ORDER:
        if kind not in per_type or (insurance_type and kind != insurance_type):
            continue
        rows, employer, personal = per_type[kind]
        # SQLite sums decimals with many places (13772.850000000000): back to cents.
        employer, personal = (Decimal(v).quantize(ZERO) for v in (employer, personal))
        item = TypeTotal(kind, str(labels[kind]), rows, employer, personal)
        totals.by_type.append(item)
        totals.rows += item.rows
        totals.employer += item.employer
        totals.personal += item.personal
    return totals


def records_totals(queryset: QuerySet) -> RecordTotals:
    """Return the row count and the sums of the whole filtered set, per insurance type too,
    from one GROUP BY query."""
    per_type = {
        row["insurance_type"]: [row["rows"], row["employer"] or ZERO, row["personal"] or ZERO]
        for row in _grouped_totals(queryset, "insurance_type")
    }
    return _totals_from(per_type)


def records_totals_for_agent(
    agent, *, month_from: datetime.date, month_to: datetime.date, insurance_type: str = ""
) -> RecordTotals:
    """The totals of the unit's records of a month range (no person filter), from the bills.

    Each bill keeps its lines' sums per insurance type (MonthlyBill.type_totals, written with the
    lines by contributions.billing.engine), so a 12-month view of 10,000 persons reads 12 bill rows
    instead of summing 480,000 lines. A bill without them (none is made so) is summed from its
    lines.
    """
    bills = [
        {"pk": pk, "month": month, "type_totals": type_totals}
        for pk, month, type_totals in _BILL_TOTALS.rows(
            unit=agent.employer_id, month_from=month_from, month_to=month_to
        )
    ]
    if not bills:
        return RecordTotals()
    entries = {bill["pk"]: bill["type_totals"] for bill in bills if bill["type_totals"]}
    missing = [bill["pk"] for bill in bills if not bill["type_totals"]]
    if missing:
        lines = BillLine.objects.filter(employer_id=agent.employer_id, bill_id__in=missing)
        for row in _grouped_totals(lines, "bill_id", "insurance_type"):
            entries.setdefault(row["bill_id"], {})[row["insurance_type"]] = [
                row["rows"],
                str(row["employer"] or ZERO),
                str(row["personal"] or ZERO),
            ]
    wanted = insurance_type if insurance_type in InsuranceType.values else ""
    per_type: dict[str, list] = {}
    month_rows: dict[datetime.date, int] = {}
    for bill in bills:
        for kind, (rows, employer, personal) in entries.get(bill["pk"], {}).items():
            total = per_type.setdefault(kind, [0, ZERO, ZERO])
            total[0] += rows
            total[1] += Decimal(employer)
            total[2] += Decimal(personal)
            if not wanted or kind == wanted:
                month_rows[bill["month"]] = month_rows.get(bill["month"], 0) + rows
    totals = _totals_from(per_type, wanted)
    totals.month_rows = month_rows
    return totals


# The bills' totals of a month range, compiled once per process (portal.compiled_sql).
_BILL_TOTALS = CompiledQuery(
    lambda unit, month_from, month_to: MonthlyBill.objects.filter(
        employer_id=unit, month__gte=month_from, month__lte=month_to
    ).values_list("pk", "month", "type_totals"),
    "unit",
    month_from=datetime.date,
    month_to=datetime.date,
)


def records_totals_of(*, agent, filters: dict, queryset: QuerySet | None = None) -> RecordTotals:
    """The totals of the records the filters select: per-person filters sum their lines (of
    ``queryset``, records_for_agent's, built here when not given); the whole unit's months come
    from the per-bill totals (records_totals_for_agent)."""
    if filters["q"]:
        if queryset is None:
            queryset = records_for_agent(agent, **filters)
        return records_totals(queryset)
    return records_totals_for_agent(
        agent,
        month_from=filters["month_from"],
        month_to=filters["month_to"],
        insurance_type=filters["insurance_type"],
    )


# A record's state is its bill's: paid green, failed red, debited blue, else still to pay.
BILL_STATUS_BADGES = {
    BillStatus.SETTLED: "text-bg-success",
    BillStatus.DEBIT_FAILED: "text-bg-danger",
    BillStatus.DEBITED: "text-bg-info",
}


class RecordRow(NamedTuple):
    """One record as the records page shows it: labels translated and amounts formatted."""

    pk: int
    month: datetime.date
    month_label: str
    name: str
    masked_document_number: str
    type_label: str
    base: str
    employer_amount: str
    personal_amount: str
    badge: str
    bill_status_label: str
    supplement_label: str  # 补缴 on a supplement bill's lines, else empty

    # The columns record_rows reads, in its order (person and bill in the same query); the
    # document number's envelope last (an annotation: portal.crypto.as_stored).
    COLUMNS = (
        "pk",
        "month",
        "person__name",
        "insurance_type",
        "base",
        "employer_amount",
        "personal_amount",
        "bill__status",
        "bill__kind",
        "document_envelope",
    )


def record_rows(queryset: QuerySet) -> list[RecordRow]:
    """The rows of a page of records, in page order (one query; labels translated once)."""
    return _record_rows(_with_envelope(queryset.order_by(*ROW_ORDER)))


def _with_envelope(queryset: QuerySet) -> QuerySet:
    """The records' RecordRow.COLUMNS, the document number as stored (decrypted by the rows)."""
    return queryset.annotate(document_envelope=as_stored("person__document_number")).values_list(
        *RecordRow.COLUMNS
    )


def _record_rows(rows) -> list[RecordRow]:
    """Display rows of tuples of RecordRow.COLUMNS (a person's document number decrypted and
    masked once a page: a person's records of a month are next to each other)."""
    masked = MaskedDocuments()
    types = {kind: str(label) for kind, label in InsuranceType.choices}
    statuses = {status: str(label) for status, label in BillStatus.choices}
    supplement = str(BillKind.SUPPLEMENT.label)
    return [
        RecordRow(
            pk=pk,
            month=month,
            month_label=month_label(month),
            name=name,
            masked_document_number=masked(document_envelope),
            type_label=types.get(kind, kind),
            base=money(base),
            employer_amount=money(employer_amount),
            personal_amount=money(personal_amount),
            badge=BILL_STATUS_BADGES.get(status, "text-bg-warning"),
            bill_status_label=statuses.get(status, status),
            supplement_label=supplement if bill_kind == BillKind.SUPPLEMENT else "",
        )
        for (
            pk,
            month,
            name,
            kind,
            base,
            employer_amount,
            personal_amount,
            status,
            bill_kind,
            document_envelope,
        ) in rows
    ]


class RecordPaginator(Paginator):
    """Pages whose count is already known from the totals (no second COUNT query); a page picks
    its ids in a subquery and joins only those rows to their persons and bills.

    With the rows per month known, a page reads only the months it spans, with the offset
    counted from the first of them: page 2,000 of 480,000 lines then sorts one month's lines
    (the index serves month order; person order within a month needs a sort), not five.
    """

    def __init__(self, object_list, per_page, *, count: int, month_rows=None):
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property
        self.month_rows = month_rows

    def _months(self, bottom: int) -> tuple[list[datetime.date], int]:
        """The months (newest first) a page starting at row ``bottom`` spans, and its offset
        from the first of them; no months when the rows per month are unknown."""
        if not self.month_rows:
            return [], bottom
        months, skipped, spanned = [], 0, 0
        for month in sorted(self.month_rows, reverse=True):
            rows = self.month_rows[month]
            if not months and skipped + rows <= bottom:
                skipped += rows
                continue
            months.append(month)
            spanned += rows
            if skipped + spanned >= bottom + self.per_page:
                break
        if not months:
            return [], bottom
        return months, bottom - skipped

    def page(self, number):
        number = self.validate_number(number)
        months, bottom = self._months((number - 1) * self.per_page)
        queryset = self.object_list.filter(month__in=months) if months else self.object_list
        ids = queryset.order_by(*ROW_ORDER).values("pk")[bottom : bottom + self.per_page]
        return self._get_page(record_rows(BillLine.objects.filter(pk__in=ids)), number, self)


class UnitRecordPaginator(RecordPaginator):
    """RecordPaginator's pages of the unit's records of a month range and insurance type (no
    person filter), with the page's query compiled once per process (per insurance type and
    number of months spanned) and run with the unit, the months and the page's offset and size:
    building and compiling it cost the ORM more than PostgreSQL takes to run it."""

    def __init__(self, unit: int, filters: dict, per_page, *, count: int, month_rows=None):
        super().__init__([], per_page, count=count, month_rows=month_rows)
        self.unit = unit
        self.month_from, self.month_to = filters["month_from"], filters["month_to"]
        insurance_type = filters["insurance_type"]
        self.insurance_type = insurance_type if insurance_type in InsuranceType.values else ""

    def page(self, number):
        number = self.validate_number(number)
        months, bottom = self._months((number - 1) * self.per_page)
        rows = _unit_records_page_query(self.insurance_type, len(months)).rows(
            unit=self.unit,
            month_from=self.month_from,
            month_to=self.month_to,
            skip=bottom,
            size=self.per_page,
            **{f"month{index}": month for index, month in enumerate(months)},
        )
        return self._get_page(_record_rows(rows), number, self)


@cache
def _unit_records_page_query(insurance_type: str, months: int) -> CompiledQuery:
    """A page of a unit's records of an insurance type (or any: ""), within ``months`` months
    (or the whole range: 0); each pair compiled once (a range has at most a few dozen months)."""
    names = [f"month{index}" for index in range(months)]

    def build(unit, month_from, month_to, skip, size, **within):
        queryset = _of_type(
            BillLine.objects.filter(employer_id=unit, month__gte=month_from, month__lte=month_to),
            insurance_type,
        )
        if within:
            queryset = queryset.filter(month__in=[within[name] for name in names])
        ids = queryset.order_by(*ROW_ORDER).values("pk")[skip : skip + size]
        return _with_envelope(BillLine.objects.filter(pk__in=ids).order_by(*ROW_ORDER))

    return CompiledQuery(
        build,
        "unit",
        month_from=datetime.date,
        month_to=datetime.date,
        skip=Slice,
        size=Slice,
        **dict.fromkeys(names, datetime.date),
    )


def records_page(
    *, agent, filters: dict, page_number, totals: RecordTotals, queryset: QuerySet | None = None
) -> Page:
    """Return one page of 50 rows of the records the filters select (records_for_agent's, the
    ``queryset`` when given); a bad or too large page number gives the nearest page."""
    if not filters["q"]:
        paginator = UnitRecordPaginator(
            agent.employer_id,
            filters,
            PAGE_SIZE,
            count=totals.rows,
            month_rows=totals.month_rows,
        )
        return paginator.get_page(page_number)
    if queryset is None:
        queryset = records_for_agent(agent, **filters)
    return RecordPaginator(
        queryset.order_by(*ROW_ORDER), PAGE_SIZE, count=totals.rows, month_rows=totals.month_rows
    ).get_page(page_number)


def records_person_get_for_agent(*, agent, person_id: int) -> Person:
    """Return a person the unit has (or had) an enrolment for; 404 otherwise, whether the person
    is missing or known only to another unit."""
    return get_object_or_404(
        Person.objects.filter(
            pk__in=Enrolment.objects.filter(employer_id=agent.employer_id).values("person_id")
        ),
        pk=person_id,
    )


def records_person_find(*, agent, q: str) -> tuple[Person | None, int]:
    """Resolve a name or full document number to one of the unit's persons.

    Returns (person, matches): the person when exactly one of the unit's persons matches.
    A document number of someone the unit never enrolled gives (None, 0): the answer never
    tells whether that person exists elsewhere.
    """
    q = " ".join((q or "").split())
    if not q:
        return None, 0
    if looks_like_document_number(q):
        ids = _document_person_ids(q)
        persons = Person.objects.filter(
            pk__in=ids,
            enrolments__employer_id=agent.employer_id,
        ).distinct()
    else:
        persons = Person.objects.filter(pk__in=_name_person_ids(agent, q))
        # A full name wins over the longer names it begins (周明 rather than 周明桂).
        exact = list(persons.filter(name=q).order_by("pk")[:2])
        if len(exact) == 1:
            return exact[0], 1
    found = list(persons.order_by("pk")[:2])
    if len(found) == 1:
        return found[0], 1
    return None, len(found)


CANDIDATE_LIMIT = 20


def records_person_candidates(*, agent, q: str) -> list[Person]:
    """The unit's persons whose name contains ``q``, to choose from when a name is ambiguous."""
    q = " ".join((q or "").split())
    if not q or looks_like_document_number(q):
        return []
    return list(
        Person.objects.filter(pk__in=_name_person_ids(agent, q))
        .only("pk", "name", "document_number", "document_type")
        .order_by("name", "pk")[:CANDIDATE_LIMIT]
    )
