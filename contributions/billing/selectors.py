"""Reads of monthly bills and their payments, always scoped to the asking agent's unit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.core.paginator import Page, Paginator
from django.db import router
from django.db.models import (
    Case,
    Count,
    IntegerField,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.http import Http404
from django.urls import reverse
from django.utils.formats import localize
from django.utils.functional import cached_property

from contributions.common import TYPE_ORDER, MaskedDocuments
from contributions.models import (
    BillKind,
    BillLine,
    BillStatus,
    InsuranceType,
    MonthlyBill,
    Payment,
)
from portal.compiled_sql import CompiledQuery
from portal.crypto import as_stored
from portal.templatetags.portal_tags import money, percent

CENT = Decimal("0.01")
BILL_PAGE_SIZE = 24
LINE_PAGE_SIZE = 100  # lines, i.e. about 25 persons with four insurance types each
# Bills the 缴费确认 page lists: still to be confirmed or paid, or paid without success.
AWAITING_PAYMENT = (BillStatus.ASSESSED, BillStatus.CONFIRMED, BillStatus.DEBIT_FAILED)


def _type_rank():
    return Case(
        *[When(insurance_type=kind, then=Value(rank)) for rank, kind in enumerate(TYPE_ORDER)],
        default=Value(len(TYPE_ORDER)),
        output_field=IntegerField(),
    )


def bill_list_for_agent(*, agent, awaiting: bool = False) -> QuerySet[MonthlyBill]:
    """The unit's bills, newest month first (one query per page; no joins)."""
    queryset = MonthlyBill.objects.filter(employer_id=agent.employer_id)
    if awaiting:
        queryset = queryset.filter(status__in=AWAITING_PAYMENT)
    return queryset.order_by("-month", "kind", "sequence", "-pk")


class BillPaginator(Paginator):
    """The unit's bills (bill_list_for_agent's). The first page is read with one bill more than
    it shows: a unit with no more bills than a page (two years of monthly bills) then needs no
    COUNT query; and its query is compiled once per process (the bills' list is the page most
    often opened), the other pages' and the COUNT are built when asked for."""

    def __init__(self, *, agent, awaiting: bool, per_page: int):
        super().__init__([], per_page)
        self.agent, self.awaiting = agent, awaiting

    @cached_property
    def bills(self) -> QuerySet[MonthlyBill]:
        return bill_list_for_agent(agent=self.agent, awaiting=self.awaiting)

    @cached_property
    def count(self) -> int:
        return self.bills.count()

    def page(self, number):
        if number in (1, "1"):  # get_page() asks for page 1 when the number is missing or bad
            bills = _BILL_LISTS[self.awaiting].instances(
                unit=self.agent.employer_id, limit=self.per_page + 1
            )
            if len(bills) <= self.per_page:
                self.__dict__["count"] = len(bills)  # Paginator.count is a cached_property
            return self._get_page(bills[: self.per_page], 1, self)
        self.object_list = self.bills
        return super().page(number)


_BILL_LISTS = {
    awaiting: CompiledQuery(
        lambda unit, awaiting=awaiting: bill_list_for_agent(
            agent=_Unit(employer_id=unit), awaiting=awaiting
        ),
        "unit",
    )
    for awaiting in (False, True)
}


class _Unit(NamedTuple):
    """What bill_list_for_agent reads of an agent."""

    employer_id: int


def bill_page(*, agent, awaiting: bool = False, number) -> Page:
    """A page of 24 of the unit's bills (all, or those awaiting payment); a bad or too large
    page number gives the nearest page."""
    return BillPaginator(agent=agent, awaiting=awaiting, per_page=BILL_PAGE_SIZE).get_page(number)


# The badge of a bill's status on the bills' list (any other status: text-bg-warning).
BILL_LIST_BADGES = {
    BillStatus.SETTLED: "text-bg-success",
    BillStatus.DEBIT_FAILED: "text-bg-danger",
    BillStatus.DEBITED: "text-bg-info",
    BillStatus.CONFIRMED: "text-bg-primary",
}


class BillListRow(NamedTuple):
    """One bill as the bills' list shows it: what {{ bill.… }} printed there, as text."""

    url: str
    month: str
    kind_label: str
    sequence: str  # "" without a sequence number
    person_count: str
    employer_total: str
    personal_total: str
    total: str
    badge: str
    status: str
    status_label: str
    due_on: str


def _day(day) -> str:
    """{{ day|date:"Y-m-d" }} of a date (the filter's Y, m and d: %04d, %02d, %02d)."""
    return "" if day is None else f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


def bill_list_rows(bills) -> list[BillListRow]:
    """Display rows of a page of bills: the kinds' and statuses' labels translated once a page,
    not read through get_…_display() once a bill, each field as the template printed it."""
    kinds = {kind: str(label) for kind, label in BillKind.choices}
    statuses = {status: str(label) for status, label in BillStatus.choices}
    return [
        BillListRow(
            url=reverse("contributions:bill_detail", args=[bill.reference]),
            month="" if bill.month is None else f"{bill.month.year:04d}-{bill.month.month:02d}",
            kind_label=kinds.get(bill.kind, bill.kind),
            sequence=str(localize(bill.sequence)) if bill.sequence else "",
            person_count=str(localize(bill.person_count)),
            employer_total=money(bill.employer_total),
            personal_total=money(bill.personal_total),
            total=money(bill.total),
            badge=BILL_LIST_BADGES.get(bill.status, "text-bg-warning"),
            status=str(localize(bill.status)),
            status_label=statuses.get(bill.status, bill.status),
            due_on=_day(bill.due_on),
        )
        for bill in bills
    ]


def _bill_of_unit(unit: int, reference: str) -> QuerySet[MonthlyBill]:
    return (
        MonthlyBill.objects.select_related("confirmed_by", "employer")
        .filter(reference=reference, employer_id=unit)
        .order_by()  # as get() reads it
    )


# One bill of a unit with its unit and confirming agent, compiled once per process (the bill's
# page is among the most opened; building and compiling the query cost more than running it).
_BILL_OF_UNIT = CompiledQuery(_bill_of_unit, "unit", reference=str)


def bill_get_for_agent(*, agent, reference: str) -> MonthlyBill:
    """One bill of the agent's unit; 404 whether it is missing or another unit's (with
    get_object_or_404's message; the reference is unique: one row at most)."""
    found = _BILL_OF_UNIT.related_instances(limit=1, unit=agent.employer_id, reference=reference)
    if not found:
        raise Http404(f"No {MonthlyBill._meta.object_name} matches the given query.")
    return found[0]


def bill_by_id_for_agent(*, agent, bill_id: int | None) -> MonthlyBill | None:
    """The unit's bill with this id (as a generation task returns it); None when there is no id,
    or the bill is missing or another unit's."""
    if bill_id is None:
        return None
    return bill_list_for_agent(agent=agent).filter(pk=bill_id).first()


def bill_exists_for_agent(*, agent, reference: str) -> bool:
    """Whether the agent's unit has a bill with this reference."""
    return MonthlyBill.objects.filter(reference=reference, employer_id=agent.employer_id).exists()


@dataclass(frozen=True)
class TypeTotal:
    insurance_type: str
    label: str
    persons: int
    employer: Decimal
    personal: Decimal

    @property
    def total(self) -> Decimal:
        return self.employer + self.personal


def bill_type_totals(bill: MonthlyBill) -> list[TypeTotal]:
    """Employer and personal totals per insurance type, in the usual order.

    The billing engine stores them with the lines (MonthlyBill.type_totals: lines, employer and
    personal sums per type; a bill has one line per enrolment and type, so lines are persons):
    no query. A bill without them is summed from its lines (one query, a GROUP BY on its lines).
    """
    if bill.type_totals:
        labels = dict(InsuranceType.choices)
        return [
            TypeTotal(
                insurance_type=kind,
                label=str(labels.get(kind, kind)),
                persons=int(bill.type_totals[kind][0]),
                employer=Decimal(bill.type_totals[kind][1]).quantize(CENT),
                personal=Decimal(bill.type_totals[kind][2]).quantize(CENT),
            )
            for kind in sorted(bill.type_totals, key=_type_position)
        ]
    rows = (
        BillLine.objects.filter(bill=bill)
        .values("insurance_type")
        .annotate(
            persons=Count("enrolment", distinct=True),
            employer=Sum("employer_amount"),
            personal=Sum("personal_amount"),
            rank=_type_rank(),
        )
        .order_by("rank")
    )
    return [
        TypeTotal(
            insurance_type=row["insurance_type"],
            label=str(InsuranceType(row["insurance_type"]).label),
            persons=row["persons"],
            employer=(row["employer"] or Decimal("0")).quantize(CENT),
            personal=(row["personal"] or Decimal("0")).quantize(CENT),
        )
        for row in rows
    ]


def _type_position(kind: str) -> int:
    return TYPE_ORDER.index(kind) if kind in TYPE_ORDER else len(TYPE_ORDER)


def _line_page(bill: int) -> QuerySet:
    """A bill's lines (BillLineRow.COLUMNS) in page order: person name, person, insurance type,
    as the billing engine numbered them (BillLine.position)."""
    return (
        BillLine.objects.filter(bill_id=bill)
        .annotate(document_envelope=as_stored("person__document_number"))
        .order_by("position")
        .values_list(*BillLineRow.COLUMNS)
    )


# The page, compiled once per process (building and compiling the query cost the ORM about as
# much as PostgreSQL takes to run it); its LIMIT and OFFSET are parameters (rows()).
_LINE_PAGE = CompiledQuery(_line_page, "bill")


class BillLinePaginator(Paginator):
    """A page of a bill's lines in person-name order, whose cost follows the page, not the bill.

    The billing engine numbers each bill's lines in page order when it writes them
    (BillLine.position): a page reads its lines through the (bill, position) index, each with
    its person by primary key, instead of reading every line's person and sorting them all.
    """

    def __init__(self, bill: MonthlyBill, per_page: int):
        super().__init__([], per_page)
        self.bill = bill
        if bill.type_totals:
            # The engine writes the lines' count per type with the lines: no COUNT query.
            count = sum(int(entry[0]) for entry in bill.type_totals.values())
            self.__dict__["count"] = count  # Paginator.count is a cached_property

    @cached_property
    def count(self) -> int:
        """The bill's lines (one COUNT query), for a bill without per-type totals."""
        return BillLine.objects.filter(bill=self.bill).count()

    def page(self, number):
        number = self.validate_number(number)
        rows = _LINE_PAGE.rows(
            router.db_for_read(BillLine),
            limit=self.per_page,
            offset=(number - 1) * self.per_page,
            bill=self.bill.pk,
        )
        return self._get_page(bill_line_rows(rows), number, self)


class BillLineRow(NamedTuple):
    """One line of a bill as its detail page shows it: amounts and rates already formatted."""

    enrolment_id: int
    first_of_person: bool  # the page shows name and document number on a person's first line
    name: str
    masked_document_number: str
    type_label: str
    base: str
    employer_rate: str
    employer_amount: str
    personal_rate: str
    personal_amount: str

    # The columns bill_line_rows reads, in its order (no model instances: no phone decrypted);
    # the document number's envelope last (an annotation: portal.crypto.as_stored).
    COLUMNS = (
        "enrolment_id",
        "person__name",
        "insurance_type",
        "base",
        "employer_rate",
        "employer_amount",
        "personal_rate",
        "personal_amount",
        "document_envelope",
    )


def bill_line_rows(rows) -> list[BillLineRow]:
    """Display rows of a page's bill lines (tuples of BillLineRow.COLUMNS, a person's lines
    together): the insurance-type labels translated once a page, not once a line, each rate and
    base formatted once a page (a page has a few rates, and a person's lines share a base) and
    each person's document number decrypted and masked once."""
    labels = {kind: str(label) for kind, label in InsuranceType.choices}
    masked = MaskedDocuments()
    rates: dict = {}
    # Equal bases print alike (money() formats the value to two places): Decimal("3000") and
    # Decimal("3000.00") may share an entry.
    bases: dict = {}

    def rate(value) -> str:
        text = rates.get(value)
        if text is None:
            text = rates[value] = percent(value)
        return text

    def base_text(value) -> str:
        text = bases.get(value)
        if text is None:
            text = bases[value] = money(value)
        return text

    make = BillLineRow._make
    lines, last = [], None
    for (
        enrolment_id,
        name,
        kind,
        base,
        employer_rate,
        employer_amount,
        personal_rate,
        personal_amount,
        document_envelope,
    ) in rows:
        # In BillLineRow's field order (positional: a page makes a hundred).
        lines.append(
            make(
                (
                    enrolment_id,
                    enrolment_id != last,
                    name,
                    masked(document_envelope),
                    labels.get(kind, kind),
                    base_text(base),
                    rate(employer_rate),
                    money(employer_amount),
                    rate(personal_rate),
                    money(personal_amount),
                )
            )
        )
        last = enrolment_id
    return lines


def bill_lines_page(bill: MonthlyBill, number) -> Page:
    """A page of the bill's lines, person by person (one query; a COUNT too for a bill
    without per-type totals)."""
    return BillLinePaginator(bill, LINE_PAGE_SIZE).get_page(number)


def _bill_payments(bill: int) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(bill_id=bill)
        .select_related("requested_by")
        .order_by("-requested_at", "-pk")
    )


# Compiled once per process: the bill's page reads them each time it is opened.
_BILL_PAYMENTS = CompiledQuery(_bill_payments, "bill")


def bill_payments(bill: MonthlyBill) -> list[Payment]:
    """The bill's payments, newest first, with the agent who asked for each (one query)."""
    return _BILL_PAYMENTS.related_instances(bill=bill.pk)
