"""Reads of employers and agents."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from employers.models import Agent, Employer, OpenedAccount, RegistrationApplication
from portal.crypto import blind_index

REGISTRY_MISMATCH = _("信用代码与社保编号不一致,请联系社保经办机构核实")


def agent_find(*, employer: Employer, id_number: str) -> Agent | None:
    """Return the unit's agent with this ID number, found through the blind index."""
    return (
        Agent.objects.filter(employer=employer, id_number_index=blind_index("id_number", id_number))
        .select_related("user")
        .first()
    )


def opened_account_match(*, uscc: str, ss_number: str, name: str) -> OpenedAccount:
    """Return the opened account these three identify together, or raise the registry message."""
    account = OpenedAccount.objects.filter(uscc=uscc, ss_number=ss_number).first()
    if account is None or account.name.strip() != name.strip():
        raise ValidationError(REGISTRY_MISMATCH, code="registry_mismatch")
    return account


def application_get(*, reference: str) -> RegistrationApplication | None:
    return (
        RegistrationApplication.objects.select_related("employer", "account")
        .filter(reference=reference)
        .first()
    )


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


def agent_counts_for_agent(*, agent: Agent) -> dict[str, int]:
    """Return how many agents the agent's unit has, and how many of them are enabled."""
    return Agent.objects.filter(employer_id=agent.employer_id).aggregate(
        total=Count("pk"), active=Count("pk", filter=Q(is_active=True))
    )
