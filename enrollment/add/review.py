"""How an add-employee filing (增员) takes part in the review workflow (portal.review).

Pre-checks: the person has no open enrolment elsewhere; the base lies within the bounds in
force for the start month; both attachments (labour contract and ID scan) are present; flags
(back-dated start, late filing) are shown as failed checks so that a person looks at them and
real-time approval does not pass them by. Approval makes the enrolment 正常 (active).
Rejection cancels the pending enrolment, so that a rejected filing blocks nobody (not even the
same person at another unit); resubmission runs every check again and reopens it as pending.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contributions.policy.reference import validate_base
from enrollment.models import AddEmployeeFiling, Attachment, Enrolment
from portal import filings, review
from portal.identifiers import mask_name_to_surname as masked_name
from portal.models import Notification
from portal.review import precheck_result


def add_filing_prechecks(filing: AddEmployeeFiling) -> list[dict]:
    """Run the automatic checks a clerk sees before deciding."""
    enrolment = Enrolment.objects.select_related("person").get(pk=filing.enrolment_id)
    elsewhere = (
        Enrolment.objects.filter(person_id=enrolment.person_id, status__in=Enrolment.OPEN_STATUSES)
        .exclude(pk=enrolment.pk)
        .exists()
    )
    try:
        validate_base(filing.employer.region, enrolment.start_month, enrolment.contribution_base)
        base_ok, base_detail = True, ""
    except ValidationError as exc:
        base_ok, base_detail = False, " ".join(exc.messages)
    kinds = set(filing.attachments.values_list("kind", flat=True))
    missing = [Attachment.Kind(kind).label for kind in Attachment.Kind.values if kind not in kinds]
    flags = [AddEmployeeFiling.Flag(flag).label for flag in filing.flags]
    return [
        precheck_result(
            "not_open_elsewhere",
            _("未在其他单位参保"),
            not elsewhere,
            _("该人员另有未终止的参保登记") if elsewhere else "",
        ),
        precheck_result("base_in_bounds", _("月缴费工资在上下限内"), base_ok, base_detail),
        precheck_result(
            "attachments",
            _("附件齐全"),
            not missing,
            _("缺少:%s") % "、".join(str(label) for label in missing) if missing else "",
        ),
        precheck_result(
            "flags", _("无补登记或逾期提示"), not flags, ";".join(str(f) for f in flags)
        ),
    ]


def add_filing_on_decided(
    filing: AddEmployeeFiling, *, actor, decision: str, comment: str = ""
) -> None:
    """Approval makes the enrolment 正常; rejection cancels it until the unit resubmits."""
    enrolment = Enrolment.objects.select_for_update().get(pk=filing.enrolment_id)
    enrolment.status = (
        Enrolment.Status.ACTIVE if decision == "approve" else Enrolment.Status.CANCELLED
    )
    enrolment.save(update_fields=["status", "updated_at"])


def add_filings_on_decided_many(
    filings: list[AddEmployeeFiling], *, actor, decision: str, comment: str = ""
) -> dict:
    """add_filing_on_decided for many filings at once: the enrolments locked, changed and
    recorded in their history with a statement each (bulk decisions, portal.review_bulk)."""
    status = Enrolment.Status.ACTIVE if decision == "approve" else Enrolment.Status.CANCELLED
    ids = sorted(filing.enrolment_id for filing in filings)
    if not ids:
        return {}
    enrolments = list(Enrolment.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    now = timezone.now()
    for enrolment in enrolments:
        enrolment.status = status
        enrolment.updated_at = now
    Enrolment.objects.filter(pk__in=ids).update(status=status, updated_at=now)
    # The history rows save(update_fields=...) writes for each: "~", no reason, the default user.
    Enrolment.history.bulk_history_create(enrolments, update=True, default_change_reason=None)
    return {}


def add_filing_notifications(
    filing: AddEmployeeFiling, *, decision: str, comment: str = ""
) -> list[dict]:
    """SMS to the unit's contact phone; the person appears as a masked name, never an ID."""
    employer = filing.employer
    person = filing.enrolment.person
    template = "add_employee_approved" if decision == "approve" else "add_employee_rejected"
    return [
        {
            "channel": Notification.Channel.SMS,
            "recipient": employer.contact_phone,
            "template": template,
            "context": {
                "unit": employer.name,
                "reference": filing.reference,
                "name": masked_name(person.name),
                "date": timezone.localdate().strftime("%Y-%m-%d"),
            },
            "employer_id": employer.pk,
        }
    ]


def register() -> None:
    """Register the AddEmployeeFiling hooks with the review workflow (from AppConfig.ready)."""
    review.register(
        AddEmployeeFiling,
        prechecks=add_filing_prechecks,
        on_decided=add_filing_on_decided,
        notifications=add_filing_notifications,
        on_decided_many=add_filings_on_decided_many,
        select_related=["employer", "enrolment__person"],
    )
    filings.register(
        filings.FilingKind(
            key="add",
            label=gettext_lazy("增员"),
            model=AddEmployeeFiling,
            url_name="enrollment:add_detail",
            permission="enrollment.add",
        )
    )
