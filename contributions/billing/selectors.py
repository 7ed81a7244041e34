"""Reads of monthly bills and their payments, always scoped to the asking agent's unit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, IntegerField, QuerySet, Sum, Value, When
from django.shortcuts import get_object_or_404

from contributions.common import TYPE_ORDER
from contributions.models import BillLine, BillStatus, InsuranceType, MonthlyBill, Payment

CENT = Decimal("0.01")
BILL_PAGE_SIZE = 24
LINE_PAGE_SIZE = 100  # lines, i.e. about 25 persons with four insurance types each
# Bills the 缴费确认 page lists: still to be confirmed or paid, or paid without success.
AWAITING_PAYMENT = (BillStatus.ASSESSED, BillStatus.CONFIRMED, BillStatus.DEBIT_FAILED)
# Person columns a bill line never shows: not loading them spares decrypting a phone per line.
LINE_DEFERRED = ("person__phone", "person__created_at", "person__updated_at")


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


def bill_page(queryset: QuerySet, number) -> Page:
    return Paginator(queryset, BILL_PAGE_SIZE).get_page(number)


def bill_get_for_agent(*, agent, reference: str) -> MonthlyBill:
    """One bill of the agent's unit; 404 whether it is missing or another unit's."""
    return get_object_or_404(
        MonthlyBill.objects.select_related("confirmed_by", "employer"),
        reference=reference,
        employer_id=agent.employer_id,
    )


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
    """Employer and personal totals per insurance type, in the usual order (one query)."""
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


def bill_lines_page(bill: MonthlyBill, number) -> Page:
    """A page of the bill's lines, person by person (two queries: count and page)."""
    lines = (
        BillLine.objects.filter(bill=bill)
        .select_related("person")
        .defer(*LINE_DEFERRED)
        .annotate(rank=_type_rank())
        .order_by("person__name", "person_id", "rank")
    )
    return Paginator(lines, LINE_PAGE_SIZE).get_page(number)


def bill_payments(bill: MonthlyBill) -> list[Payment]:
    """The bill's payments, newest first, with the agent who asked for each (one query)."""
    return list(
        Payment.objects.filter(bill=bill)
        .select_related("requested_by")
        .order_by("-requested_at", "-pk")
    )
