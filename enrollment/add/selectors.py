"""Reads of add-employee filings, always scoped to the asking agent's unit (404 otherwise)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from contributions.policy.reference import PolicyError, base_bounds
from enrollment.models import AddEmployeeFiling, Attachment, EmploymentForm


def employment_forms_for_region(region) -> QuerySet[EmploymentForm]:
    """The active 用工形式 a unit of the region may choose (its own and the nationwide ones)."""
    return EmploymentForm.objects.filter(is_active=True).filter(
        Q(region=region) | Q(region__isnull=True)
    )


def base_bounds_for(region, on_date: datetime.date) -> tuple[Decimal, Decimal] | None:
    """The base bounds in force on the date, or None when no published period covers it."""
    try:
        return base_bounds(region, on_date)
    except PolicyError:
        return None


def base_bounds_now_and_next(region) -> list[tuple[datetime.date, Decimal, Decimal]]:
    """(month, lower, upper) for this month and next, the second only when it differs.

    One query for both months: the region's published periods covering either (periods do not
    overlap — PolicyPeriod.clean — so at most one covers a month; newest first, as policy_for).
    """
    from django.utils import timezone

    from contributions.models import PolicyPeriod
    from enrollment.rules import add_months

    this_month = timezone.localdate().replace(day=1)
    next_month = add_months(this_month, 1)
    periods = list(
        PolicyPeriod.objects.filter(
            region=region, is_published=True, starts_on__lte=next_month, ends_on__gte=this_month
        )
        .order_by("-starts_on")
        .values_list("starts_on", "ends_on", "base_lower", "base_upper")
    )
    bounds = []
    for month in (this_month, next_month):
        found = next(
            ((lower, upper) for start, end, lower, upper in periods if start <= month <= end), None
        )
        if found and (not bounds or bounds[-1][1:] != found):
            bounds.append((month, *found))
    return bounds


def add_filing_list_for_agent(*, agent) -> QuerySet[AddEmployeeFiling]:
    """The unit's add filings, newest first, with what the list shows (one query)."""
    return (
        AddEmployeeFiling.objects.filter(employer_id=agent.employer_id)
        .select_related("enrolment__person", "enrolment__employment_form", "submitted_by")
        .order_by("-created_at", "-pk")
    )


def add_filing_get_for_agent(*, agent, reference: str) -> AddEmployeeFiling:
    """One filing of the agent's unit; 404 whether it is missing or another unit's."""
    return get_object_or_404(
        AddEmployeeFiling.objects.select_related(
            "employer__region",
            "employer__account",
            "enrolment__person",
            "enrolment__employment_form",
            "submitted_by",
        ),
        reference=reference,
        employer_id=agent.employer_id,
    )


def attachment_get_for_agent(*, agent, attachment_id: int) -> Attachment:
    """One attachment of the agent's unit; 404 whether it is missing or another unit's."""
    return get_object_or_404(
        Attachment.objects.select_related("filing"),
        pk=attachment_id,
        employer_id=agent.employer_id,
        filing__employer_id=agent.employer_id,
    )


def add_filing_attachments(filing: AddEmployeeFiling) -> list[Attachment]:
    """The filing's attachments, by kind and upload time (one query)."""
    return list(filing.attachments.order_by("kind", "uploaded_at"))
