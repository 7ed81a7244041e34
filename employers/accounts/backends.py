"""Authentication backends of the portal and the hooks that tie them to django-axes.

Agents log in with their unit's number (social-security number or USCC) and their ID number, or
their ID number alone when it names exactly one active agent; the ID number is found through its
blind index. Clerks log in to the admin with a username. django-axes counts failures per agent
under the agent's login name (``user.username``, which carries no personal data).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.functions import Substr
from django.shortcuts import render

from employers.models import Agent, CAChallenge, Employer
from employers.selectors import agent_find
from employers.verification.ca import (
    CertificateRejected,
    extract_unit_identifiers,
    load_certificates,
)
from employers.verification.ca_services import ca_challenge_redeem
from portal.crypto import blind_index
from portal.identifiers import normalise_resident_id

REQUEST_CACHE_ATTR = "_login_agents"


def normalise_unit_number(value: str | None) -> str:
    """Social-security numbers and USCCs are compared without spaces, in upper case."""
    return "".join((value or "").split()).upper()


def employer_find(unit: str | None) -> Employer | None:
    """Return the unit whose social-security number or USCC is ``unit``."""
    unit = normalise_unit_number(unit)
    if not unit:
        return None
    return Employer.objects.filter(Q(ss_number=unit) | Q(uscc=unit)).first()


def agent_resolve(*, unit: str | None, id_number: str | None) -> Agent | None:
    """Return the agent these login identifiers name, or None (also when they name several)."""
    id_number = normalise_resident_id(id_number or "")
    if not id_number or len(id_number) > 18:
        return None
    if normalise_unit_number(unit):
        employer = employer_find(unit)
        agent = agent_find(employer=employer, id_number=id_number) if employer else None
        if agent is not None:
            agent.employer = employer  # the unit just read: no second query at login
        return agent
    # The ID number alone: only when exactly one active agent of any unit has it.
    candidates = list(
        Agent.objects.filter(id_number_index=blind_index("id_number", id_number), is_active=True)
        .select_related("user", "employer")
        .order_by("pk")[:2]
    )
    return candidates[0] if len(candidates) == 1 else None


def _agent_for_request(request, unit, id_number) -> Agent | None:
    # django-axes asks for the username several times per attempt: look the agent up once.
    cache = getattr(request, REQUEST_CACHE_ATTR, None) if request is not None else None
    if cache is None:
        cache = {}
        if request is not None:
            setattr(request, REQUEST_CACHE_ATTR, cache)
    key = (normalise_unit_number(unit), normalise_resident_id(id_number or ""))
    if key not in cache:
        cache[key] = agent_resolve(unit=unit, id_number=id_number)
    return cache[key]


def agent_of_user_for_request(request, user) -> Agent | None:
    """The agent of ``user`` if this request already looked it up (see _agent_for_request)."""
    for agent in (getattr(request, REQUEST_CACHE_ATTR, None) or {}).values():
        if agent is not None and agent.user_id == user.pk:
            return agent
    return None


def normalise_username(username: str) -> str:
    return "".join(str(username).split()).lower()


UNKNOWN_KEY_PREFIX = "unknown-"


def login_key(request, unit: str | None, id_number: str | None) -> str:
    """The key failures and locks are kept under for these identifiers (no personal data).

    An agent's login name when they name one; otherwise a keyed hash of the identifiers, so that
    an unknown account is counted and locked exactly as a known one (DESIGN.md section 7).
    """
    agent = _agent_for_request(request, unit, id_number)
    if agent is not None:
        return normalise_username(agent.user.get_username())
    typed = f"{normalise_unit_number(unit)}|{normalise_resident_id(id_number or '')}"
    return UNKNOWN_KEY_PREFIX + blind_index("login", typed)[:40]


def axes_username(request, credentials: dict | None) -> str | None:
    """The key django-axes counts failures under: a login name or a hash, never an ID number.

    Axes passes two shapes: the credentials given to ``authenticate`` (``unit``/``id_number`` from
    the agent login forms, ``username`` from the admin login) and ``{"username": ...}`` after a
    successful login. Both end as the same normalised login name; identifiers that name no agent
    end as the keyed hash of ``login_key``.
    """
    credentials = credentials or {}
    username = credentials.get("username")
    if username:
        return normalise_username(username)
    if credentials.get("id_number"):
        return login_key(request, credentials.get("unit"), credentials["id_number"])
    return None


def axes_lockout_response(request, original_response=None, credentials=None):
    """The login views explain a lockout themselves; other login pages get the lockout page."""
    if getattr(request, "login_view_explains_lockout", False) and original_response is not None:
        return original_response
    return render(request, "accounts/locked.html", status=403)


class AgentPasswordBackend(ModelBackend):
    """Check an agent's password; the caller decides what a disabled agent or unit may do."""

    def authenticate(self, request, unit=None, id_number=None, password=None):
        if not id_number or password is None:
            return None
        agent = _agent_for_request(request, unit, id_number)
        if agent is None:
            # Hash anyway, so that an unknown account takes as long as a wrong password.
            get_user_model()().set_password(password)
            return None
        user = agent.user
        if user.check_password(password):
            return user
        return None


class AgentCertificateBackend(ModelBackend):
    """Log an agent in by the unit's CA certificate and a signature over a login challenge.

    ``unit`` is the unit the certificate names (see ``certificate_unit``); ``outcome`` is a dict
    the backend fills with the refusal (a CertificateRejected) for the view to show.
    """

    def authenticate(
        self,
        request,
        unit=None,
        id_number=None,
        certificate=None,
        signature=None,
        ca_challenge=None,
        outcome=None,
    ):
        if certificate is None or not id_number:
            return None
        outcome = outcome if outcome is not None else {}
        agent = _agent_for_request(request, unit, id_number) if unit else None
        try:
            ca_challenge_redeem(
                nonce=ca_challenge or "",
                purpose=CAChallenge.Purpose.LOGIN,
                certificate=certificate,
                signature=signature or "",
                expected_uscc=agent.employer.uscc if agent else normalise_unit_number(unit),
                request=request,
            )
        except CertificateRejected as exc:
            # Without a known agent the certificate cannot "belong to the wrong unit": say only
            # that the identifiers do not match, as for a wrong password.
            if agent is not None or exc.code != "wrong_unit":
                outcome["refusal"] = exc
            return None
        except ValidationError:
            return None
        return agent.user if agent is not None else None


class ClerkBackend(ModelBackend):
    """Usernames and passwords are for clerks (staff) only; agents log in through the portal."""

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and user.is_staff


def certificate_unit(certificate: bytes) -> str:
    """Return the USCC of the registered unit a certificate names, or "" when none is found."""
    try:
        leaf = load_certificates(certificate)[0]
        identifiers = extract_unit_identifiers(leaf)
    except (ValueError, IndexError):
        return ""
    if not identifiers:
        return ""
    usccs = [value for value in identifiers if len(value) == 18]
    employer = Employer.objects.filter(uscc__in=usccs).first() if usccs else None
    if employer is None:
        # Certificates issued before the USCC carry the organisation code (its characters 9-17).
        codes = [value for value in identifiers if len(value) == 9]
        employer = (
            Employer.objects.annotate(organisation_code=Substr("uscc", 9, 9))
            .filter(organisation_code__in=codes)
            .first()
            if codes
            else None
        )
    return employer.uscc if employer else ""
