"""How a remove-employee filing takes part in the review workflow (portal.review).

Pre-checks: the enrolment is still 正常 and the last contribution month still satisfies the
one-month rule counted from the month the filing was accepted. Approval ends the enrolment
(终止, with its last contribution month and end date); rejection leaves it as it was. Either
decision is sent by SMS to the unit's contact phone, with the employee's name masked.
"""

from __future__ import annotations

import calendar
import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enrollment.models import Enrolment, RemoveEmployeeFiling
from enrollment.removal.services import NOT_ACTIVE, removal_month_check
from portal import filings, review
from portal.identifiers import mask_name_to_surname as masked_name
from portal.models import Notification
from portal.review import precheck_result


def last_day_of_month(month: datetime.date) -> datetime.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _accepted_on(filing: RemoveEmployeeFiling) -> datetime.date:
    submitted = filing.submitted_at or filing.created_at or timezone.now()
    return timezone.localdate(submitted)


def removal_prechecks(filing: RemoveEmployeeFiling) -> list[dict]:
    """Run the automatic checks a clerk sees before deciding."""
    enrolment = Enrolment.objects.filter(pk=filing.enrolment_id).only("status", "start_month").get()
    active = enrolment.status == Enrolment.Status.ACTIVE
    try:
        removal_month_check(
            last_contribution_month=filing.last_contribution_month,
            accepted_on=_accepted_on(filing),
            start_month=enrolment.start_month,
        )
        month_ok, month_detail = True, ""
    except ValidationError as exc:
        month_ok, month_detail = False, " ".join(exc.messages)
    return [
        precheck_result(
            "enrolment_active",
            _("参保状态为正常"),
            active,
            "" if active else _("当前参保状态:%s") % enrolment.get_status_display(),
        ),
        precheck_result("month_rule", _("末次缴费年月符合规定"), month_ok, month_detail),
    ]


def removal_on_decided(
    filing: RemoveEmployeeFiling, *, actor, decision: str, comment: str = ""
) -> None:
    """On approval end the enrolment; a rejection changes nothing on it."""
    if decision != "approve":
        return
    enrolment = Enrolment.objects.select_for_update().get(pk=filing.enrolment_id)
    if enrolment.status != Enrolment.Status.ACTIVE:
        # Raised inside review_decide's transaction: the decision is rolled back with it.
        raise ValidationError(NOT_ACTIVE, code="not_active")
    enrolment.status = Enrolment.Status.TERMINATED
    enrolment.last_contribution_month = filing.last_contribution_month
    # Insurance runs to the end of the last month contributions were paid for.
    enrolment.ended_on = last_day_of_month(filing.last_contribution_month)
    if actor is not None and actor.pk:
        enrolment._history_user = actor
    enrolment.save(update_fields=["status", "last_contribution_month", "ended_on", "updated_at"])


def removal_notifications(
    filing: RemoveEmployeeFiling, *, decision: str, comment: str
) -> list[dict]:
    """SMS to the unit's contact phone."""
    employer = filing.employer
    template = "remove_employee_approved" if decision == "approve" else "remove_employee_rejected"
    context = {
        "unit": employer.name,
        "reference": filing.reference,
        "name": masked_name(filing.enrolment.person.name),
        "month": filing.last_contribution_month.strftime("%Y-%m"),
    }
    return [
        {
            "channel": Notification.Channel.SMS,
            "recipient": employer.contact_phone,
            "template": template,
            "context": context,
            "employer_id": employer.pk,
        }
    ]


def register() -> None:
    """Register the RemoveEmployeeFiling hooks with the review workflow (from AppConfig.ready)."""
    review.register(
        RemoveEmployeeFiling,
        prechecks=removal_prechecks,
        on_decided=removal_on_decided,
        notifications=removal_notifications,
        select_related=["employer", "enrolment__person"],
    )
    filings.register(
        filings.FilingKind(
            key="remove",
            label=gettext_lazy("减员"),
            model=RemoveEmployeeFiling,
            url_name="enrollment:remove_detail",
            permission="enrollment.remove",
        )
    )
