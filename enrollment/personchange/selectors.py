"""Reads of 个人信息变更, always scoped to the asking agent's unit (404 otherwise)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from enrollment.models import Enrolment, PersonChangeAttachment, PersonChangeFiling

PERSON_DEFERRED = ("person__phone", "person__created_at", "person__updated_at")


def person_change_list_for_agent(agent) -> QuerySet[PersonChangeFiling]:
    """The unit's changes, newest first, with what the list shows (one query a page)."""
    return (
        PersonChangeFiling.objects.filter(employer_id=agent.employer_id)
        .select_related("person", "employment_form")
        .defer("phone", *PERSON_DEFERRED)
        .order_by("-created_at", "-pk")
    )


def person_change_get_for_agent(*, agent, reference: str) -> PersonChangeFiling:
    """One change of the agent's unit; 404 whether it is missing or another unit's."""
    return get_object_or_404(
        PersonChangeFiling.objects.select_related(
            "person", "enrolment", "employment_form", "employer__region"
        ),
        reference=reference,
        employer_id=agent.employer_id,
    )


def person_change_enrolment_get_for_agent(*, agent, enrolment_id: int) -> Enrolment:
    """One enrolment of the agent's unit; 404 whether missing or another unit's."""
    return get_object_or_404(
        Enrolment.objects.select_related("person", "employment_form", "employer__region"),
        pk=enrolment_id,
        employer_id=agent.employer_id,
    )


def person_change_attachment_get_for_agent(*, agent, attachment_id: int):
    """One attachment of the agent's unit; 404 whether missing or another unit's."""
    return get_object_or_404(
        PersonChangeAttachment.objects.select_related("filing"),
        pk=attachment_id,
        employer_id=agent.employer_id,
        filing__employer_id=agent.employer_id,
    )


def person_change_rows(filing: PersonChangeFiling) -> list[tuple[str, str, str, bool]]:
    """(label, old, new, changed) for each field, the phones masked: the page and the clerk's
    old → new."""
    from enrollment.models import HukouType
    from enrollment.personchange.services import FIELD_LABELS, FIELDS

    previous = filing.previous or {}

    def hukou(value):
        return str(HukouType(value).label) if value in HukouType.values else value or ""

    new = {
        "name": filing.name,
        "phone": filing.masked_phone,
        "hukou_type": hukou(filing.hukou_type),
        "employment_form": filing.employment_form.name,
    }
    old = {**previous, "hukou_type": hukou(previous.get("hukou_type"))}
    changed = set(filing.changed_fields)
    return [
        (
            str(FIELD_LABELS[name]),
            old.get(name) or "—",
            new[name] if name in changed else old.get(name) or "—",
            name in changed,
        )
        for name in FIELDS
    ]
