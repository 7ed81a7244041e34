"""Reads of a unit's agents, scoped to the asking unit admin's unit."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from employers.models import Agent


def agent_list_for_agent(*, agent: Agent) -> QuerySet[Agent]:
    """Return the agents of the agent's own unit with their logins, by name."""
    return (
        Agent.objects.filter(employer_id=agent.employer_id)
        .select_related("user")
        .order_by("name", "pk")
    )


def agent_get_for_agent(*, agent: Agent, agent_id: int) -> Agent:
    """Return an agent of the agent's own unit; 404 whether it is missing or another unit's."""
    return get_object_or_404(
        Agent.objects.select_related("user", "employer"),
        pk=agent_id,
        employer_id=agent.employer_id,
    )
