"""Reads of employers and agents."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from employers.models import (
    Agent,
    Employer,
    FaceVerificationSession,
    OpenedAccount,
    PennyDropTransfer,
    RegistrationApplication,
)
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


def application_latest_face_session(
    application: RegistrationApplication,
) -> FaceVerificationSession | None:
    """The application's latest face verification session, or None."""
    return application.face_sessions.order_by("-created_at").first()


def application_latest_penny_drop(application: RegistrationApplication) -> PennyDropTransfer | None:
    """The application's latest penny-drop transfer, or None."""
    return application.penny_drops.order_by("-requested_at", "-pk").first()


def face_session_get(*, token: str) -> FaceVerificationSession:
    """The face verification session of this (unguessable) token, with its unit; 404 otherwise."""
    return get_object_or_404(
        FaceVerificationSession.objects.select_related("application__employer"), token=token
    )


def agent_for_password_reset(*, agent_id: int | None) -> Agent | None:
    """The agent a password reset started for (its id kept signed in the session), or None."""
    if not agent_id:
        return None
    return Agent.objects.select_related("user", "employer").filter(pk=agent_id).first()
