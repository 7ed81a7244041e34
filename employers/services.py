"""Every write to employers, agents and the registry of opened accounts."""

from __future__ import annotations

import datetime
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from employers.models import (
    Agent,
    Employer,
    OpenedAccount,
    RegistrationApplication,
    Role,
    VerificationMethod,
)
from employers.permissions import agent_has_permission
from employers.selectors import agent_find
from employers.validators import validate_agent_password
from portal.audit import audit_log
from portal.identifiers import (
    normalise_mobile,
    normalise_resident_id,
    normalise_uscc,
    uscc_checksum_ok,
    validate_uscc_format,
)
from portal.models import AuditEvent, Notification, Region, ReviewState
from portal.notifications import notification_create
from portal.review import review_submit
from portal.sms import send_sms
from portal.workdays import add_working_days


@transaction.atomic
def employer_create(
    *,
    account: OpenedAccount,
    legal_rep_id_number: str,
    contact_phone: str,
    bank_name: str,
    bank_account: str,
    bank_account_name: str,
    contact_email: str = "",
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
        contact_email=contact_email,
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
    request=None,
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
        request=request,
        details={"roles": roles},
    )
    return agent


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)


ACCOUNT_COLUMNS = ("ss_number", "uscc", "name", "region", "legal_rep_name", "opened_on")


def _parse_account_row(row: dict[str, str], regions: dict[str, Region]) -> dict:
    values = {key: (row.get(key) or "").strip() for key in ACCOUNT_COLUMNS}
    missing = [key for key in ACCOUNT_COLUMNS if not values[key]]
    if missing:
        raise ValidationError(f"缺少字段 {', '.join(missing)}")
    values["uscc"] = normalise_uscc(values["uscc"])
    validate_uscc_format(values["uscc"])
    region = regions.get(values["region"])
    if region is None:
        raise ValidationError(f"统筹区代码 {values['region']} 不存在,请先在后台添加统筹区")
    values["region"] = region
    try:
        values["opened_on"] = datetime.date.fromisoformat(values["opened_on"])
    except ValueError:
        raise ValidationError("开户日期应为 YYYY-MM-DD 格式") from None
    return values


def opened_accounts_import(
    *, rows: Iterable[tuple[int, dict[str, str]]], actor=None
) -> ImportReport:
    """Load registry rows (line number → row); bad rows are reported, good rows still load.

    Idempotent: a row is keyed by its social-security number, and a row equal to what is stored
    changes nothing. A USCC that fails the GB 32100 check is loaded (early pilot codes are legal)
    and reported as a warning, because only the registry can vouch for such a code.
    """
    report = ImportReport()
    regions = {region.code: region for region in Region.objects.all()}
    for line, row in rows:
        try:
            values = _parse_account_row(row, regions)
            with transaction.atomic():
                outcome = _opened_account_upsert(values)
        except ValidationError as exc:
            report.errors.append((line, ";".join(exc.messages)))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
        if not uscc_checksum_ok(values["uscc"]):
            report.warnings.append(
                (line, f"信用代码 {values['uscc']} 未通过校验位检查,按登记簿导入")
            )
    with transaction.atomic():
        audit_log(
            action="registry.imported",
            actor=actor,
            details={
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "errors": len(report.errors),
            },
        )
    return report


def _opened_account_upsert(values: dict) -> str:
    clash = (
        OpenedAccount.objects.filter(uscc=values["uscc"])
        .exclude(ss_number=values["ss_number"])
        .first()
    )
    if clash is not None:
        raise ValidationError(f"信用代码已登记在单位社保编号 {clash.ss_number} 下")
    account = (
        OpenedAccount.objects.select_for_update().filter(ss_number=values["ss_number"]).first()
    )
    if account is None:
        account = OpenedAccount(**values)
        account.full_clean()
        account.save()
        return "created"
    changed = [key for key, value in values.items() if getattr(account, key) != value]
    if not changed:
        return "unchanged"
    for key in changed:
        setattr(account, key, values[key])
    account.full_clean()
    account.save(update_fields=[*changed, "imported_at"])
    return "updated"


REVIEW_WORKING_DAYS = 3  # the promise on the status page: reviewed within 1–3 working days


def _new_reference() -> str:
    return f"ZC{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


@transaction.atomic
def registration_start(
    *,
    account: OpenedAccount,
    legal_rep_id_number: str,
    contact_phone: str,
    bank_name: str,
    bank_account: str,
    bank_account_name: str,
    agent_name: str,
    agent_id_number: str,
    agent_phone: str,
    password: str,
    contact_email: str = "",
    request=None,
) -> RegistrationApplication:
    """Record the unit's answers: the unit (unverified), its first administrator, the application.

    A unit registers once: a registered unit or one under review is refused. An earlier
    application that never got past identity verification is replaced.
    """
    account = OpenedAccount.objects.select_for_update().get(pk=account.pk)
    existing = Employer.objects.filter(account=account).first()
    if existing is not None:
        if existing.status != Employer.Status.UNVERIFIED:
            raise ValidationError(
                ALREADY_REGISTERED.get(existing.status, ALREADY_REGISTERED["default"]),
                code="already_registered",
            )
        get_user_model().objects.filter(agent__employer=existing).delete()
        existing.delete()
    employer = employer_create(
        account=account,
        legal_rep_id_number=legal_rep_id_number,
        contact_phone=contact_phone,
        contact_email=contact_email,
        bank_name=bank_name,
        bank_account=bank_account,
        bank_account_name=bank_account_name,
        status=Employer.Status.UNVERIFIED,
    )
    agent_create(
        employer=employer,
        name=agent_name,
        id_number=agent_id_number,
        phone=agent_phone,
        password=password,
        roles=[Role.UNIT_ADMIN],
    )
    flags = [] if uscc_checksum_ok(account.uscc) else [RegistrationApplication.Flag.USCC_CHECKSUM]
    application = RegistrationApplication(
        reference=_new_reference(), account=account, employer=employer, flags=flags
    )
    application.full_clean()
    application.save()
    audit_log(
        action="registration.started",
        employer_id=employer.pk,
        obj=application,
        request=request,
        details={"flags": flags},
    )
    return application


ALREADY_REGISTERED = {
    Employer.Status.PENDING: _(
        "本单位的注册申请正在审核中,请等待审核结果短信,或登录查看审核进度。"
    ),
    Employer.Status.REJECTED: _(
        "本单位已提交过注册申请且未通过审核,请登录后按审核意见修改并重新提交。"
    ),
    "default": _("本单位已完成网上注册,请直接登录;如忘记密码,请使用“忘记密码”。"),
}


@transaction.atomic
def registration_record_certificate(
    *, application: RegistrationApplication, check, request=None
) -> RegistrationApplication:
    """Record a verified CA certificate as the application's identity proof."""
    application = RegistrationApplication.objects.select_for_update().get(pk=application.pk)
    application.verification_method = VerificationMethod.CA
    application.verified_at = timezone.now()
    application.verification_evidence = check.as_evidence()
    application.save(
        update_fields=["verification_method", "verified_at", "verification_evidence", "updated_at"]
    )
    return application


@transaction.atomic
def registration_submit(
    *, application: RegistrationApplication, request=None
) -> RegistrationApplication:
    """Put a verified application into the review queue."""
    application = (
        RegistrationApplication.objects.select_for_update()
        .select_related("employer")
        .get(pk=application.pk)
    )
    if application.state == RegistrationApplication.State.SUBMITTED:
        return application  # a double click submits once
    if application.verified_at is None:
        raise ValidationError(
            _("请先完成身份认证(CA证书、人脸识别或对公账户打款任选一种)。"), code="unverified"
        )
    application.state = RegistrationApplication.State.SUBMITTED
    application.review_region_id = application.employer.region_id
    application.save(update_fields=["state", "review_region", "updated_at"])
    review_submit(item=application, request=request)
    employer = application.employer
    employer.status = Employer.Status.PENDING
    employer.save(update_fields=["status"])
    notification_create(
        channel=Notification.Channel.SMS,
        recipient=employer.contact_phone,
        template="registration_submitted",
        context={
            "unit": employer.name,
            "reference": application.reference,
            "due": timezone.localdate(application.due_at).strftime("%Y-%m-%d"),
        },
        employer_id=employer.pk,
    )
    audit_log(
        action="registration.submitted",
        employer_id=employer.pk,
        obj=application,
        request=request,
        details={"method": application.verification_method},
    )
    return application


def registration_due_date(application: RegistrationApplication) -> datetime.date | None:
    """The date by which the review is promised, in working days after submission."""
    if application.due_at is not None:
        return timezone.localdate(application.due_at)
    if application.submitted_at is None:
        return None
    submitted = timezone.localdate(application.submitted_at)
    return add_working_days(submitted, REVIEW_WORKING_DAYS)


@transaction.atomic
def registration_resubmit(
    *,
    application: RegistrationApplication,
    legal_rep_id_number: str,
    contact_email: str,
    bank_name: str,
    bank_account: str,
    bank_account_name: str,
    actor=None,
    request=None,
) -> RegistrationApplication:
    """Correct a rejected application's answers and put it back into the review queue."""
    application = (
        RegistrationApplication.objects.select_for_update()
        .select_related("employer")
        .get(pk=application.pk)
    )
    if application.review_state != ReviewState.REJECTED:
        raise ValidationError(_("只有未通过审核的申请可以修改后重新提交。"), code="not_rejected")
    employer = application.employer
    employer.legal_rep_id_number = normalise_resident_id(legal_rep_id_number)
    employer.contact_email = contact_email
    employer.bank_name = bank_name
    employer.bank_account = bank_account
    employer.bank_account_name = bank_account_name
    employer.status = Employer.Status.PENDING
    employer.full_clean()
    employer.save(
        update_fields=[
            "legal_rep_id_number",
            "contact_email",
            "bank_name",
            "bank_account",
            "bank_account_name",
            "status",
        ]
    )
    review_submit(item=application, actor=actor, request=request)
    return application


# Agents of a unit, managed by its unit admin (DESIGN.md section 6).

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
