"""补缴申请: a unit applies to pay for months it missed for a person (DESIGN.md section 15).

Which months: those the person worked for the unit but the bill engine does not bill, i.e. months
before the start month (参保起始年月) of one of the person's enrolments with the unit and not
before its 用工日期 when one was recorded (the unit should have enrolled the person from the
month employment began, enrollment.rules); months inside an enrolment are billed by 月度核定 and
are refused here. Each month must lie in the region's window (RegionContributionSettings.
backpay_window_months, default 36: the months from that many months before the current month to
the month before it), have no record of the person with the unit, no open or approved 补缴申请,
no pension or unemployment record with another unit, and a published policy whose base bounds
the given base respects. The proof of employment (labour contract or wage records) is required.

Amounts: per month and insurance type by the bill engine (contributions.billing.backpay).

Late fee (滞纳金, 社会保险法 第八十六条, 万分之五 a day), the convention of this portal:
- per month, on that month's contributions (employer and personal parts together);
- from the day after the month's due date (the region's due day of the following month, as on
  the regular bill) up to and including the filing date: filed on the due date, 0 days;
- amount = contributions × 0.0005 × days, rounded half up to the cent once per month
  (contributions.payments.services.late_fee, as every late fee of the portal);
- the figure is fixed on the filing date: the days the review takes are not charged. Once
  approved, the 补缴 bill has its own due date, and paying it after that accrues the usual late
  fee on its contributions.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contributions.backpay import selectors
from contributions.billing.backpay import backpay_bill_create, backpay_due_on, backpay_figures
from contributions.billing.engine import Figures, PolicyCache
from contributions.common import TYPE_ORDER, add_months, month_start, new_reference
from contributions.models import (
    BackPayApplication,
    BackPayAttachment,
    BackPayMonth,
    InsuranceType,
)
from contributions.payments.services import LateFee, late_fee
from contributions.policy.reference import validate_base
from enrollment.models import Enrolment
from portal.audit import audit_log
from portal.review import review_submit
from portal.uploads import upload_check

MAX_MONTHS = 12  # months in one application; more are filed as further applications
AMOUNT_CHANGED = "amount_changed"
ZERO = Decimal("0.00")


def _month_error(month: datetime.date, field: str, message: str, code: str) -> ValidationError:
    """An error of one month's row: ``params`` name the month and the row's field."""
    # The message is final: a "%" in it (a region's name) must survive Django's params step.
    return ValidationError(
        str(message).replace("%", "%%"),
        code=code,
        params={"month": f"{month:%Y-%m}", "field": field},
    )


def _field_error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


@dataclass(frozen=True)
class MonthFigures:
    month: datetime.date
    base: Decimal
    lines: dict[str, Figures]  # per insurance type, in TYPE_ORDER
    due_on: datetime.date
    late: LateFee

    @property
    def employer(self) -> Decimal:
        return sum((line.employer_amount for line in self.lines.values()), ZERO)

    @property
    def personal(self) -> Decimal:
        return sum((line.personal_amount for line in self.lines.values()), ZERO)

    @property
    def contribution(self) -> Decimal:
        return self.employer + self.personal

    @property
    def total(self) -> Decimal:
        return self.contribution + self.late.amount

    @property
    def late_days(self) -> int:
        return self.late.days

    @property
    def late_fee(self) -> Decimal:
        return self.late.amount

    def type_rows(self) -> list[tuple[str, Figures]]:
        labels = dict(InsuranceType.choices)
        return [(labels[kind], self.lines[kind]) for kind in TYPE_ORDER if kind in self.lines]


@dataclass(frozen=True)
class BackPayFigures:
    """What an application would be: the checked months and their amounts (nothing written)."""

    enrolment: Enrolment
    computed_on: datetime.date
    window: int
    months: list[MonthFigures]

    @property
    def contribution_total(self) -> Decimal:
        return sum((month.contribution for month in self.months), ZERO)

    @property
    def late_fee_total(self) -> Decimal:
        return sum((month.late.amount for month in self.months), ZERO)

    @property
    def total(self) -> Decimal:
        return self.contribution_total + self.late_fee_total


def backpay_window_first(*, window: int, today: datetime.date) -> datetime.date:
    """The earliest month the window allows (the latest is the month before ``today``'s)."""
    return add_months(month_start(today), -window)


def _check_months(months, *, window: int, today: datetime.date) -> None:
    if not months:
        raise _field_error("months", _("请至少填写一个补缴月份和该月的缴费基数。"), "no_months")
    if len(months) > MAX_MONTHS:
        raise _field_error(
            "months", _("一次最多申请 %d 个月,更多月份请另行申请。") % MAX_MONTHS, "too_many"
        )
    current = month_start(today)
    first = backpay_window_first(window=window, today=today)
    errors, seen = [], set()
    for month, _base in months:
        if month in seen:
            errors.append(_month_error(month, "month", _("月份重复填写。"), "duplicate"))
        elif month >= current:
            errors.append(
                _month_error(
                    month,
                    "month",
                    _("只能补缴本月之前的月份;本月及以后的费款按月度核定缴纳。"),
                    "not_past",
                )
            )
        elif month < first:
            errors.append(
                _month_error(
                    month,
                    "month",
                    _(
                        "超出本统筹区网上补缴期限(%(window)d 个月,最早 %(first)s);"
                        "更早的月份请携带劳动合同和工资记录到经办窗口办理。"
                    )
                    % {"window": window, "first": f"{first:%Y-%m}"},
                    "outside_window",
                )
            )
        seen.add(month)
    if errors:
        raise ValidationError({"months": errors})


def _attach_enrolment(month, enrolments, opened_on) -> tuple[Enrolment | None, ValidationError]:
    """The enrolment a missed month belongs to, or the error saying why there is none."""
    if opened_on and month < month_start(opened_on):
        return None, _month_error(
            month,
            "month",
            _("早于本单位社会保险开户年月(%s),不能补缴。") % f"{opened_on:%Y-%m}",
            "before_unit",
        )
    if any(selectors.billed_by_engine(enrolment, month) for enrolment in enrolments):
        return None, _month_error(
            month,
            "month",
            _(
                "该月在该职工本单位的参保期内,费款由月度核定计征;"
                "请在“月度核定”中生成或更新该月核定单。"
            ),
            "in_enrolment",
        )
    later = [enrolment for enrolment in enrolments if enrolment.start_month > month]
    if not later:
        return None, _month_error(
            month,
            "month",
            _("该职工在本单位的参保登记都早于该月,该月不属于漏缴月份。"),
            "no_enrolment",
        )
    enrolment = min(later, key=lambda enrolment: enrolment.start_month)
    start = enrolment.employment_start
    if start is not None and month < month_start(start):
        return None, _month_error(
            month,
            "month",
            _("早于参保登记的用工日期(%s),该月不在本单位用工期间。") % start.isoformat(),
            "before_employment",
        )
    return enrolment, None


def backpay_compute(
    *,
    agent,
    document_number: str,
    months: Sequence[tuple[datetime.date, Decimal]],
    today: datetime.date | None = None,
) -> BackPayFigures:
    """Check an application's person and months and compute each month; raise ValidationError.

    Errors of one month carry ``params`` {"month": "YYYY-MM", "field": "month" | "base"}.
    """
    today = today or timezone.localdate()
    employer = agent.employer
    window = selectors.backpay_window(employer.region_id)
    months = [(month_start(month), base) for month, base in months]
    _check_months(months, window=window, today=today)
    enrolments = selectors.person_enrolments(
        employer_id=employer.pk, document_number=document_number
    )
    if not enrolments:
        raise _field_error(
            "document_number",
            _("本单位没有该证件号码的参保人员,请核对证件号码。"),
            "unknown_person",
        )
    person_id = enrolments[0].person_id
    opened_on = selectors.unit_opened_on(employer)
    attached, errors = {}, []
    for month, _base in months:
        enrolment, error = _attach_enrolment(month, enrolments, opened_on)
        if error is not None:
            errors.append(error)
        else:
            attached[month] = enrolment
    if errors:
        raise ValidationError({"months": errors})
    if len({enrolment.pk for enrolment in attached.values()}) > 1:
        raise ValidationError(
            {"months": _("所填月份分属该职工的不同参保登记期间之前,请按每段参保登记分别申请。")},
            code="several_enrolments",
        )
    wanted = [month for month, _base in months]
    for month, message, code in selectors.months_taken(
        employer_id=employer.pk, person_id=person_id, months=wanted
    ):
        errors.append(_month_error(month, "month", message, code))
    if errors:
        raise ValidationError({"months": errors})
    cache = PolicyCache()
    enrolment = next(iter(attached.values()))
    result = []
    for month, base in sorted(months):
        try:
            validate_base(employer.region, month, base)
            lines = backpay_figures(
                employer=employer,
                person_id=person_id,
                month=month,
                base=base,
                insurance_codes=enrolment.insurance_codes,
                cache=cache,
            )
        except ValidationError as exc:
            errors.append(_month_error(month, "base", exc.messages[0], "base"))
            continue
        due_on = backpay_due_on(employer.region_id, month)
        contribution = sum(
            (line.employer_amount + line.personal_amount for line in lines.values()), ZERO
        )
        late = late_fee(total=contribution, due_on=due_on, paid_on=today, paid=False)
        result.append(MonthFigures(month, base, lines, due_on, late))
    if errors:
        raise ValidationError({"months": errors})
    return BackPayFigures(enrolment=enrolment, computed_on=today, window=window, months=result)


def _existing(idempotency_key: uuid.UUID, employer_id: int) -> BackPayApplication | None:
    application = BackPayApplication.objects.filter(idempotency_key=idempotency_key).first()
    if application is not None and application.employer_id != employer_id:
        # A key is random per form; one of another unit is a forged or replayed form.
        raise ValidationError(_("提交标识无效,请刷新页面后重新填写。"), code="bad_key")
    return application


def _figures_json(lines: dict[str, Figures]) -> dict:
    return {
        kind: [
            str(line.base),
            str(line.employer_rate),
            str(line.personal_rate),
            str(line.employer_amount),
            str(line.personal_amount),
        ]
        for kind, line in lines.items()
    }


@transaction.atomic
def backpay_submit(
    *,
    agent,
    idempotency_key: uuid.UUID,
    document_number: str,
    months: Sequence[tuple[datetime.date, Decimal]],
    reason: str,
    shown_total: Decimal | None,
    evidence,
    request=None,
) -> BackPayApplication:
    """File a 补缴申请 whose figures the agent was shown, with the proof of employment.

    An application whose total is no longer ``shown_total`` (a bill or a policy changed since)
    is refused with the code AMOUNT_CHANGED; the same key returns the application it made.
    """
    existing = _existing(idempotency_key, agent.employer_id)
    if existing is not None:
        return existing
    figures = backpay_compute(agent=agent, document_number=document_number, months=months)
    # Two applications for one person wait here, so the second sees the first's months.
    Enrolment.objects.select_for_update().filter(
        pk=figures.enrolment.pk, employer_id=agent.employer_id
    ).first()
    existing = _existing(idempotency_key, agent.employer_id)
    if existing is not None:
        return existing
    figures = backpay_compute(agent=agent, document_number=document_number, months=months)
    if shown_total != figures.total:
        raise ValidationError(
            _("计算结果已变化(缴费记录或缴费政策有更新),请核对新的金额后再提交。"),
            code=AMOUNT_CHANGED,
        )
    reason = (reason or "").strip()
    if not reason:
        raise _field_error("reason", _("请填写漏缴原因。"), "reason_missing")
    if not evidence:
        raise _field_error(
            "evidence",
            _("请上传该职工在补缴月份的劳动合同或工资发放记录。"),
            "attachment_missing",
        )
    try:
        checked = upload_check(evidence)
    except ValidationError as exc:
        raise ValidationError({"evidence": exc.messages}, code="attachment_bad") from None
    application = BackPayApplication(
        reference=new_reference("BJ"),
        employer_id=agent.employer_id,
        enrolment=figures.enrolment,
        submitted_by=agent,
        idempotency_key=idempotency_key,
        review_region_id=agent.employer.region_id,
        reason=reason[:200],
        computed_on=figures.computed_on,
        window_months=figures.window,
        contribution_total=figures.contribution_total,
        late_fee_total=figures.late_fee_total,
        total=figures.total,
    )
    application.save()
    BackPayMonth.objects.bulk_create(
        [
            BackPayMonth(
                application=application,
                person_id=figures.enrolment.person_id,
                month=month.month,
                base=month.base,
                employer_amount=month.employer,
                personal_amount=month.personal,
                due_on=month.due_on,
                late_days=month.late.days,
                late_fee=month.late.amount,
                figures=_figures_json(month.lines),
            )
            for month in figures.months
        ]
    )
    attachment = BackPayAttachment(
        employer_id=agent.employer_id,
        application=application,
        kind=BackPayAttachment.Kind.EMPLOYMENT_PROOF,
        original_name=checked.original_name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
    )
    attachment.file.save(checked.original_name, ContentFile(checked.data), save=False)
    attachment.save()
    audit_log(
        action="backpay.submit",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=application,
        request=request,
        details={
            "reference": application.reference,
            "enrolment": figures.enrolment.pk,
            "months": [f"{month.month:%Y-%m}" for month in figures.months],
            "contribution_total": str(application.contribution_total),
            "late_fee_total": str(application.late_fee_total),
        },
    )
    review_submit(item=application, actor=agent.user, request=request)
    return application


def _stored_lines(row: BackPayMonth) -> dict[str, Figures]:
    return {
        kind: Figures(row.person_id, *(Decimal(value) for value in values))
        for kind, values in row.figures.items()
    }


def backpay_bill(application: BackPayApplication, *, actor=None) -> list:
    """Bill an approved application: one 补缴 bill per month with the figures filed.

    Refuses (ValidationError, so the approval is rolled back) when one of the months has been
    billed for the person since it was filed.
    """
    rows = list(application.months.select_for_update().order_by("month"))
    if any(row.bill_id for row in rows):
        return [row.bill for row in rows]  # billed already: approving again changes nothing
    billed = selectors.months_billed(
        employer_id=application.employer_id,
        person_id=application.enrolment.person_id,
        months=[row.month for row in rows],
    )
    if billed:
        raise ValidationError(
            _("该职工 %s 已有核定记录,不能再按本申请补缴;请驳回本申请。")
            % _("、").join(f"{month:%Y-%m}" for month in billed),
            code="billed_meanwhile",
        )
    bills = []
    for row in rows:
        bill = backpay_bill_create(
            employer=application.employer,
            enrolment_id=application.enrolment_id,
            month=row.month,
            figures=_stored_lines(row),
            late_fee=row.late_fee,
            note=f"补缴申请 {application.reference}",
            actor=actor,
        )
        row.bill = bill
        row.save(update_fields=["bill"])
        bills.append(bill)
    audit_log(
        action="backpay.billed",
        actor=actor,
        employer_id=application.employer_id,
        obj=application,
        details={"reference": application.reference, "bills": [b.reference for b in bills]},
    )
    return bills
