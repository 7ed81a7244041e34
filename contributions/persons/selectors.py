"""参保人员查询: find the unit's insured persons, and one person's 个人权益记录 with the unit.

Every read takes the agent and is scoped to the agent's unit: a person is found only through an
enrolment with the unit, and what is shown of them is what happened in this unit (the person's
time with other units belongs to those units). A document number is searched as a whole,
through the blind index; a name in full or by its beginning (周明 finds 周明 and 周明桂).

A month counts as contributed when a settled (已到账) bill line of the unit names it, as on a
proof (contributions.proofs.content). A month outside every approved enrolment is not insured,
never 未缴费.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributions.common import TYPE_ORDER, contribution_types, month_start, months_between
from contributions.models import InsuranceType
from contributions.proofs.content import PROVEN_STATUSES, UNPAID, _settled_lines
from contributions.records.selectors import records_person_get_for_agent
from enrollment.models import Enrolment, InsuranceCode, Person
from enrollment.roster.selectors import looks_like_document_number
from portal.crypto import blind_index

SEARCH_LIMIT = 50

# What a person row never shows: not loading the phone saves decrypting it.
PERSON_DEFERRED = ("phone", "created_at", "updated_at")

PAID, UNPAID_STATE, NOT_INSURED, FUTURE = "paid", "unpaid", "not_insured", "future"
CELL_TEXT = {PAID: _("已缴费"), UNPAID_STATE: _(UNPAID), NOT_INSURED: _("未参保"), FUTURE: ""}


def _current_enrolment(enrolments: list[Enrolment]) -> Enrolment:
    """The open enrolment (at most one per person), else the one that started last."""
    open_ones = [e for e in enrolments if e.status in Enrolment.OPEN_STATUSES]
    return max(open_ones or enrolments, key=lambda e: (e.start_month, e.pk))


def _insurance_labels(enrolment: Enrolment) -> list[str]:
    return [
        str(InsuranceCode(code).label)
        for code in enrolment.insurance_codes
        if code in InsuranceCode.values
    ]


# Search -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonMatch:
    person: Person
    enrolment: Enrolment  # the current one with the unit


@dataclass(frozen=True)
class PersonSearch:
    q: str = ""
    by_number: bool = False
    matches: list[PersonMatch] = field(default_factory=list)
    more: bool = False  # more than SEARCH_LIMIT persons matched; the first ones are shown


def person_search_for_agent(*, agent, q: str, limit: int = SEARCH_LIMIT) -> PersonSearch:
    """The unit's persons whose full document number is ``q``, or whose name is ``q`` or starts
    with it, by name; each with their current enrolment with the unit (two queries)."""
    q = " ".join((q or "").split())
    if not q:
        return PersonSearch()
    persons = Person.objects.filter(
        pk__in=Enrolment.objects.filter(employer_id=agent.employer_id).values("person_id")
    ).defer(*PERSON_DEFERRED)
    by_number = looks_like_document_number(q)
    if by_number:
        number = q.replace(" ", "").upper()
        persons = persons.filter(document_index=blind_index("document_number", number))
    elif q.isascii():
        persons = persons.filter(name__istartswith=q)  # a foreigner's Latin name
    else:
        persons = persons.filter(name__startswith=q)
    found = list(persons.order_by("name", "pk")[: limit + 1])
    more = len(found) > limit
    found = found[:limit]
    by_person: dict[int, list[Enrolment]] = {}
    if found:
        for enrolment in Enrolment.objects.filter(
            employer_id=agent.employer_id, person_id__in=[person.pk for person in found]
        ).only("person_id", "status", "start_month"):
            by_person.setdefault(enrolment.person_id, []).append(enrolment)
    matches = [
        PersonMatch(person, _current_enrolment(by_person[person.pk]))
        for person in found
        if person.pk in by_person
    ]
    return PersonSearch(q=q, by_number=by_number, matches=matches, more=more)


# 个人权益记录 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolmentRow:
    enrolment: Enrolment
    end_month: datetime.date | None  # the last month of an ended enrolment
    insurance_labels: list[str]


@dataclass(frozen=True)
class TypeSummary:
    insurance_type: str
    label: str
    months: int
    first: datetime.date | None
    last: datetime.date | None


@dataclass(frozen=True)
class MonthCell:
    insurance_type: str
    state: str  # PAID, UNPAID_STATE, NOT_INSURED or FUTURE

    @property
    def text(self) -> str:
        return str(CELL_TEXT[self.state])


@dataclass(frozen=True)
class MonthRow:
    month: datetime.date
    cells: list[MonthCell]


@dataclass(frozen=True)
class PersonRights:
    person: Person
    current: Enrolment
    enrolments: list[EnrolmentRow]
    insurance_labels: list[str]  # of the current enrolment
    types: list[tuple[str, str]]  # (insurance type, label) of the columns, in TYPE_ORDER
    summary: list[TypeSummary]
    year: int
    years: list[int]  # the years the person was insured with the unit
    months: list[MonthRow]


def _end_month(enrolment: Enrolment) -> datetime.date | None:
    if enrolment.status != Enrolment.Status.TERMINATED:
        return None
    end = enrolment.last_contribution_month or enrolment.ended_on or enrolment.start_month
    return month_start(end)


def _covered(rows: list[EnrolmentRow], this_month: datetime.date) -> dict[str, list[tuple]]:
    """Per insurance type, the (first, last) months of the approved enrolments that include it."""
    spans: dict[str, list[tuple]] = {}
    for row in rows:
        enrolment = row.enrolment
        if enrolment.status not in PROVEN_STATUSES:
            continue  # pending or cancelled: never insured by it
        last = row.end_month or this_month
        for kind in contribution_types(enrolment.insurance_codes):
            spans.setdefault(kind, []).append((enrolment.start_month, last))
    return spans


def _year_months(
    year: int, types: list[str], paid: set, spans: dict, this_month: datetime.date
) -> list[MonthRow]:
    rows = []
    for month in months_between(datetime.date(year, 1, 1), datetime.date(year, 12, 1)):
        cells = []
        for kind in types:
            if (month, kind) in paid:
                state = PAID
            elif month > this_month:
                state = FUTURE
            elif any(first <= month <= last for first, last in spans.get(kind, ())):
                state = UNPAID_STATE
            else:
                state = NOT_INSURED
            cells.append(MonthCell(kind, state))
        rows.append(MonthRow(month, cells))
    return rows


def person_rights_get_for_agent(*, agent, person_id: int, year: int | None = None) -> PersonRights:
    """One person's 个人权益记录 with the agent's unit: enrolments, months contributed per
    insurance type, and the months of ``year`` (default: this year, or the person's last year
    with the unit when that was earlier). 404 unless the person has or had an enrolment with the
    unit, whether the person is missing or known only to another unit."""
    person = records_person_get_for_agent(agent=agent, person_id=person_id)
    enrolments = list(
        Enrolment.objects.filter(employer_id=agent.employer_id, person_id=person.pk)
        .select_related("employment_form")
        .order_by("start_month", "pk")
    )
    rows = [EnrolmentRow(e, _end_month(e), _insurance_labels(e)) for e in enrolments]
    this_month = month_start(timezone.localdate())
    # One query: every (month, type) with a settled line of the unit, over the person's time.
    paid = set(
        _settled_lines(agent.employer_id, enrolments[0].start_month, this_month)
        .filter(person_id=person.pk)
        .values_list("month", "insurance_type")
        .distinct()
    )
    spans = _covered(rows, this_month)
    wanted = set(spans) | {kind for _month, kind in paid}
    types = [kind for kind in TYPE_ORDER if kind in wanted]
    labels = dict(InsuranceType.choices)
    summary = []
    for kind in types:
        months = sorted(month for month, paid_kind in paid if paid_kind == kind)
        summary.append(
            TypeSummary(
                kind,
                str(labels[kind]),
                len(months),
                months[0] if months else None,
                months[-1] if months else None,
            )
        )
    insured_months = [m for spans_of in spans.values() for span in spans_of for m in span]
    insured_months += [month for month, _kind in paid]
    years = (
        list(range(min(insured_months).year, max(insured_months).year + 1))
        if insured_months
        else [this_month.year]
    )
    if year is None:
        year = this_month.year if this_month.year in years else years[-1]
    current = _current_enrolment(enrolments)
    return PersonRights(
        person=person,
        current=current,
        enrolments=rows,
        insurance_labels=_insurance_labels(current),
        types=[(kind, str(labels[kind])) for kind in types],
        summary=summary,
        year=year,
        years=years,
        months=_year_months(year, types, paid, spans, this_month),
    )
