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

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from contributions.common import TYPE_ORDER
from contributions.models import (
    BaseDeclaration,
    BaseDeclarationLine,
    BillKind,
    BillLine,
    BillStatus,
    ContributionBase,
    InsuranceType,
    MonthlyBill,
    Payment,
    PolicyPeriod,
)
from enrollment.models import AddEmployeeFiling, Enrolment, Person
from enrollment.roster.selectors import looks_like_document_number
from portal.crypto import blind_index
from portal.models import OPEN_REVIEW_STATES, ReviewState

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
    bills = list(
        MonthlyBill.objects.filter(
            employer_id=agent.employer_id, month__gte=month_from, month__lte=month_to
        ).values("pk", "month", "type_totals")
    )
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


def record_rows(queryset: QuerySet) -> QuerySet:
    """Load what a record row shows (person, bill status) in the same query."""
    return (
        queryset.select_related("person", "bill")
        .only(
            "month",
            "insurance_type",
            "base",
            "employer_rate",
            "personal_rate",
            "employer_amount",
            "personal_amount",
            "person__name",
            "person__document_type",
            "person__document_number",
            "bill__reference",
            "bill__kind",
            "bill__status",
        )
        .order_by(*ROW_ORDER)
    )


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

    def _window(self, bottom: int) -> tuple[QuerySet, int]:
        if not self.month_rows:
            return self.object_list, bottom
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
            return self.object_list, bottom
        return self.object_list.filter(month__in=months), bottom - skipped

    def page(self, number):
        number = self.validate_number(number)
        queryset, bottom = self._window((number - 1) * self.per_page)
        ids = queryset.order_by(*ROW_ORDER).values("pk")[bottom : bottom + self.per_page]
        rows = record_rows(BillLine.objects.filter(pk__in=ids))
        return self._get_page(list(rows), number, self)


def records_page(queryset: QuerySet, page_number, *, totals: RecordTotals) -> Page:
    """Return one page of 50 rows; a bad or too large page number gives the nearest page."""
    return RecordPaginator(
        queryset.order_by(*ROW_ORDER), PAGE_SIZE, count=totals.rows, month_rows=totals.month_rows
    ).get_page(page_number)


# Persons ------------------------------------------------------------------------------------


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
    found = list(persons.order_by("pk")[:2])
    if len(found) == 1:
        return found[0], 1
    return None, len(found)


# Why a record is missing ---------------------------------------------------------------------


@dataclass(frozen=True)
class Cause:
    """Why a person has no (settled) record for a month; ``code`` is one of the CAUSE_* names."""

    code: str
    message: str
    details: list[str] = field(default_factory=list)


CAUSE_NO_ENROLMENT = "no_enrolment"  # (a)
CAUSE_ENROLMENT_PENDING = "enrolment_pending"  # (b)
CAUSE_BASE_NOT_DECLARED = "base_not_declared"  # (c)
CAUSE_BILL_NOT_GENERATED = "bill_not_generated"  # (d)
CAUSE_BILL_NOT_PAID = "bill_not_paid"  # (e)
CAUSE_SETTLING = "settling"  # (f)
CAUSE_UNKNOWN = "unknown"  # (g)
CAUSE_SETTLED = "settled"  # nothing is missing

UNPAID_STATUSES = (BillStatus.ASSESSED, BillStatus.CONFIRMED, BillStatus.DEBIT_FAILED)


def _covers(enrolment: Enrolment, month: datetime.date) -> bool:
    """Whether the enrolment is (or was) in force in the month."""
    if enrolment.start_month > month:
        return False
    if enrolment.status == Enrolment.Status.CANCELLED:
        return False
    if enrolment.status == Enrolment.Status.TERMINATED:
        last = enrolment.last_contribution_month or (
            enrolment.ended_on.replace(day=1) if enrolment.ended_on else None
        )
        return last is None or last >= month
    return True


def _filing_state(filing: AddEmployeeFiling) -> str:
    return str(ReviewState(filing.review_state).label) if filing.review_state else _("未提交")


def _month_text(month: datetime.date) -> str:
    return f"{month:%Y-%m}"


def _bill_records_cause(bills: list[MonthlyBill], month: datetime.date) -> Cause:
    """(e), (f) or settled, from the least advanced bill the person's lines of the month are in."""
    unpaid = [bill for bill in bills if bill.status in UNPAID_STATUSES]
    if unpaid:
        bill = unpaid[0]
        details = [
            _("核定单号 %(reference)s,状态:%(status)s,缴费截止日 %(due)s")
            % {
                "reference": bill.reference,
                "status": bill.get_status_display(),
                "due": f"{bill.due_on:%Y-%m-%d}",
            }
        ]
        if bill.status == BillStatus.DEBIT_FAILED:
            failed = (
                Payment.objects.filter(bill=bill, status=Payment.Status.FAILED)
                .order_by("-requested_at")
                .first()
            )
            if failed is not None and failed.failure_message:
                details.append(_("扣款失败原因:%s") % failed.failure_message)
            details.append(_("请确认缴费账户余额充足后,在“月度核定”中重新发起扣款。"))
        elif bill.status == BillStatus.ASSESSED:
            details.append(_("请在“月度核定”中确认核定单并发起扣款。"))
        return Cause(CAUSE_BILL_NOT_PAID, _("费款已核定但尚未缴纳"), details)
    debited = [bill for bill in bills if bill.status == BillStatus.DEBITED]
    if debited:
        bill = debited[0]
        payment = (
            Payment.objects.filter(bill=bill, status=Payment.Status.DEBITED)
            .order_by("-requested_at")
            .first()
        )
        expected = payment.expected_settle_on if payment is not None else None
        if expected is not None:
            message = _("银行扣款已完成,预计 %s 到账") % f"{expected:%Y-%m-%d}"
        else:
            message = _("银行扣款已完成,正在等待到账")
        return Cause(
            CAUSE_SETTLING,
            message,
            [_("核定单号 %s,到账后缴费记录状态变为“已到账”。") % bill.reference],
        )
    return Cause(CAUSE_SETTLED, _("%s 的缴费记录已到账") % _month_text(month))


def missing_record_cause_unknown_person() -> Cause:
    """Cause (a) for a document number the unit never enrolled; nothing about elsewhere."""
    return Cause(CAUSE_NO_ENROLMENT, _("该人员在本单位该月无参保登记"))


def missing_record_cause(*, agent, person: Person, month: datetime.date) -> Cause:
    """Say why ``person`` has no settled record with the agent's unit for ``month``.

    The causes are checked against the data in this order: (a) no enrolment with the unit in
    force that month (with a pending or rejected add filing named); (b) the enrolment is not yet
    approved; (c) no base for the policy period of that month although the enrolment started
    before the period (so a yearly declaration was due), with the declaration's review state;
    (d) no bill for the month; (e) the bill is not paid; (f) the payment is settling; (g) none.
    (a)–(d) explain a month without a record; (e) and (f) also explain a record not yet 已到账.
    """
    month = month.replace(day=1)
    employer_id = agent.employer_id

    line_bills = list(
        MonthlyBill.objects.filter(
            pk__in=BillLine.objects.filter(
                employer_id=employer_id, person_id=person.pk, month=month
            ).values("bill_id"),
            employer_id=employer_id,
        ).order_by("kind", "sequence")
    )
    if line_bills:
        return _bill_records_cause(line_bills, month)

    enrolments = list(
        Enrolment.objects.filter(employer_id=employer_id, person_id=person.pk).order_by(
            "-start_month", "-pk"
        )
    )
    covering = [enrolment for enrolment in enrolments if _covers(enrolment, month)]
    filings = {
        filing.enrolment_id: filing
        for filing in AddEmployeeFiling.objects.filter(
            employer_id=employer_id, enrolment_id__in=[e.pk for e in enrolments]
        )
    }

    # (a) No enrolment in force that month.
    if not covering:
        details = []
        for enrolment in enrolments:
            filing = filings.get(enrolment.pk)
            if filing is None:
                continue
            if filing.review_state in OPEN_REVIEW_STATES:
                # A filing for a later start month: say so, it explains nothing earlier.
                details.append(
                    _(
                        "增员申请(业务编号 %(reference)s)正在审核中,状态:%(state)s,"
                        "参保起始年月 %(start)s"
                    )
                    % {
                        "reference": filing.reference,
                        "state": _filing_state(filing),
                        "start": _month_text(enrolment.start_month),
                    }
                )
            elif filing.review_state == ReviewState.REJECTED and enrolment.start_month <= month:
                details.append(
                    _("增员申请(业务编号 %(reference)s)审核未通过,审核意见:%(comment)s")
                    % {"reference": filing.reference, "comment": filing.review_comment or _("无")}
                )
        return Cause(CAUSE_NO_ENROLMENT, _("该人员在本单位该月无参保登记"), details)

    enrolment = covering[0]
    filing = filings.get(enrolment.pk)

    # (b) Enrolment not yet approved.
    if enrolment.status == Enrolment.Status.PENDING:
        if filing is not None and filing.review_state in OPEN_REVIEW_STATES:
            message = _("增员申请(业务编号 %(reference)s)正在审核中,状态:%(state)s") % {
                "reference": filing.reference,
                "state": _filing_state(filing),
            }
        elif filing is not None:
            message = _("参保登记尚未审核通过(增员申请 %(reference)s,状态:%(state)s)") % {
                "reference": filing.reference,
                "state": _filing_state(filing),
            }
        else:
            message = _("参保登记尚未审核通过")
        return Cause(
            CAUSE_ENROLMENT_PENDING,
            message,
            [_("参保登记审核通过后,该月费款将在核定(或补缴)时计入。")],
        )

    # (c) Base not declared for the policy period of the month.
    period = (
        PolicyPeriod.objects.filter(
            region_id=agent.employer.region_id,
            starts_on__lte=month,
            ends_on__gte=month,
            is_published=True,
        )
        .order_by("-starts_on")
        .first()
    )
    if (
        period is not None
        and enrolment.start_month < period.starts_on
        and not ContributionBase.objects.filter(enrolment=enrolment, period=period).exists()
    ):
        details = []
        declaration = (
            BaseDeclaration.objects.filter(
                employer_id=employer_id,
                period=period,
                pk__in=BaseDeclarationLine.objects.filter(enrolment=enrolment).values(
                    "declaration_id"
                ),
            )
            .order_by("-created_at")
            .first()
        )
        if declaration is not None and declaration.review_state in OPEN_REVIEW_STATES:
            details.append(
                _("缴费基数申报(业务编号 %(reference)s)正在审核中,状态:%(state)s")
                % {
                    "reference": declaration.reference,
                    "state": ReviewState(declaration.review_state).label,
                }
            )
        elif declaration is not None and declaration.review_state == ReviewState.REJECTED:
            details.append(
                _("缴费基数申报(业务编号 %(reference)s)审核未通过,审核意见:%(comment)s")
                % {
                    "reference": declaration.reference,
                    "comment": declaration.review_comment or _("无"),
                }
            )
        else:
            details.append(_("请在“缴费基数申报”中为该人员申报本年度缴费基数。"))
        return Cause(
            CAUSE_BASE_NOT_DECLARED,
            _("%(start)s 至 %(end)s 年度的缴费基数尚未申报")
            % {"start": f"{period.starts_on:%Y-%m}", "end": f"{period.ends_on:%Y-%m}"},
            details,
        )

    # (d) No bill for the month.
    bill = MonthlyBill.objects.filter(
        employer_id=employer_id, month=month, kind=BillKind.REGULAR
    ).first()
    if bill is None:
        details = []
        if period is None:
            details.append(_("本统筹区该月的缴费政策尚未发布,发布后方可核定。"))
        return Cause(CAUSE_BILL_NOT_GENERATED, _("本月费款尚未核定"), details)

    # (g) Nothing in the data explains it (e.g. the bill was made before the person was added).
    return Cause(
        CAUSE_UNKNOWN,
        _("未发现原因,请拨打 %s 咨询") % HOTLINE,
        [_("本月核定单 %s 中没有该人员的缴费明细。") % bill.reference],
    )
