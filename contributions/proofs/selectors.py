"""Reads of proofs and of the persons a proof may name, scoped to the asking agent's unit."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from contributions.models import (
    ContributionProof,
)
from contributions.proofs.codes import proof_code_looks_valid, proof_code_normalise
from contributions.proofs.content import PROVEN_STATUSES
from enrollment.models import Enrolment, Person
from enrollment.roster.selectors import roster_for_agent

CANDIDATE_LIMIT = 20


def proof_person_candidates(*, agent, q: str, limit: int = CANDIDATE_LIMIT) -> list[Person]:
    """Persons with an approved enrolment (current or ended) with the agent's unit matching a
    name (in part) or a full document number (through the blind index); each carries
    ``proof_enrolments``, its enrolments with the unit."""
    q = " ".join((q or "").split())
    if not q:
        return []
    person_ids = (
        roster_for_agent(agent, q=q)
        .filter(status__in=PROVEN_STATUSES)
        .order_by("person_id")
        .values_list("person_id", flat=True)
        .distinct()[:limit]
    )
    persons = list(Person.objects.filter(pk__in=list(person_ids)).order_by("name", "pk"))
    _attach_enrolments(agent.employer_id, persons)
    return persons


def _attach_enrolments(employer_id: int, persons: list[Person]) -> None:
    by_person = defaultdict(list)
    for enrolment in Enrolment.objects.filter(
        employer_id=employer_id,
        person_id__in=[person.pk for person in persons],
        status__in=PROVEN_STATUSES,
    ).order_by("start_month", "pk"):
        by_person[enrolment.person_id].append(enrolment)
    for person in persons:
        person.proof_enrolments = by_person[person.pk]


def proof_person_get_for_agent(*, agent, person_id) -> Person | None:
    """The person if they have or had an approved enrolment with the agent's unit, else None."""
    try:
        person_id = int(person_id)
    except (TypeError, ValueError):
        return None
    person = Person.objects.filter(
        pk=person_id,
        enrolments__employer_id=agent.employer_id,
        enrolments__status__in=PROVEN_STATUSES,
    ).first()
    if person is not None:
        _attach_enrolments(agent.employer_id, [person])
    return person


def proof_list_for_agent(*, agent) -> QuerySet[ContributionProof]:
    """The unit's proofs, newest first, with what the list shows (one query per page)."""
    return (
        ContributionProof.objects.filter(employer_id=agent.employer_id)
        .select_related("person", "created_by")
        .defer("content", "person__phone", "person__document_number")
        .order_by("-created_at", "-pk")
    )


def proof_get_for_agent(*, agent, proof_id: int) -> ContributionProof:
    """One proof of the agent's unit; 404 whether it is missing or another unit's."""
    return get_object_or_404(
        ContributionProof.objects.select_related("employer", "person", "created_by"),
        pk=proof_id,
        employer_id=agent.employer_id,
    )


def proof_get_by_code(code: str) -> ContributionProof | None:
    """The proof with this (normalised) code, or None; the public page's only read."""
    code = proof_code_normalise(code)
    if not proof_code_looks_valid(code):
        code = ""  # matches nothing, in the same one query (and no NUL reaches PostgreSQL)
    return ContributionProof.objects.filter(code=code).first()
