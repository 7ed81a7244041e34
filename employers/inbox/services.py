"""Read marks of the 站内消息: per agent, so that every agent of a unit has its own unread list.

A read mark is the agent's own reading state, not a business event: no audit row is written.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from employers.inbox.selectors import inbox_list_for_agent
from employers.models import Agent
from portal.models import InboxMessage, InboxRead


@transaction.atomic
def inbox_mark_read(*, agent: Agent, message: InboxMessage) -> None:
    """Mark one message (already scoped to the agent) read; reading it again changes nothing."""
    InboxRead.objects.get_or_create(message=message, agent_id=agent.pk)


@transaction.atomic
def inbox_mark_all_read(*, agent: Agent) -> int:
    """Mark every unread message of the agent read; return how many."""
    now = timezone.now()
    pks = list(inbox_list_for_agent(agent=agent, unread_only=True).values_list("pk", flat=True))
    InboxRead.objects.bulk_create(
        [InboxRead(message_id=pk, agent_id=agent.pk, read_at=now) for pk in pks],
        batch_size=500,
        ignore_conflicts=True,  # a message opened in another tab meanwhile
    )
    return len(pks)
