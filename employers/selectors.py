"""Reads of employers and agents."""

from __future__ import annotations

from employers.models import Agent, Employer
from portal.crypto import blind_index


def agent_find(*, employer: Employer, id_number: str) -> Agent | None:
    """Return the unit's agent with this ID number, found through the blind index."""
    return (
        Agent.objects.filter(employer=employer, id_number_index=blind_index("id_number", id_number))
        .select_related("user")
        .first()
    )
