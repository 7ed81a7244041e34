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
from portal.identifiers import nfkc, normalise_unit_name

REGISTRY_MISMATCH = _(
    "单位社保编号与该统一社会信用代码的开户登记不一致,请对照社会保险登记证核对,"
    "或联系社保经办机构核实。"
)
REGISTRY_NO_USCC = _(
    "已开户单位登记簿中没有该统一社会信用代码:请核对营业执照;尚未办理社保开户的单位,"
    "请先到社保经办窗口开户。"
)
REGISTRY_NAME_MISMATCH = _(
    "单位全称与开户登记的名称不一致,请按营业执照上的全称填写(全角、半角括号和空格不影响比对)。"
)


def agent_find(*, employer: Employer, id_number: str) -> Agent | None:
    """Return the unit's agent with this ID number, found through the blind index."""
    return (
        Agent.objects.filter(employer=employer, id_number_index=blind_index("id_number", id_number))
        .select_related("user")
        .first()
    )


def opened_account_match(*, uscc: str, ss_number: str, name: str) -> OpenedAccount:
    """Return the opened account these three identify together, or raise a message on the field
    that differs from the registry (names compared after NFKC folding, without spaces)."""
    account = OpenedAccount.objects.filter(uscc=uscc).first()
    if account is None:
        raise ValidationError({"uscc": ValidationError(REGISTRY_NO_USCC, code="registry_no_uscc")})
    if normalise_ss_number(account.ss_number) != normalise_ss_number(ss_number):
        raise ValidationError(
            {"ss_number": ValidationError(REGISTRY_MISMATCH, code="registry_mismatch")}
        )
    if normalise_unit_name(account.name) != normalise_unit_name(name):
        raise ValidationError(
            {"name": ValidationError(REGISTRY_NAME_MISMATCH, code="registry_name_mismatch")}
        )
    return account


def normalise_ss_number(value: str) -> str:
    return "".join(nfkc(value).split()).upper()


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
