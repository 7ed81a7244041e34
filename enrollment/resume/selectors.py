"""Reads of 续保, always scoped to the asking agent's unit (404 otherwise)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from enrollment.models import Enrolment
from enrollment.resume.rules import RESUMABLE_STATUSES, with_resumable

# Columns the list never shows: not loading them saves decrypting a phone per row.
ROW_DEFERRED = ("person__phone", "person__created_at", "person__updated_at")


def resume_candidates_for_agent(agent) -> QuerySet[Enrolment]:
    """The unit's enrolments that may be resumed (the person's latest with the unit, ended or
    suspended, nothing else open), newest first; one query a page."""
    return (
        with_resumable(
            Enrolment.objects.filter(employer_id=agent.employer_id, status__in=RESUMABLE_STATUSES)
        )
        .filter(resumable=True)
        .select_related("person", "employment_form")
        .defer(*ROW_DEFERRED)
        .order_by("-pk")
    )


def resume_enrolment_get_for_agent(*, agent, enrolment_id: int) -> Enrolment:
    """One enrolment of the agent's unit with its resumability; 404 whether missing or
    another unit's."""
    return get_object_or_404(
        with_resumable(Enrolment.objects.select_related("person", "employment_form")),
        pk=enrolment_id,
        employer_id=agent.employer_id,
    )
