"""待遇申领: file the three kinds of claim (DESIGN.md section 15).

- 生育津贴: the employee must have been insured in the unit (职工医保, with which 生育保险 is
  collected) on the day of the birth or miscarriage, and the claim is filed within one year of
  it (later claims go to the service hall, which can check why). The days and the amount are
  computed by contributions.benefits.rules with the region's terms and the unit's average wage
  (contributions.benefits.selectors.unit_average_wage, or the figure the unit declares where
  the region says so); the agent confirms them before submitting, and a claim whose figures
  changed since they were shown is not filed.
- 工伤认定申请: the injured person must have been insured for 工伤 (410) in the unit on the day
  of the accident. The employer files within 30 days of the accident (工伤保险条例 art. 17); a
  later application needs the reason for the delay.
- 工伤待遇: after an approved recognition and the disability assessment, the lump sum by the
  level (disability_lump_sum) with the person's own wage of the 12 months before the injury and
  the region's average wage of the injury's year, and the medical expenses of the receipts.

Every submission takes an idempotency key (the same key returns the claim it made), checks the
files by content (portal.uploads), writes the audit row and goes through portal.review.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contributions.benefits import selectors
from contributions.benefits.rules import (
    BIRTH,
    CENT,
    DISABILITY_MONTHS,
    bounded_own_wage,
    disability_lump_sum,
    maternity_allowance,
    maternity_leave_days,
)
from contributions.benefits.selectors import BenefitTerms, WageFigure
from contributions.common import new_reference
from contributions.models import (
    BenefitAttachment,
    InjuryClaim,
    InjuryRecognition,
    MaternityClaim,
    MaternityKind,
    MedicalReceipt,
)
from enrollment.models import Enrolment
from portal.audit import audit_log
from portal.models import ReviewState
from portal.review import review_submit
from portal.uploads import CheckedFile, upload_check

RECOGNITION_DEADLINE_DAYS = 30  # 工伤保险条例 art. 17
MATERNITY_CLAIM_YEARS = 1


def one_year_after(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year + MATERNITY_CLAIM_YEARS)
    except ValueError:  # 29 February
        return day.replace(year=day.year + MATERNITY_CLAIM_YEARS, day=28)


def maternity_claim_deadline(event_date: datetime.date) -> datetime.date:
    """The last day a maternity claim may be filed online."""
    return one_year_after(event_date)


def recognition_days_late(accident_date: datetime.date, filed_on: datetime.date) -> int:
    """Days past the 30-day deadline (0 when in time)."""
    return max(0, (filed_on - accident_date).days - RECOGNITION_DEADLINE_DAYS)


def _rule_error(exc: ValueError, field: str | None = None) -> ValidationError:
    """A rule's ValueError (a Chinese message) as a ValidationError, on ``field`` when given."""
    message = str(exc)
    return ValidationError({field: message} if field else message, code="rule")


def _existing(model, idempotency_key: uuid.UUID, employer_id: int):
    claim = model.objects.filter(idempotency_key=idempotency_key).first()
    if claim is not None and claim.employer_id != employer_id:
        # A key is random per form; one of another unit is a forged or replayed form.
        raise ValidationError(_("提交标识无效,请刷新页面后重新填写。"), code="bad_key")
    return claim


def _check_file(field: str, upload, missing: str) -> CheckedFile:
    if not upload:
        raise ValidationError({field: missing}, code="attachment_missing")
    try:
        return upload_check(upload)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}, code="attachment_bad") from None


def _store(claim, link: str, files: Sequence[tuple[str, CheckedFile]]) -> None:
    """Store a claim's checked files under random names (benefit_attachment_upload_to)."""
    for kind, item in files:
        attachment = BenefitAttachment(
            employer_id=claim.employer_id,
            kind=kind,
            original_name=item.original_name,
            content_type=item.content_type,
            size=item.size,
            sha256=item.sha256,
            **{link: claim},
        )
        attachment.file.save(item.original_name, ContentFile(item.data), save=False)
        attachment.save()
    # Should the transaction roll back after this, the stored files stay behind unreferenced
    # under random names; nothing in the portal leads to them.


def _lock_enrolment(enrolment: Enrolment, employer_id: int) -> None:
    # Two submissions for one person wait here, so the second sees the first's claim.
    Enrolment.objects.select_for_update().filter(pk=enrolment.pk, employer_id=employer_id).first()


def _save(claim) -> None:
    claim.full_clean(exclude=["employer", "enrolment", "submitted_by", "review_region"])
    claim.save()


def _audit_and_submit(claim, *, agent, action: str, request, details: dict) -> None:
    audit_log(
        action=action,
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=claim,
        request=request,
        details={"reference": claim.reference, **details},
    )
    review_submit(item=claim, actor=agent.user, request=request)


def _not_insured(*, agent, document_number: str, on: datetime.date, insurance: str) -> str:
    if selectors.person_known_to_unit(
        employer_id=agent.employer_id, document_number=document_number
    ):
        return _("该人员在 %(date)s 未在本单位参加%(insurance)s,不能申领。") % {
            "date": on.isoformat(),
            "insurance": insurance,
        }
    return _("本单位没有该证件号码的参保人员,请核对证件号码。")


# 生育津贴 -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaternityFigures:
    """What a maternity claim would be: checked facts and computed figures (nothing written)."""

    enrolment: Enrolment
    event_date: datetime.date
    kind: str
    babies: int
    difficult_birth: bool
    terms: BenefitTerms
    wage: Decimal
    wage_figure: WageFigure | None  # None when the unit declared its average wage
    days: int
    amount: Decimal

    @property
    def kind_label(self) -> str:
        return MaternityKind(self.kind).label

    @property
    def deadline(self) -> datetime.date:
        return maternity_claim_deadline(self.event_date)


def maternity_claim_compute(
    *,
    agent,
    document_number: str,
    event_date: datetime.date,
    kind: str,
    babies: int = 1,
    difficult_birth: bool = False,
    unit_average_wage: Decimal | None = None,
) -> MaternityFigures:
    """Check a maternity claim's facts and compute its days and amount; raise ValidationError."""
    today = timezone.localdate()
    if kind not in MaternityKind.values:
        raise ValidationError({"kind": _("请选择生育类别。")}, code="kind")
    if event_date > today:
        raise ValidationError(
            {"event_date": _("生育(流产)日期不能晚于今天。")}, code="event_future"
        )
    if today > maternity_claim_deadline(event_date):
        raise ValidationError(
            {
                "event_date": _(
                    "生育津贴应在生育(流产)之日起1年内申领,本次已于 %(deadline)s 超过期限;"
                    "请携带相关材料到经办窗口办理。"
                )
                % {"deadline": maternity_claim_deadline(event_date).isoformat()}
            },
            code="event_too_old",
        )
    if kind != BIRTH:
        babies, difficult_birth = 1, False  # no extras for a miscarriage
    enrolment = selectors.person_enrolment_at(
        employer_id=agent.employer_id,
        document_number=document_number,
        on=event_date,
        codes=selectors.MATERNITY_CODES,
    )
    if enrolment is None:
        raise ValidationError(
            {
                "document_number": _not_insured(
                    agent=agent,
                    document_number=document_number,
                    on=event_date,
                    insurance=_("职工基本医疗(生育)保险"),
                )
            },
            code="not_insured",
        )
    existing = selectors.maternity_claim_existing(enrolment_id=enrolment.pk, event_date=event_date)
    if existing is not None:
        raise ValidationError(
            _("该职工本次生育(流产)已申领过生育津贴(业务编号 %(reference)s),不能重复申领。")
            % {"reference": existing.reference},
            code="already_claimed",
        )
    terms = selectors.benefit_terms_for(agent.employer.region_id)
    wage_figure = None
    if terms.unit_wage_declared:
        if unit_average_wage is None:
            raise ValidationError(
                {"unit_average_wage": _("本统筹区由单位申报月平均工资,请填写。")},
                code="wage_missing",
            )
        wage = unit_average_wage
    else:
        wage_figure = selectors.unit_average_wage(
            employer_id=agent.employer_id, event_date=event_date
        )
        if wage_figure is None:
            first, last = selectors.wage_window(event_date)
            raise ValidationError(
                _(
                    "本单位在 %(first)s 至 %(last)s 没有核定的缴费记录,无法按缴费基数计算单位月平均"
                    "工资;请携带单位工资发放证明到经办窗口办理。"
                )
                % {"first": f"{first:%Y-%m}", "last": f"{last:%Y-%m}"},
                code="no_bills",
            )
        wage = wage_figure.amount
    try:
        days = maternity_leave_days(
            kind, babies, difficult_birth, regional_extra_days=terms.extra_maternity_days
        )
    except ValueError as exc:
        raise _rule_error(exc, "babies") from None
    try:
        amount = maternity_allowance(wage, days, terms.divisor)
    except ValueError as exc:
        raise _rule_error(exc, "unit_average_wage" if terms.unit_wage_declared else None) from None
    return MaternityFigures(
        enrolment=enrolment,
        event_date=event_date,
        kind=kind,
        babies=babies,
        difficult_birth=difficult_birth,
        terms=terms,
        wage=wage,
        wage_figure=wage_figure,
        days=days,
        amount=amount,
    )


AMOUNT_CHANGED = "amount_changed"


@transaction.atomic
def maternity_claim_submit(
    *,
    agent,
    idempotency_key: uuid.UUID,
    shown_amount: Decimal | None,
    certificate,
    request=None,
    **facts,
) -> MaternityClaim:
    """File a maternity claim whose figures the agent confirmed, with its certificate, for review.

    ``facts`` are maternity_claim_compute's. A claim whose amount is no longer ``shown_amount``
    (the unit's bills changed meanwhile) is refused with the code AMOUNT_CHANGED.
    """
    existing = _existing(MaternityClaim, idempotency_key, agent.employer_id)
    if existing is not None:
        return existing
    figures = maternity_claim_compute(agent=agent, **facts)
    _lock_enrolment(figures.enrolment, agent.employer_id)
    existing = _existing(MaternityClaim, idempotency_key, agent.employer_id)
    if existing is not None:
        return existing
    figures = maternity_claim_compute(agent=agent, **facts)  # again, under the lock
    if shown_amount != figures.amount:
        raise ValidationError(
            _("计算结果已变化(单位的缴费记录或统筹区设置有更新),请核对新的金额后再提交。"),
            code=AMOUNT_CHANGED,
        )
    is_birth = figures.kind == BIRTH
    certificate_file = _check_file(
        "certificate",
        certificate,
        _("请上传出生医学证明。") if is_birth else _("请上传医疗机构出具的诊断证明。"),
    )
    employer = agent.employer
    claim = MaternityClaim(
        reference=new_reference("SY"),
        employer_id=agent.employer_id,
        enrolment=figures.enrolment,
        submitted_by=agent,
        idempotency_key=idempotency_key,
        review_region_id=employer.region_id,
        event_date=figures.event_date,
        kind=figures.kind,
        babies=figures.babies,
        difficult_birth=figures.difficult_birth,
        wage_source=figures.terms.unit_wage_source,
        unit_average_wage=figures.wage,
        wage_months=figures.wage_figure.months if figures.wage_figure else 0,
        divisor=figures.terms.divisor,
        extra_days=figures.terms.extra_maternity_days if is_birth else 0,
        days=figures.days,
        amount=figures.amount,
    )
    _save(claim)
    kind = (
        BenefitAttachment.Kind.BIRTH_CERTIFICATE
        if is_birth
        else BenefitAttachment.Kind.MEDICAL_PROOF
    )
    _store(claim, "maternity_claim", [(kind, certificate_file)])
    _audit_and_submit(
        claim,
        agent=agent,
        action="benefits.maternity_submit",
        request=request,
        details={
            "enrolment": figures.enrolment.pk,
            "days": figures.days,
            "amount": str(claim.amount),
        },
    )
    return claim


# 工伤认定申请 -------------------------------------------------------------------------------------


@transaction.atomic
def injury_recognition_submit(
    *,
    agent,
    idempotency_key: uuid.UUID,
    document_number: str,
    accident_at: datetime.datetime,
    place: str,
    description: str,
    late_reason: str = "",
    diagnosis=None,
    request=None,
) -> InjuryRecognition:
    """File a 工伤认定申请 for an employee insured for 工伤 at the accident, for review."""
    existing = _existing(InjuryRecognition, idempotency_key, agent.employer_id)
    if existing is not None:
        return existing
    today = timezone.localdate()
    if accident_at > timezone.now():
        raise ValidationError(
            {"accident_date": _("事故发生时间不能晚于现在。")}, code="accident_future"
        )
    accident_date = timezone.localdate(accident_at)
    enrolment = selectors.person_enrolment_at(
        employer_id=agent.employer_id,
        document_number=document_number,
        on=accident_date,
        codes=selectors.INJURY_CODES,
    )
    if enrolment is None:
        raise ValidationError(
            {
                "document_number": _not_insured(
                    agent=agent,
                    document_number=document_number,
                    on=accident_date,
                    insurance=_("工伤保险"),
                )
            },
            code="not_insured",
        )
    late = recognition_days_late(accident_date, today)
    late_reason = (late_reason or "").strip()
    if late and not late_reason:
        raise ValidationError(
            {
                "late_reason": _(
                    "事故发生于 %(date)s,距今 %(days)d 天,已超过《工伤保险条例》第十七条规定的"
                    "单位应在30日内提出工伤认定申请的时限(逾期 %(late)d 天)。请填写逾期申请的原因。"
                )
                % {
                    "date": accident_date.isoformat(),
                    "days": (today - accident_date).days,
                    "late": late,
                }
            },
            code="late_without_reason",
        )
    diagnosis_file = _check_file(
        "diagnosis", diagnosis, _("请上传医疗机构出具的受伤职工初次诊断证明。")
    )
    _lock_enrolment(enrolment, agent.employer_id)
    existing = _existing(InjuryRecognition, idempotency_key, agent.employer_id)
    if existing is not None:
        return existing
    duplicate = selectors.recognition_existing(
        enrolment_id=enrolment.pk, accident_date=accident_date
    )
    if duplicate is not None:
        raise ValidationError(
            _("该职工这一天的事故已申请过工伤认定(业务编号 %(reference)s),不能重复申请。")
            % {"reference": duplicate.reference},
            code="already_filed",
        )
    recognition = InjuryRecognition(
        reference=new_reference("GS"),
        employer_id=agent.employer_id,
        enrolment=enrolment,
        submitted_by=agent,
        idempotency_key=idempotency_key,
        review_region_id=agent.employer.region_id,
        accident_at=accident_at,
        place=place.strip(),
        description=description.strip(),
        filed_late=bool(late),
        late_reason=late_reason if late else "",
    )
    _save(recognition)
    _store(
        recognition,
        "recognition",
        [(BenefitAttachment.Kind.INJURY_DIAGNOSIS, diagnosis_file)],
    )
    _audit_and_submit(
        recognition,
        agent=agent,
        action="benefits.recognition_submit",
        request=request,
        details={"enrolment": enrolment.pk, "late_days": late},
    )
    return recognition


# 工伤待遇 -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InjuryClaimBasis:
    """What a 工伤待遇 claim of an approved recognition is computed from, and why it may not be."""

    recognition: InjuryRecognition
    injury_date: datetime.date
    own: WageFigure
    year: int
    regional_wage: Decimal | None
    bounded_wage: Decimal | None
    lump_sums: list[tuple[int, int, Decimal]]  # (level, months, amount)
    refusal: str = ""

    @property
    def floor(self) -> Decimal | None:
        return None if self.regional_wage is None else self.regional_wage * Decimal("0.6")

    @property
    def ceiling(self) -> Decimal | None:
        return None if self.regional_wage is None else self.regional_wage * 3


def injury_claim_basis(*, recognition: InjuryRecognition) -> InjuryClaimBasis:
    """The own wage, the region's average wage and the lump sum of each level for a claim."""
    injury_date = timezone.localdate(recognition.accident_at)
    own = selectors.own_monthly_wage(enrolment=recognition.enrolment, injury_date=injury_date)
    year = injury_date.year
    regional = selectors.regional_average_wage(recognition.review_region_id, year)
    refusal, bounded, lump_sums = "", None, []
    if recognition.review_state != ReviewState.APPROVED:
        refusal = _("该工伤认定申请尚未认定为工伤,认定后才能申领工伤待遇。")
    elif regional is None:
        refusal = _(
            "统筹区尚未公布 %(year)d 年度职工月平均工资,暂时无法计算一次性伤残补助金。"
            "请在公布后再申领,或到经办窗口咨询。"
        ) % {"year": year}
    else:
        existing = selectors.injury_claim_existing(recognition_id=recognition.pk)
        if existing is not None:
            refusal = _("该工伤已申领过工伤待遇(业务编号 %(reference)s),不能重复申领。") % {
                "reference": existing.reference
            }
    if regional is not None:
        # Shown and stored to the cent; the lump sum itself is rounded once, by the rule.
        bounded = bounded_own_wage(own.amount, regional).quantize(CENT, rounding=ROUND_HALF_UP)
        lump_sums = [
            (level, months, disability_lump_sum(level, own.amount, regional))
            for level, months in DISABILITY_MONTHS.items()
        ]
    return InjuryClaimBasis(
        recognition=recognition,
        injury_date=injury_date,
        own=own,
        year=year,
        regional_wage=regional,
        bounded_wage=bounded,
        lump_sums=lump_sums,
        refusal=refusal,
    )


@dataclass(frozen=True)
class Receipt:
    number: str
    issued_on: datetime.date
    amount: Decimal


@transaction.atomic
def injury_claim_submit(
    *,
    agent,
    idempotency_key: uuid.UUID,
    recognition: InjuryRecognition,
    disability_level: int,
    receipts: Sequence[Receipt] = (),
    assessment=None,
    receipts_scan=None,
    request=None,
) -> InjuryClaim:
    """File the 工伤待遇 claim of an approved recognition of the unit, for review."""
    existing = _existing(InjuryClaim, idempotency_key, agent.employer_id)
    if existing is not None:
        return existing
    locked = (
        InjuryRecognition.objects.select_for_update()
        .select_related("enrolment")
        .filter(pk=recognition.pk, employer_id=agent.employer_id)
        .first()
    )
    if locked is None:
        raise ValidationError(_("未找到该工伤认定申请。"), code="missing")
    existing = _existing(InjuryClaim, idempotency_key, agent.employer_id)
    if existing is not None:
        return existing
    basis = injury_claim_basis(recognition=locked)
    if basis.refusal:
        raise ValidationError(basis.refusal, code="refused")
    try:
        lump_sum = disability_lump_sum(disability_level, basis.own.amount, basis.regional_wage)
    except ValueError as exc:
        raise _rule_error(exc, "disability_level") from None
    today = timezone.localdate()
    for receipt in receipts:
        if receipt.amount <= 0:
            raise ValidationError({"receipts": _("票据金额必须大于0。")}, code="receipt_amount")
        if not basis.injury_date <= receipt.issued_on <= today:
            raise ValidationError(
                {
                    "receipts": _("票据 %(number)s 的开票日期应在受伤之日(%(date)s)到今天之间。")
                    % {"number": receipt.number, "date": basis.injury_date.isoformat()}
                },
                code="receipt_date",
            )
    files = [
        (
            BenefitAttachment.Kind.ASSESSMENT,
            _check_file("assessment", assessment, _("请上传劳动能力鉴定结论书。")),
        )
    ]
    if receipts:
        files.append(
            (
                BenefitAttachment.Kind.RECEIPTS,
                _check_file(
                    "receipts_scan", receipts_scan, _("申报了医疗费,请上传医疗费票据扫描件。")
                ),
            )
        )
    claim = InjuryClaim(
        reference=new_reference("GD"),
        employer_id=agent.employer_id,
        enrolment=locked.enrolment,
        recognition=locked,
        submitted_by=agent,
        idempotency_key=idempotency_key,
        review_region_id=agent.employer.region_id,
        disability_level=disability_level,
        own_wage=basis.own.amount,
        own_wage_months=basis.own.months,
        wage_year=basis.year,
        regional_average_wage=basis.regional_wage,
        bounded_wage=basis.bounded_wage,
        lump_sum=lump_sum,
        medical_total=sum((receipt.amount for receipt in receipts), Decimal("0")),
    )
    _save(claim)
    MedicalReceipt.objects.bulk_create(
        [
            MedicalReceipt(
                claim=claim, number=r.number.strip(), issued_on=r.issued_on, amount=r.amount
            )
            for r in receipts
        ]
    )
    _store(claim, "injury_claim", files)
    _audit_and_submit(
        claim,
        agent=agent,
        action="benefits.injury_claim_submit",
        request=request,
        details={
            "recognition": locked.reference,
            "level": disability_level,
            "lump_sum": str(lump_sum),
            "medical_total": str(claim.medical_total),
        },
    )
    return claim
