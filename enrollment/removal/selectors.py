"""Reads of 减员 filings and removable enrolments, scoped to the asking agent's unit."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from enrollment.models import Enrolment, RemoveEmployeeFiling
from enrollment.roster.selectors import roster_for_agent, roster_rows
from portal.models import OPEN_REVIEW_STATES


def open_removal_filing(enrolment: Enrolment) -> RemoveEmployeeFiling | None:
    return (
        RemoveEmployeeFiling.objects.filter(
            enrolment_id=enrolment.pk, review_state__in=OPEN_REVIEW_STATES
        )
        .only("pk", "reference")
        .first()
    )


def removal_filing_get_for_agent(*, agent, reference: str) -> RemoveEmployeeFiling:
    """Return a removal filing of the agent's unit; 404 whether missing or another unit's."""
    return get_object_or_404(
        RemoveEmployeeFiling.objects.select_related("enrolment__person", "submitted_by"),
        reference=reference,
        employer_id=agent.employer_id,
    )


def removal_filing_list_for_agent(*, agent, limit: int = 20) -> list[RemoveEmployeeFiling]:
    """Return the unit's latest removal filings."""
    return list(
        RemoveEmployeeFiling.objects.filter(employer_id=agent.employer_id)
        .select_related("enrolment__person")
        .defer("enrolment__person__phone")
        .order_by("-created_at", "-pk")[:limit]
    )


def removable_enrolments_for_agent(*, agent, q: str, limit: int = 20) -> list[Enrolment]:
    """Return the unit's active employees matching a name or a full document number."""
    if not q.strip():
        return []
    return list(roster_rows(roster_for_agent(agent, q=q, status=Enrolment.Status.ACTIVE))[:limit])


def removable_enrolment_get_for_agent(*, agent, enrolment_id) -> Enrolment | None:
    """Return the unit's enrolment with this id (any status), or None."""
    try:
        enrolment_id = int(enrolment_id)
    except (TypeError, ValueError):
        return None
    return (
        Enrolment.objects.select_related("person", "employment_form")
        .defer("person__phone")
        .filter(pk=enrolment_id, employer_id=agent.employer_id)
        .first()
    )
