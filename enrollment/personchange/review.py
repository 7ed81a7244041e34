"""How a 个人信息变更 takes part in the review workflow (portal.review).

Pre-checks: the person is still insured with the unit, no other change of the person is open,
the proof is attached, and the new 户籍类型 and 用工形式 still fit the person's insurance types
under the region's coupling rules. Approval applies the new values to the person and the unit's
enrolment in the decision's transaction (enrollment.personchange.services.person_change_apply);
rejection changes nothing. Either decision goes by SMS to the unit's contact phone, the full
text to the unit's inbox.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enrollment import rules
from enrollment.models import Enrolment, PersonChangeFiling
from enrollment.personchange.services import (
    CHANGEABLE_STATUSES,
    changed_labels,
    open_person_change,
    person_change_apply,
)
from portal import filings, review
from portal.identifiers import mask_name_to_surname as masked_name
from portal.models import Notification
from portal.review import precheck_result


def person_change_prechecks(filing: PersonChangeFiling) -> list[dict]:
    """Run the automatic checks a clerk sees before deciding."""
    enrolment = (
        Enrolment.objects.select_related("employer__region")
        .filter(pk=filing.enrolment_id, employer_id=filing.employer_id)
        .first()
    )
    insured = enrolment is not None and enrolment.status in CHANGEABLE_STATUSES
    other = open_person_change(person_id=filing.person_id, exclude_pk=filing.pk)
    attached = filing.attachments.exists()
    coupling_ok, coupling_detail = True, ""
    if enrolment is not None:
        try:
            rules.insurance_coupling_check(
                region=enrolment.employer.region,
                hukou_type=filing.hukou_type,
                employment_form_code=filing.employment_form.code,
                insurance_codes=list(enrolment.insurance_codes),
            )
        except ValidationError as exc:
            coupling_ok, coupling_detail = False, " ".join(exc.messages)
    return [
        precheck_result(
            "insured_here",
            _("该人员在本单位参保中"),
            insured,
            "" if insured else _("该人员已不在本单位参保"),
        ),
        precheck_result(
            "no_other_open",
            _("该人员没有其他正在办理的信息变更"),
            other is None,
            _("另有业务编号 %s 正在办理") % other.reference if other else "",
        ),
        precheck_result(
            "attachment", _("证明材料已上传"), attached, "" if attached else _("缺少证明材料")
        ),
        precheck_result(
            "coupling", _("户籍类型、用工形式与参保险种相符"), coupling_ok, coupling_detail
        ),
    ]


def person_change_on_decided(
    filing: PersonChangeFiling, *, actor, decision: str, comment: str = ""
) -> None:
    """On approval put the new values in force; a rejection changes nothing."""
    if decision == "approve":
        person_change_apply(filing, actor=actor)


def person_change_notifications(
    filing: PersonChangeFiling, *, decision: str, comment: str = ""
) -> list[dict]:
    """SMS to the unit's contact phone; the person appears as a masked name, never an ID."""
    employer = filing.employer
    outcome = "approved" if decision == "approve" else "rejected"
    return [
        {
            "channel": Notification.Channel.SMS,
            "recipient": employer.contact_phone,
            "template": f"person_change_{outcome}",
            "context": {
                "unit": employer.name,
                "reference": filing.reference,
                "name": masked_name(filing.name),
                "fields": changed_labels(filing.changed_fields),
                "date": timezone.localdate().strftime("%Y-%m-%d"),
            },
            "employer_id": employer.pk,
        }
    ]


def register() -> None:
    """Register the hooks with the review workflow and 已办业务查询 (from AppConfig.ready)."""
    review.register(
        PersonChangeFiling,
        prechecks=person_change_prechecks,
        on_decided=person_change_on_decided,
        notifications=person_change_notifications,
        select_related=["employer", "person", "employment_form"],
    )
    filings.register(
        filings.FilingKind(
            key="person_change",
            label=gettext_lazy("个人信息变更"),
            model=PersonChangeFiling,
            url_name="enrollment:person_change_detail",
            permission="enrollment.add",
        )
    )
