"""Every write to employers, agents and the registry of opened accounts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction

from employers.models import Agent, Employer, OpenedAccount, Role
from portal.audit import audit_log
from portal.identifiers import normalise_mobile, normalise_resident_id


@transaction.atomic
def employer_create(
    *,
    account: OpenedAccount,
    legal_rep_id_number: str,
    contact_phone: str,
    bank_name: str,
    bank_account: str,
    bank_account_name: str,
    status: str = Employer.Status.PENDING,
    actor=None,
) -> Employer:
    """Create the unit for an opened account, copying the registry's identifying fields."""
    employer = Employer(
        account=account,
        name=account.name,
        uscc=account.uscc,
        ss_number=account.ss_number,
        region=account.region,
        legal_rep_name=account.legal_rep_name,
        legal_rep_id_number=normalise_resident_id(legal_rep_id_number),
        contact_phone=normalise_mobile(contact_phone),
        bank_name=bank_name,
        bank_account=bank_account,
        bank_account_name=bank_account_name,
        status=status,
    )
    employer.full_clean()
    employer.save()
    audit_log(action="employer.created", actor=actor, employer_id=employer.pk, obj=employer)
    return employer


@transaction.atomic
def agent_create(
    *,
    employer: Employer,
    name: str,
    id_number: str,
    phone: str,
    password: str,
    roles: Iterable[str],
    actor=None,
) -> Agent:
    """Create an agent and the login behind it; the username carries no personal data."""
    roles = sorted(set(roles))
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    user = get_user_model().objects.create_user(
        username=f"agent-{uuid.uuid4().hex[:16]}", password=password
    )
    agent = Agent(
        user=user,
        employer=employer,
        name=name,
        id_number=normalise_resident_id(id_number),
        phone=normalise_mobile(phone),
        roles=roles,
    )
    agent.full_clean(exclude=["user"])
    agent.save()
    audit_log(
        action="agent.created",
        actor=actor,
        employer_id=employer.pk,
        obj=agent,
        details={"roles": roles},
    )
    return agent
