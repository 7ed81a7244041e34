"""Writes of units, agents and the registry of opened accounts (the registration and agent
features call these to create rows)."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from employers.models import (
    Agent,
    Employer,
    OpenedAccount,
    Role,
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
        raise ValidationError(
            f"统筹区代码 {values['region']} 不存在:先运行 python manage.py load_regions "
            "载入行政区划代码(不是行政区划的统筹区在后台添加)"
        )
    if not region.is_active:
        raise ValidationError(f"统筹区代码 {region.code}({region.name})已撤销,请改用现行代码")
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
