"""How the three kinds of benefit claim take part in the review workflow (portal.review).

Pre-checks show the clerk what the rules say: the person insured on the day of the event, the
attachments there, the deadlines kept. Approval records the approved amounts on the claim (the
figures the agent filed: a clerk who disagrees rejects with a comment); a rejection leaves them
empty. Approving a 工伤认定申请 means 认定为工伤, after which the unit may claim 工伤待遇. Every
decision is sent by SMS to the unit's contact phone, the full text to the unit's inbox.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contributions.benefits import selectors
from contributions.benefits.services import (
    RECOGNITION_DEADLINE_DAYS,
    maternity_claim_deadline,
    recognition_days_late,
)
from contributions.models import (
    BenefitAttachment,
    InjuryClaim,
    InjuryRecognition,
    MaternityClaim,
)
from enrollment.models import Person
from portal import filings, review
from portal.identifiers import mask_name_to_surname as masked_name
from portal.models import Notification, ReviewState
from portal.review import precheck_result


def _accepted_on(claim):
    return timezone.localdate(claim.submitted_at or claim.created_at or timezone.now())


def _kinds(claim) -> set[str]:
    return set(claim.attachments.values_list("kind", flat=True))


def _attachment_check(claim, wanted: list[str]) -> dict:
    missing = [
        str(BenefitAttachment.Kind(kind).label) for kind in wanted if kind not in _kinds(claim)
    ]
    return precheck_result(
        "attachments",
        _("申领材料齐全"),
        not missing,
        _("缺少:%s") % "、".join(missing) if missing else "",
    )


def maternity_prechecks(claim: MaternityClaim) -> list[dict]:
    """Insured at the event, the proof attached, filed within a year, a woman's claim."""
    insured = selectors.enrolment_covers(
        enrolment_id=claim.enrolment_id, on=claim.event_date, codes=selectors.MATERNITY_CODES
    )
    deadline = maternity_claim_deadline(claim.event_date)
    in_time = _accepted_on(claim) <= deadline
    sex = Person.objects.filter(enrolments=claim.enrolment_id).values_list("sex", flat=True).first()
    proof = (
        BenefitAttachment.Kind.BIRTH_CERTIFICATE
        if claim.kind == "birth"
        else BenefitAttachment.Kind.MEDICAL_PROOF
    )
    return [
        precheck_result(
            "insured_at_event",
            _("生育(流产)之日在本单位参加职工医疗(生育)保险"),
            insured,
            "" if insured else _("%s 该人员不在本单位的参保期内") % claim.event_date.isoformat(),
        ),
        _attachment_check(claim, [proof]),
        precheck_result(
            "within_a_year",
            _("在生育(流产)之日起1年内申领"),
            in_time,
            "" if in_time else _("申领期限至 %s") % deadline.isoformat(),
        ),
        precheck_result(
            "female",
            _("申领人为女职工"),
            sex == Person.Sex.FEMALE,
            "" if sex == Person.Sex.FEMALE else _("参保登记的性别不是女,请核实"),
        ),
    ]


def recognition_prechecks(recognition: InjuryRecognition) -> list[dict]:
    """Insured for 工伤 at the accident, the diagnosis attached, filed within 30 days."""
    accident_date = timezone.localdate(recognition.accident_at)
    insured = selectors.enrolment_covers(
        enrolment_id=recognition.enrolment_id, on=accident_date, codes=selectors.INJURY_CODES
    )
    late = recognition_days_late(accident_date, _accepted_on(recognition))
    return [
        precheck_result(
            "insured_at_accident",
            _("事故发生之日在本单位参加工伤保险"),
            insured,
            "" if insured else _("%s 该人员未参加工伤保险") % accident_date.isoformat(),
        ),
        _attachment_check(recognition, [BenefitAttachment.Kind.INJURY_DIAGNOSIS]),
        precheck_result(
            "within_deadline",
            _("在事故发生之日起%d日内申请") % RECOGNITION_DEADLINE_DAYS,
            not late,
            _("逾期 %(days)d 天,单位说明的原因:%(reason)s")
            % {"days": late, "reason": recognition.late_reason or "—"}
            if late
            else "",
        ),
    ]


def injury_claim_prechecks(claim: InjuryClaim) -> list[dict]:
    """The recognition approved, the assessment (and receipts) attached, the region's wage."""
    recognised = (
        InjuryRecognition.objects.filter(pk=claim.recognition_id)
        .values_list("review_state", flat=True)
        .first()
        == ReviewState.APPROVED
    )
    wanted = [BenefitAttachment.Kind.ASSESSMENT]
    if claim.medical_total:
        wanted.append(BenefitAttachment.Kind.RECEIPTS)
    regional = selectors.regional_average_wage(claim.review_region_id, claim.wage_year)
    same_wage = regional == claim.regional_average_wage
    return [
        precheck_result(
            "recognised", _("已认定为工伤"), recognised, "" if recognised else _("认定未通过")
        ),
        _attachment_check(claim, wanted),
        precheck_result(
            "regional_wage",
            _("统筹地区职工月平均工资与申领时一致"),
            same_wage,
            ""
            if same_wage
            else _("申领时 %(then)s 元,现为 %(now)s")
            % {"then": claim.regional_average_wage, "now": regional or _("未设置")},
        ),
    ]


def maternity_on_decided(claim: MaternityClaim, *, actor, decision: str, comment: str = ""):
    """On approval record the approved amount; a rejection records none."""
    if decision == "approve":
        claim.approved_amount = claim.amount
        claim.save(update_fields=["approved_amount", "updated_at"])


def recognition_on_decided(
    recognition: InjuryRecognition, *, actor, decision: str, comment: str = ""
):
    """Nothing beyond the decision: an approved recognition is the 认定为工伤, and its
    approval is what lets the unit claim 工伤待遇 for it (injury_claim_basis checks it)."""


def injury_claim_on_decided(claim: InjuryClaim, *, actor, decision: str, comment: str = ""):
    """On approval record the approved lump sum and medical expenses; a rejection none."""
    if decision == "approve":
        claim.approved_lump_sum = claim.lump_sum
        claim.approved_medical_total = claim.medical_total
        claim.save(update_fields=["approved_lump_sum", "approved_medical_total", "updated_at"])


def _sms(claim, template: str, **context) -> list[dict]:
    """SMS to the unit's contact phone; the inbox gets the full text (notifications/inbox)."""
    employer = claim.employer
    return [
        {
            "channel": Notification.Channel.SMS,
            "recipient": employer.contact_phone,
            "template": template,
            "context": {
                "unit": employer.name,
                "reference": claim.reference,
                "name": masked_name(claim.enrolment.person.name),
                **context,
            },
            "employer_id": employer.pk,
        }
    ]


def _outcome(decision: str) -> str:
    return "approved" if decision == "approve" else "rejected"


def maternity_notifications(claim: MaternityClaim, *, decision: str, comment: str) -> list[dict]:
    return _sms(
        claim,
        f"maternity_claim_{_outcome(decision)}",
        days=claim.days,
        amount=f"{claim.approved_amount or claim.amount:.2f}",
    )


def recognition_notifications(
    recognition: InjuryRecognition, *, decision: str, comment: str
) -> list[dict]:
    return _sms(
        recognition,
        f"injury_recognition_{_outcome(decision)}",
        date=timezone.localdate(recognition.accident_at).isoformat(),
    )


def injury_claim_notifications(claim: InjuryClaim, *, decision: str, comment: str) -> list[dict]:
    return _sms(
        claim,
        f"injury_claim_{_outcome(decision)}",
        level=claim.disability_level,
        lump_sum=f"{claim.lump_sum:.2f}",
        medical=f"{claim.medical_total:.2f}",
        amount=f"{claim.amount:.2f}",
    )


def register() -> None:
    """Register the claims with the review workflow and 已办业务查询 (from AppConfig.ready)."""
    related = ["employer", "enrolment__person"]
    review.register(
        MaternityClaim,
        prechecks=maternity_prechecks,
        on_decided=maternity_on_decided,
        notifications=maternity_notifications,
        select_related=related,
    )
    review.register(
        InjuryRecognition,
        prechecks=recognition_prechecks,
        on_decided=recognition_on_decided,
        notifications=recognition_notifications,
        select_related=related,
    )
    review.register(
        InjuryClaim,
        prechecks=injury_claim_prechecks,
        on_decided=injury_claim_on_decided,
        notifications=injury_claim_notifications,
        select_related=related,
    )
    for key, label, model, url_name in [
        ("maternity", gettext_lazy("生育津贴申领"), MaternityClaim, "maternity_detail"),
        (
            "injury_recognition",
            gettext_lazy("工伤认定申请"),
            InjuryRecognition,
            "recognition_detail",
        ),
        ("injury_claim", gettext_lazy("工伤待遇申领"), InjuryClaim, "injury_claim_detail"),
    ]:
        filings.register(
            filings.FilingKind(
                key=key,
                label=label,
                model=model,
                url_name=f"contributions:benefit_{url_name}",
                permission="benefits.claim",
            )
        )
