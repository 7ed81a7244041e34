"""Reads of 补缴申请: the region's window, the person's enrolments and months already taken,
the unit's applications. Everything an agent reads is scoped to its unit (404 whether an
application is missing or another unit's)."""

from __future__ import annotations

import datetime

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from contributions.billing.engine import BILLED_STATUSES
from contributions.models import (
    BackPayApplication,
    BackPayAttachment,
    BackPayMonth,
    BillLine,
    InsuranceType,
    RegionContributionSettings,
)
from enrollment.models import Enrolment, Person
from portal.crypto import blind_index
from portal.models import OPEN_REVIEW_STATES, ReviewState

DEFAULT_WINDOW_MONTHS = 36
LIST_LIMIT = 20
# Open or approved applications hold their months; a rejected one frees them.
LIVE_STATES = (*OPEN_REVIEW_STATES, ReviewState.APPROVED)
# One unit at a time: a month of these with another unit means the person was insured there.
EXCLUSIVE_TYPES = (InsuranceType.PENSION, InsuranceType.UNEMPLOYMENT)


def backpay_window(region_id: int | None) -> int:
    """How many months back the region lets units apply online (default 36)."""
    value = (
        RegionContributionSettings.objects.filter(region_id=region_id)
        .values_list("backpay_window_months", flat=True)
        .first()
    )
    return value or DEFAULT_WINDOW_MONTHS


def unit_opened_on(employer) -> datetime.date | None:
    account = getattr(employer, "account", None)
    return getattr(account, "opened_on", None)


def person_enrolments(*, employer_id: int, document_number: str) -> list[Enrolment]:
    """The unit's enrolments (in force or ended, not pending) of the person with the number."""
    number = "".join((document_number or "").split()).upper()
    if not number:
        return []
    persons = Person.objects.filter(document_index=blind_index("document_number", number))
    return list(
        Enrolment.objects.select_related("person")
        .filter(
            employer_id=employer_id,
            person_id__in=persons.values("pk"),
            status__in=BILLED_STATUSES,
        )
        .order_by("start_month", "pk")
    )


def billed_by_engine(enrolment: Enrolment, month: datetime.date) -> bool:
    """Whether 月度核定 bills the enrolment for the month (contributions.billing.engine's rule)."""
    if enrolment.status not in BILLED_STATUSES or enrolment.start_month > month:
        return False
    if enrolment.last_contribution_month is None:
        return enrolment.status == Enrolment.Status.ACTIVE
    return enrolment.last_contribution_month >= month


def months_billed(*, employer_id: int, person_id: int, months) -> list[datetime.date]:
    """The months the unit has a record (bill line) of the person for."""
    return sorted(
        set(
            BillLine.objects.filter(
                employer_id=employer_id, person_id=person_id, month__in=list(months)
            ).values_list("month", flat=True)
        )
    )


def months_taken(*, employer_id: int, person_id: int, months) -> list[tuple]:
    """(month, message, code) of each month that may not be applied for: billed by the unit,
    in an open or approved application, or paid for pension or unemployment by another unit."""
    months = list(months)
    taken = {}
    for month in months_billed(employer_id=employer_id, person_id=person_id, months=months):
        taken[month] = (_("该月已有该职工的核定记录,不需补缴。"), "already_billed")
    applied = (
        BackPayMonth.objects.filter(
            person_id=person_id,
            month__in=months,
            application__employer_id=employer_id,
            application__review_state__in=LIVE_STATES,
        )
        .values_list("month", "application__reference")
        .order_by("month")
    )
    for month, reference in applied:
        taken.setdefault(
            month,
            (_("该月已在补缴申请 %s 中,不能重复申请。") % reference, "already_applied"),
        )
    elsewhere = (
        BillLine.objects.filter(
            person_id=person_id, month__in=months, insurance_type__in=EXCLUSIVE_TYPES
        )
        .exclude(employer_id=employer_id)
        .values_list("month", flat=True)
        .distinct()
    )
    for month in elsewhere:
        taken.setdefault(
            month,
            (
                _("该职工该月已在其他单位缴纳养老或失业保险费,不能重复参保。"),
                "insured_elsewhere",
            ),
        )
    return [(month, *taken[month]) for month in sorted(taken)]


def backpay_list_for_agent(*, agent, limit: int = LIST_LIMIT) -> list[BackPayApplication]:
    """The unit's latest applications with their persons (one query)."""
    return list(
        BackPayApplication.objects.filter(employer_id=agent.employer_id)
        .select_related("enrolment__person")
        .defer("enrolment__person__phone")
        .order_by("-created_at", "-pk")[:limit]
    )


def backpay_get_for_agent(*, agent, reference: str) -> BackPayApplication:
    """Return an application of the agent's unit; 404 whether missing or another unit's."""
    return get_object_or_404(
        BackPayApplication.objects.select_related("enrolment__person", "submitted_by"),
        reference=reference,
        employer_id=agent.employer_id,
    )


def backpay_months(application: BackPayApplication) -> list[BackPayMonth]:
    return list(application.months.select_related("bill").order_by("month"))


def backpay_attachments(application: BackPayApplication) -> list[BackPayAttachment]:
    return list(application.attachments.defer("sha256").order_by("kind", "pk"))


def attachment_get_for_agent(*, agent, attachment_id: int) -> BackPayAttachment:
    """Return an attachment of the agent's unit; 404 whether missing or another unit's."""
    return get_object_or_404(BackPayAttachment, pk=attachment_id, employer_id=agent.employer_id)
