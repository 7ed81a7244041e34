"""Reads of add-employee filings, always scoped to the asking agent's unit (404 otherwise)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from contributions.models import PolicyPeriod
from contributions.policy.reference import PolicyError, base_bounds
from enrollment.models import AddEmployeeFiling, Attachment, EmploymentForm
from enrollment.rules import add_months
from portal.compiled_sql import CompiledQuery


def employment_forms_for_region(region) -> QuerySet[EmploymentForm]:
    """The active 用工形式 a unit of the region may choose (its own and the nationwide ones)."""
    return EmploymentForm.objects.filter(is_active=True).filter(
        Q(region=region) | Q(region__isnull=True)
    )


# Read on every add-employee page: the SQL of both compiled once per process.
_EMPLOYMENT_FORM_CHOICES = CompiledQuery(
    lambda region: employment_forms_for_region(region).values_list("pk", "name"), "region"
)
_BOUND_PERIODS = CompiledQuery(
    lambda region, this_month, next_month: (
        PolicyPeriod.objects.filter(
            region=region, is_published=True, starts_on__lte=next_month, ends_on__gte=this_month
        )
        .order_by("-starts_on")
        .values_list("starts_on", "ends_on", "base_lower", "base_upper", "region__name")
    ),
    "region",
    this_month=datetime.date,
    next_month=datetime.date,
)


_EMPLOYMENT_FORM = CompiledQuery(
    lambda region, pk: employment_forms_for_region(region).filter(pk=pk), "region", "pk"
)


def employment_form_get(region, pk: int) -> EmploymentForm | None:
    """The form of that id among employment_forms_for_region, as the select's queryset.get()
    reads it (a submitted choice, checked on every add-employee POST), or None."""
    found = _EMPLOYMENT_FORM.instances(region=getattr(region, "pk", region), pk=pk)
    return found[0] if found else None


def employment_form_choices(region) -> list[tuple[int, str]]:
    """(id, name) of employment_forms_for_region, in its order: the options of its select."""
    return _EMPLOYMENT_FORM_CHOICES.rows(region=getattr(region, "pk", region))


def base_bounds_for(region, on_date: datetime.date) -> tuple[Decimal, Decimal] | None:
    """The base bounds in force on the date, or None when no published period covers it."""
    try:
        return base_bounds(region, on_date)
    except PolicyError:
        return None


def region_base_bounds(region) -> tuple[str, list[tuple[datetime.date, Decimal, Decimal]]]:
    """The region's name and (month, lower, upper) for this month and next, the second only
    when it differs; the name is "" when no published period covers either month.

    One query for both months: the region's published periods covering either (periods do not
    overlap — PolicyPeriod.clean — so at most one covers a month; newest first, as policy_for).
    The name comes with the periods because the page names the region only beside them.
    """
    this_month = timezone.localdate().replace(day=1)
    next_month = add_months(this_month, 1)
    periods = _BOUND_PERIODS.rows(
        region=getattr(region, "pk", region), this_month=this_month, next_month=next_month
    )
    bounds = []
    for month in (this_month, next_month):
        found = next(
            (
                (lower, upper)
                for start, end, lower, upper, _name in periods
                if start <= month <= end
            ),
            None,
        )
        if found and (not bounds or bounds[-1][1:] != found):
            bounds.append((month, *found))
    return (periods[0][4] if periods else ""), bounds


def base_bounds_now_and_next(region) -> list[tuple[datetime.date, Decimal, Decimal]]:
    """(month, lower, upper) for this month and next, the second only when it differs (one
    query, region_base_bounds)."""
    return region_base_bounds(region)[1]


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
