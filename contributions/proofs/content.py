"""What a proof states: only contributions that reached 已到账, frozen at issue, names masked."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext_noop

from contributions.common import TYPE_ORDER, months_between
from contributions.models import (
    BillKind,
    BillLine,
    BillStatus,
    ContributionProof,
    InsuranceType,
    MonthlyBill,
)
from enrollment.models import Enrolment, InsuranceCode, Person
from portal.identifiers import mask_id_number, mask_name
from portal.pdf import in_form_language

UNPAID = gettext_noop("未缴费/未到账")  # stored Chinese in a proof; translated on the person page


ZERO = Decimal("0.00")
# Bills whose lines hold whole bases (a supplement's hold differences): the regular bill and the
# 补缴申请 bills of months the person was not otherwise billed for.
WHOLE_BASE_KINDS = (BillKind.REGULAR, BillKind.BACKPAY)


# Enrolments a proof can speak for: approved ones, current or ended (not pending or cancelled).
PROVEN_STATUSES = (
    Enrolment.Status.ACTIVE,
    Enrolment.Status.SUSPENDED,
    Enrolment.Status.TERMINATED,
)


def _month_text(month: datetime.date | None) -> str:
    return f"{month:%Y-%m}" if month else ""


def _money(value) -> str:
    return f"{(value or ZERO).quantize(Decimal('0.01'))}"


def _type_label(insurance_type: str) -> str:
    return str(InsuranceType(insurance_type).label)


def _ordered_types(types) -> list[str]:
    return [kind for kind in TYPE_ORDER if kind in types]


def _enrolment_entry(enrolment: Enrolment) -> dict:
    end = ""
    if enrolment.status == Enrolment.Status.TERMINATED:
        end = _month_text(enrolment.last_contribution_month or enrolment.ended_on)
    return {
        "start_month": _month_text(enrolment.start_month),
        "end_month": end,
        "status": str(enrolment.get_status_display()),
        "insurance": [
            str(InsuranceCode(code).label)
            for code in enrolment.insurance_codes
            if code in InsuranceCode.values
        ],
    }


def _settled_lines(employer_id: int, month_from, month_to) -> QuerySet[BillLine]:
    return BillLine.objects.filter(
        employer_id=employer_id,
        month__gte=month_from,
        month__lte=month_to,
        bill__status=BillStatus.SETTLED,
        # The same unit, said of the bill too: the join then reads the unit's bills through
        # their (employer, month) index instead of every settled bill in the province.
        bill__employer_id=employer_id,
        bill__month__gte=month_from,
        bill__month__lte=month_to,
    )


def _months_and_totals(month_from, month_to, cells: dict, *, unit: bool) -> dict:
    """Lay the (month, insurance type) cells out month by month and add up the totals."""
    months, paid = [], 0
    by_type = defaultdict(lambda: [ZERO, ZERO])
    for month in months_between(month_from, month_to):
        types = _ordered_types({kind for (m, kind) in cells if m == month})
        if not types:
            months.append({"month": _month_text(month), "paid": False, "note": UNPAID})
            continue
        paid += 1
        items, employer_sum, personal_sum = [], ZERO, ZERO
        for kind in types:
            cell = cells[(month, kind)]
            employer_sum += cell["employer"]
            personal_sum += cell["personal"]
            by_type[kind][0] += cell["employer"]
            by_type[kind][1] += cell["personal"]
            item = {
                "type": kind,
                "label": _type_label(kind),
                "base": _money(cell["base"]),
                "employer": _money(cell["employer"]),
                "personal": _money(cell["personal"]),
                "total": _money(cell["employer"] + cell["personal"]),
            }
            if unit:
                item["persons"] = cell["persons"]
            items.append(item)
        months.append(
            {
                "month": _month_text(month),
                "paid": True,
                "items": items,
                "employer": _money(employer_sum),
                "personal": _money(personal_sum),
                "total": _money(employer_sum + personal_sum),
            }
        )
    totals_by_type = [
        {
            "type": kind,
            "label": _type_label(kind),
            "employer": _money(by_type[kind][0]),
            "personal": _money(by_type[kind][1]),
            "total": _money(by_type[kind][0] + by_type[kind][1]),
        }
        for kind in _ordered_types(by_type)
    ]
    employer_total = sum((value[0] for value in by_type.values()), ZERO)
    personal_total = sum((value[1] for value in by_type.values()), ZERO)
    return {
        "months": months,
        "paid_months": paid,
        "unpaid_months": len(months) - paid,
        "totals": {
            "by_type": totals_by_type,
            "employer": _money(employer_total),
            "personal": _money(personal_total),
            "total": _money(employer_total + personal_total),
        },
    }


def _unit_entry(employer) -> dict:
    return {"name": employer.name, "ss_number": employer.ss_number}


@in_form_language
def proof_content_person(*, employer, person: Person, month_from, month_to) -> dict:
    """What a person's proof states (masked name and number), from settled lines (one query)."""
    cells: dict = {}
    rows = (
        _settled_lines(employer.pk, month_from, month_to)
        .filter(person_id=person.pk)
        .values_list(
            "month",
            "insurance_type",
            "base",
            "employer_amount",
            "personal_amount",
            "bill__kind",
        )
        .order_by("month", "bill__sequence", "pk")
    )
    for month, kind, base, employer_amount, personal_amount, bill_kind in rows:
        cell = cells.setdefault(
            (month, kind), {"base": None, "employer": ZERO, "personal": ZERO, "regular": False}
        )
        cell["employer"] += employer_amount
        cell["personal"] += personal_amount
        if bill_kind in WHOLE_BASE_KINDS or not cell["regular"]:
            cell["base"] = base
            cell["regular"] = cell["regular"] or bill_kind in WHOLE_BASE_KINDS
    enrolments = getattr(person, "proof_enrolments", None)
    if enrolments is None:
        enrolments = list(
            Enrolment.objects.filter(
                employer_id=employer.pk, person_id=person.pk, status__in=PROVEN_STATUSES
            ).order_by("start_month", "pk")
        )
    return {
        "version": 1,
        "kind": ContributionProof.Kind.PERSON.value,
        "unit": _unit_entry(employer),
        "person": {
            "name": mask_name(person.name),
            "document_type": str(person.get_document_type_display()),
            "document_number": mask_id_number(person.document_number),
        },
        "enrolments": [_enrolment_entry(enrolment) for enrolment in enrolments],
        "month_from": _month_text(month_from),
        "month_to": _month_text(month_to),
        **_months_and_totals(month_from, month_to, cells, unit=False),
    }


def _bill_groups(employer_id: int, month_from, month_to) -> dict[tuple, dict]:
    """Per (line month, insurance type, bill kind) of the unit's settled bills of the range:
    the sums of base and amounts, the lines and the bills they come from.

    Read from the bills' stored sums (MonthlyBill.line_sums, written with the lines by
    contributions.billing.engine), so the cost follows the bills, not their lines; a bill
    without them (none is made so; a bill without lines has none) is summed from its lines.
    A bill's lines are of its unit (BillLine.employer is the bill's, denormalised)."""
    groups: dict[tuple, dict] = {}

    def add(key, bill_id, lines, base, employer_amount, personal_amount):
        group = groups.setdefault(
            key, {"base": ZERO, "employer": ZERO, "personal": ZERO, "lines": 0, "bills": set()}
        )
        group["base"] += base
        group["employer"] += employer_amount
        group["personal"] += personal_amount
        group["lines"] += lines
        group["bills"].add(bill_id)

    bills = MonthlyBill.objects.filter(
        employer_id=employer_id,
        month__gte=month_from,
        month__lte=month_to,
        status=BillStatus.SETTLED,
    ).values_list("pk", "kind", "line_sums")
    missing = {}
    for bill_id, bill_kind, sums in bills:
        if not sums:
            missing[bill_id] = bill_kind
            continue
        for month_text, types in sums.items():
            month = datetime.date.fromisoformat(month_text)
            if not month_from <= month <= month_to:
                continue
            for kind, (lines, base, employer_amount, personal_amount) in types.items():
                add(
                    (month, kind, bill_kind),
                    bill_id,
                    lines,
                    Decimal(base),
                    Decimal(employer_amount),
                    Decimal(personal_amount),
                )
    if missing:
        rows = (
            _settled_lines(employer_id, month_from, month_to)
            .filter(bill_id__in=list(missing))
            .order_by()
            .values("bill_id", "month", "insurance_type")
            .annotate(
                lines=Count("*"),
                base_sum=Sum("base"),
                employer_sum=Sum("employer_amount"),
                personal_sum=Sum("personal_amount"),
            )
        )
        for row in rows:
            add(
                (row["month"], row["insurance_type"], missing[row["bill_id"]]),
                row["bill_id"],
                row["lines"],
                row["base_sum"],
                row["employer_sum"],
                row["personal_sum"],
            )
    return groups


@in_form_language
def proof_content_unit(*, employer, month_from, month_to) -> dict:
    """What a unit's proof states, from the sums its settled bills keep (two queries at any
    size, three in the rare case below; one more for bills without stored sums).

    The persons per month, type and bill kind are distinct persons. A bill holds one line per
    enrolment and insurance type, so where each group's lines come from one bill and no person
    has two enrolments in the unit, lines are persons. Else the exact COUNT(DISTINCT person)
    runs on the lines (a third query): of the groups' bills when a group's lines come from
    several bills (the 补缴申请 bills of a month, one person each), of the whole range when a
    person has two enrolments.
    """
    cells: dict = {}
    groups = _bill_groups(employer.pk, month_from, month_to)
    staff = Enrolment.objects.filter(employer_id=employer.pk).aggregate(
        insured=Count("pk", filter=Q(status=Enrolment.Status.ACTIVE)),
        enrolments=Count("pk"),
        persons=Count("person_id", distinct=True),
    )
    persons = {key: group["lines"] for key, group in groups.items()}
    shared = [key for key, group in groups.items() if len(group["bills"]) > 1]
    if staff["persons"] != staff["enrolments"] or shared:
        lines = _settled_lines(employer.pk, month_from, month_to)
        if staff["persons"] == staff["enrolments"]:  # only the groups of several bills
            bill_ids = set().union(*(groups[key]["bills"] for key in shared))
            lines = lines.filter(bill_id__in=sorted(bill_ids))
            counted = set(shared)
        else:
            counted = set(groups)
        for row in (
            lines.order_by()
            .values("month", "insurance_type", "bill__kind")
            .annotate(persons=Count("person_id", distinct=True))
        ):
            key = (row["month"], row["insurance_type"], row["bill__kind"])
            if key in counted:
                persons[key] = row["persons"]
    for (month, kind, bill_kind), group in sorted(groups.items()):
        cell = cells.setdefault(
            (month, kind),
            {"base": None, "employer": ZERO, "personal": ZERO, "persons": 0, "regular": False},
        )
        cell["employer"] += group["employer"]
        cell["personal"] += group["personal"]
        if bill_kind in WHOLE_BASE_KINDS:
            if not cell["regular"]:  # drop what a supplement's differences said
                cell["base"], cell["persons"], cell["regular"] = ZERO, 0, True
            # The regular bill's and the 补缴申请 bills' persons of a month are different people.
            cell["base"] += group["base"]
            cell["persons"] += persons[(month, kind, bill_kind)]
        elif not cell["regular"]:
            cell["base"] = group["base"]
            cell["persons"] = persons[(month, kind, bill_kind)]
    insured = staff["insured"]
    return {
        "version": 1,
        "kind": ContributionProof.Kind.UNIT.value,
        "unit": {**_unit_entry(employer), "insured_now": insured},
        "month_from": _month_text(month_from),
        "month_to": _month_text(month_to),
        **_months_and_totals(month_from, month_to, cells, unit=True),
    }
