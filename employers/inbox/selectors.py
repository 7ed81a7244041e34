"""Reads of the 站内消息, scoped to the asking agent: its unit's messages and its own."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404

from employers.models import Agent
from portal.compiled_sql import CompiledQuery
from portal.models import InboxMessage, InboxRead

PAGE_SIZE = 20
# The header shows "99+" beyond this: counting a unit's whole history for a badge is not needed.
UNREAD_CAP = 99


def _visible(agent: Agent) -> QuerySet[InboxMessage]:
    # The unit's messages to every agent, and those addressed to this agent only.
    return InboxMessage.objects.filter(
        Q(agent_id__isnull=True) | Q(agent_id=agent.pk), employer_id=agent.employer_id
    )


def _read_by(agent: Agent):
    return Exists(InboxRead.objects.filter(message=OuterRef("pk"), agent_id=agent.pk))


def inbox_list_for_agent(
    *, agent: Agent, unread_only: bool = False, category: str = ""
) -> QuerySet[InboxMessage]:
    """The agent's messages, newest first, each with ``is_read`` for this agent."""
    messages = _visible(agent).annotate(is_read=_read_by(agent)).defer("body")
    if unread_only:
        messages = messages.filter(is_read=False)
    if category:
        messages = messages.filter(category=category)
    return messages.order_by("-created_at", "-pk")


def inbox_page_for_agent(
    *, agent: Agent, unread_only: bool = False, category: str = "", page_number=1
) -> Page:
    """One page of ``inbox_list_for_agent``."""
    messages = inbox_list_for_agent(agent=agent, unread_only=unread_only, category=category)
    return Paginator(messages, PAGE_SIZE).get_page(page_number)


def inbox_get_for_agent(*, agent: Agent, message_id: int) -> InboxMessage:
    """One message the agent may read; 404 whether it is missing, another unit's or another
    agent's."""
    return get_object_or_404(_visible(agent), pk=message_id)


def _unread_ids(agent: int, unit: int) -> QuerySet[InboxMessage]:
    agent = Agent(pk=agent, employer_id=unit)
    return _visible(agent).exclude(_read_by(agent)).values_list("pk", flat=True)[: UNREAD_CAP + 1]


# The header's badge on every agent page: its SQL compiled once per process.
_UNREAD = CompiledQuery(_unread_ids, "agent", "unit")


def inbox_unread_count(*, agent: Agent) -> int:
    """How many of the agent's messages it has not read, up to UNREAD_CAP + 1; one query."""
    return len(_UNREAD.rows(agent=agent.pk, unit=agent.employer_id))
