"""Why an expected contribution record is missing: the known causes, checked in order.

(a) no enrolment that month (naming a pending or rejected 增员), (b) enrolment awaiting review,
(c) no declared base for the policy year, (d) bill not generated, (e) bill not paid, (f) payment
settling, (g) none of these: ask 12333.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from contributions.models import (
    BaseDeclaration,
    BaseDeclarationLine,
    BillKind,
    BillLine,
    BillStatus,
    ContributionBase,
    MonthlyBill,
    Payment,
    PolicyPeriod,
)
from contributions.records.selectors import (
    HOTLINE,
    records_person_candidates,
    records_person_find,
    records_person_get_for_agent,
)
from enrollment.models import AddEmployeeFiling, Enrolment, Person
from enrollment.roster.selectors import looks_like_document_number
from portal.models import OPEN_REVIEW_STATES, ReviewState


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


def _by_tax_bureau(bill: MonthlyBill) -> bool:
    from contributions.collection.services import bill_collected_by_tax_bureau

    return bill_collected_by_tax_bureau(bill)


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
            if _by_tax_bureau(bill):
                details.append(_("请在电子税务局按应征凭证序号重新缴款,或存足三方协议账户资金。"))
            else:
                details.append(_("请确认缴费账户余额充足后,在“月度核定”中重新发起扣款。"))
        elif bill.status == BillStatus.ASSESSED:
            details.append(_("请在“月度核定”中确认核定单并发起扣款。"))
        elif bill.status == BillStatus.CONFIRMED and _by_tax_bureau(bill):
            details.append(
                _("本统筹区由税务部门征收:请在电子税务局按应征凭证序号缴款(未缴清的含部分缴款)。")
            )
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


@dataclass(frozen=True)
class CauseLookup:
    """A cause (with the person, when the unit has one), or ``error``: why the question named
    no single person of the unit."""

    cause: Cause | None = None
    person: Person | None = None
    error: str = ""
    # Several of the unit's persons match the name: the page lists them to choose from.
    candidates: list = field(default_factory=list)


def missing_record_cause_lookup(
    *, agent, q: str, person_id: int | None, month: datetime.date
) -> CauseLookup:
    """Find the unit's person by id, name or full document number; say why the month's record
    is missing. A document number the unit never enrolled gets cause (a), nothing more."""
    if person_id:
        person = records_person_get_for_agent(agent=agent, person_id=person_id)
        matches = 1
    else:
        person, matches = records_person_find(agent=agent, q=q)
    if person is not None:
        return CauseLookup(missing_record_cause(agent=agent, person=person, month=month), person)
    if matches > 1:
        return CauseLookup(
            error=_("本单位有多位人员的姓名包含“%s”,请在下方选择一位,或输入完整证件号码。") % q,
            candidates=records_person_candidates(agent=agent, q=q),
        )
    if not looks_like_document_number(q):
        return CauseLookup(error=_("本单位没有这个姓名的参保人员,请核对或输入完整证件号码"))
    return CauseLookup(missing_record_cause_unknown_person())


def records_filter_cause(*, agent, filters: dict) -> CauseLookup | None:
    """On the record list filtered to one person and one month: why the record is missing or
    not yet settled (cause None once settled); None when the filters name no single person."""
    q, month = filters["q"], filters["month_from"]
    if not q or month != filters["month_to"]:
        return None
    person, matches = records_person_find(agent=agent, q=q)
    if person is None:
        if matches == 0 and looks_like_document_number(q):
            return CauseLookup(missing_record_cause_unknown_person())
        return None
    cause = missing_record_cause(agent=agent, person=person, month=month)
    return CauseLookup(None if cause.code == CAUSE_SETTLED else cause, person)
