"""Reads of employers and agents."""

from __future__ import annotations

from django.core.exceptions import ValidationError
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
