"""Every write to employers, agents and the registry of opened accounts."""

from __future__ import annotations

import datetime
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
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
from portal.audit import audit_log
from portal.identifiers import (
    normalise_mobile,
    normalise_resident_id,
    normalise_uscc,
    uscc_checksum_ok,
    validate_uscc_format,
)
from portal.models import Region
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
    application.submitted_at = timezone.now()
    application.save(update_fields=["state", "submitted_at", "updated_at"])
    employer = application.employer
    employer.status = Employer.Status.PENDING
    employer.save(update_fields=["status"])
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
    if application.submitted_at is None:
        return None
    submitted = timezone.localdate(application.submitted_at)
    return add_working_days(submitted, REVIEW_WORKING_DAYS)
