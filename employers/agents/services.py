"""Agent management by the unit admin: add, roles, disable and enable, password reset; and the
daily disabling of dormant agents.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q
from django.db.models.functions import Cast
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from employers.models import (
    Agent,
    Employer,
    Role,
)
from employers.permissions import agent_has_permission
from employers.selectors import agent_find
from employers.services import agent_create
from employers.validators import validate_agent_password
from portal.audit import audit_log
from portal.identifiers import (
    normalise_mobile,
    normalise_resident_id,
)
from portal.models import AuditEvent
from portal.sms import send_sms

LAST_ADMIN = _(
    "本单位至少需要保留一名启用的单位管理员。请先为另一名经办人设置“单位管理员”角色并启用,"
    "再进行此操作。"
)


AGENT_ID_TAKEN = _("本单位已有使用该身份证号的经办人,请在列表中找到并启用或修改其角色。")


ROLES_REQUIRED = _("请至少选择一个角色。")


OWN_PASSWORD = _("不能在此重置本人的密码,请使用“修改密码”功能。")


PASSWORD_RESET_NOTICE = _(
    "【社保网上服务大厅】您的经办人登录密码已由单位管理员重置,请向管理员获取新密码,"
    "登录后及时修改。如非本单位安排,请联系单位管理员或拨打12333。"
)


def _require_agent_manager(actor: Agent) -> None:
    if not agent_has_permission(actor, "agents.manage"):
        raise PermissionDenied


def _clean_roles(roles: Iterable[str]) -> list[str]:
    roles = sorted(set(roles))
    if not roles or not set(roles) <= set(Role.values):
        raise ValidationError({"roles": ValidationError(ROLES_REQUIRED, code="roles")})
    return roles


def _unit_agents_locked(employer_id: int) -> dict[int, Agent]:
    # Locking every agent of the unit (in a fixed order) serialises concurrent changes, so two
    # admins who disable each other at the same moment cannot leave the unit without one.
    agents = Agent.objects.select_for_update().filter(employer_id=employer_id).order_by("pk")
    return {agent.pk: agent for agent in agents}


def _is_active_admin(agent: Agent) -> bool:
    return agent.is_active and Role.UNIT_ADMIN in agent.roles


def _target_in_unit(actor: Agent, agent: Agent, agents: dict[int, Agent]) -> Agent:
    target = agents.get(agent.pk)
    if target is None:  # another unit's agent: selectors never hand one out
        raise PermissionDenied
    return target


@transaction.atomic
def agent_add(
    *,
    actor: Agent,
    name: str,
    id_number: str,
    phone: str,
    roles: Iterable[str],
    password: str,
    request=None,
) -> Agent:
    """Add an agent to the actor's unit; the caller has confirmed the phone by SMS code."""
    _require_agent_manager(actor)
    roles = _clean_roles(roles)
    id_number = normalise_resident_id(id_number)
    phone = normalise_mobile(phone)
    _unit_agents_locked(actor.employer_id)
    if agent_find(employer=actor.employer, id_number=id_number) is not None:
        raise ValidationError(
            {"id_number": ValidationError(AGENT_ID_TAKEN, code="id_number_taken")}
        )
    try:
        validate_agent_password(password, id_number=id_number, phone=phone)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from None
    return agent_create(
        employer=actor.employer,
        name=name.strip(),
        id_number=id_number,
        phone=phone,
        password=password,
        roles=roles,
        actor=actor.user,
        request=request,
    )


@transaction.atomic
def agent_roles_change(*, actor: Agent, agent: Agent, roles: Iterable[str], request=None) -> Agent:
    """Give an agent of the actor's unit new roles; the unit keeps at least one active admin."""
    _require_agent_manager(actor)
    roles = _clean_roles(roles)
    agents = _unit_agents_locked(actor.employer_id)
    target = _target_in_unit(actor, agent, agents)
    before = sorted(target.roles)
    if before == roles:
        return target
    others_admin = any(_is_active_admin(a) for pk, a in agents.items() if pk != target.pk)
    if _is_active_admin(target) and Role.UNIT_ADMIN not in roles and not others_admin:
        raise ValidationError({"roles": ValidationError(LAST_ADMIN, code="last_admin")})
    target.roles = roles
    target.full_clean(exclude=["user"], validate_constraints=False)
    target.save(update_fields=["roles"])
    audit_log(
        action="agent.roles_changed",
        actor=actor.user,
        employer_id=target.employer_id,
        obj=target,
        request=request,
        details={"before": before, "after": roles},
    )
    return target


@transaction.atomic
def agent_disable(*, actor: Agent, agent: Agent, request=None) -> Agent:
    """Disable an agent of the actor's unit (its session ends); never the last active admin."""
    _require_agent_manager(actor)
    agents = _unit_agents_locked(actor.employer_id)
    target = _target_in_unit(actor, agent, agents)
    if not target.is_active:
        return target
    others_admin = any(_is_active_admin(a) for pk, a in agents.items() if pk != target.pk)
    if _is_active_admin(target) and not others_admin:
        raise ValidationError(LAST_ADMIN, code="last_admin")
    target.is_active = False
    target.save(update_fields=["is_active"])
    audit_log(
        action="agent.disabled",
        actor=actor.user,
        employer_id=target.employer_id,
        obj=target,
        request=request,
        details={"reason": "unit_admin"},
    )
    return target


@transaction.atomic
def agent_enable(*, actor: Agent, agent: Agent, request=None) -> Agent:
    """Enable an agent of the actor's unit again, also one disabled for dormancy."""
    _require_agent_manager(actor)
    agents = _unit_agents_locked(actor.employer_id)
    target = _target_in_unit(actor, agent, agents)
    if target.is_active:
        return target
    target.is_active = True
    target.save(update_fields=["is_active"])
    audit_log(
        action="agent.enabled",
        actor=actor.user,
        employer_id=target.employer_id,
        obj=target,
        request=request,
    )
    return target


@transaction.atomic
def agent_password_reset_by_admin(
    *, actor: Agent, agent: Agent, password: str, request=None
) -> Agent:
    """Set a temporary password the admin hands over offline; the agent's sessions end."""
    _require_agent_manager(actor)
    agents = _unit_agents_locked(actor.employer_id)
    target = _target_in_unit(actor, agent, agents)
    if target.pk == actor.pk:
        raise ValidationError(OWN_PASSWORD, code="own_password")
    try:
        validate_agent_password(password, id_number=target.id_number, phone=target.phone)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from None
    user = target.user
    # A new password changes Django's session auth hash: every session of the agent ends.
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_log(
        action="agent.password_reset",
        actor=actor.user,
        employer_id=target.employer_id,
        obj=target,
        request=request,
        details={"by": "unit_admin"},
    )
    with translation.override(settings.LANGUAGE_CODE):  # an SMS is Chinese, as all the others
        phone, text = target.phone, str(PASSWORD_RESET_NOTICE)
    transaction.on_commit(lambda: send_sms(phone, text))
    return target


@transaction.atomic
def agents_disable_dormant(*, now: datetime.datetime | None = None) -> int:
    """Disable agents of active units with no login for the dormancy period; return how many.

    Units still in registration are left to their review (an approved unit's first login
    activates it). Never-used accounts count from their creation, and an agent its admin
    enabled again within the period counts from that enabling, or the next run would disable it
    before it could log in. The last active admin of a unit is disabled too: a dormant
    administrator is the account an intruder would most like to find (等保 2.0 asks for idle
    accounts to be removed), and the unit gets it back at the counter, where a clerk checks who
    is asking.
    """
    now = now or timezone.now()
    days = settings.RATE_LIMITS["dormant_agent_days"]
    cutoff = now - datetime.timedelta(days=days)
    enabled_since = AuditEvent.objects.filter(
        action="agent.enabled",
        object_type=Agent._meta.label,
        object_id=Cast(OuterRef("pk"), output_field=CharField()),
        created_at__gte=cutoff,
    )
    dormant = (
        Agent.objects.select_for_update(of=("self",))
        .filter(is_active=True, employer__status=Employer.Status.ACTIVE)
        .filter(
            Q(user__last_login__lt=cutoff) | Q(user__last_login__isnull=True, created_at__lt=cutoff)
        )
        .exclude(Exists(enabled_since))
        .order_by("pk")
    )
    count = 0
    for agent in dormant:
        agent.is_active = False
        agent.save(update_fields=["is_active"])
        audit_log(
            action="agent.disabled",
            employer_id=agent.employer_id,
            obj=agent,
            details={"reason": "dormant", "days": days},
        )
        count += 1
    return count
