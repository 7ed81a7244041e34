"""单位信息变更 (DESIGN.md section 14): the unit's contact details and its contribution bank
account change through a filing that a clerk reviews; until approval the old values stay in force.

A contact change is filed at once; a new contact phone is first confirmed by an SMS code sent to
it. A bank change first proves the new account with a penny-drop (the bank adapter of
employers.verification.bank, with its amounts, memo code, arrival date, wrong entries and answer
window); only a right amount sends the filing to review. Name, USCC and legal representative
change only at the counter.
"""

from __future__ import annotations

import datetime
import hmac
import secrets
import uuid

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from employers.models import Agent, Employer, PennyDropTransfer, UnitChangeFiling
from employers.permissions import agent_has_permission
from employers.unitinfo.selectors import masked_bank, masked_contact, open_unit_change
from employers.verification.bank import (
    ACTIVE_STATES,
    AMOUNT_FIELD,
    PENDING_MESSAGE,
    active_transfer_message,
    parse_amount_fen,
    penny_drop_start,
)
from portal.audit import audit_log
from portal.identifiers import nfkc, normalise_mobile, normalise_unit_name
from portal.models import AuditEvent
from portal.review import review_submit
from portal.smscodes import sms_code_send, sms_code_verify

Kind = UnitChangeFiling.Kind
Stage = UnitChangeFiling.Stage
State = PennyDropTransfer.State

SMS_PURPOSE = "unit_contact"
CONTACT_FIELDS = ("contact_name", "contact_phone", "address", "contact_email")
BANK_FIELDS = ("bank_name", "bank_account", "bank_account_name")

ALREADY_OPEN = gettext_lazy(
    "本单位已有一笔正在办理的%(kind)s(业务编号 %(reference)s),请等待其办结后再申请。"
)
UNCHANGED = gettext_lazy(
    "填写的信息与当前登记的信息完全相同,无需变更。请修改需要变更的内容后再提交。"
)
ACCOUNT_NAME = gettext_lazy(
    "户名须与单位全称“%(name)s”一致:缴费账户应为本单位的对公账户,不能使用个人或其他单位的账户。"
)
PHONE_CODE_NEEDED = gettext_lazy(
    "联系人手机号已更改:请点击“获取验证码”,填写发到新手机号的6位验证码。"
)
SAME_PHONE = gettext_lazy("该号码就是现在的联系人手机号,无需验证;如需更换,请先填写新手机号。")
NOT_AWAITING = gettext_lazy("该申请已不在待验证新账户阶段,无需再填写打款金额。")
NOT_CANCELLABLE = gettext_lazy("该申请已提交审核,不能撤销;请等待审核结果,如有疑问请拨打12333咨询。")


def unit_change_reference() -> str:
    return f"BG{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


def same_name(a: str, b: str) -> bool:
    """Names compared as the registry compares them: bracket width and spaces do not count."""
    return normalise_unit_name(a or "") == normalise_unit_name(b or "")


def _require_manager(agent: Agent) -> None:
    if not agent_has_permission(agent, "unit.manage"):
        raise PermissionDenied


def _existing(idempotency_key: uuid.UUID, employer_id: int) -> UnitChangeFiling | None:
    filing = UnitChangeFiling.objects.filter(idempotency_key=idempotency_key).first()
    if filing is not None and filing.employer_id != employer_id:
        # A key is random per form; one of another unit is a forged or replayed form.
        raise ValidationError(_("提交标识无效,请刷新页面后重新填写。"), code="bad_key")
    return filing


def _refuse_open(employer_id: int, kind: str) -> None:
    pending = open_unit_change(employer_id=employer_id, kind=kind)
    if pending is not None:
        raise ValidationError(
            ALREADY_OPEN % {"kind": pending.get_kind_display(), "reference": pending.reference},
            code="already_open",
        )


def _contact_values(*, contact_name, contact_phone, address, contact_email) -> dict[str, str]:
    return {
        "contact_name": " ".join(str(contact_name or "").split()),
        "contact_phone": normalise_mobile(contact_phone or ""),
        "address": str(address or "").strip(),
        "contact_email": str(contact_email or "").strip(),
    }


def _changed(employer: Employer, values: dict[str, str]) -> list[str]:
    return [name for name, value in values.items() if getattr(employer, name) != value]


def _contact_check(employer: Employer, values: dict[str, str]) -> list[str]:
    """Refuse while a contact change is open, or when nothing differs; return what changes."""
    _refuse_open(employer.pk, Kind.CONTACT)
    changed = _changed(employer, values)
    if not changed:
        raise ValidationError(UNCHANGED, code="unchanged")
    return changed


def contact_phone_code_send(*, agent: Agent, phone: str, ip_address: str | None = None) -> None:
    """Send an SMS code to the new contact phone (never to the one in force)."""
    _require_manager(agent)
    phone = normalise_mobile(phone)
    current = Employer.objects.only("contact_phone").get(pk=agent.employer_id).contact_phone
    if phone == current:
        raise ValidationError(SAME_PHONE, code="same_phone")
    sms_code_send(purpose=SMS_PURPOSE, phone=phone, ip_address=ip_address)


def contact_change_submit(
    *,
    agent: Agent,
    idempotency_key: uuid.UUID,
    contact_name: str,
    contact_phone: str,
    address: str,
    contact_email: str,
    reason: str,
    code: str = "",
    request=None,
) -> UnitChangeFiling:
    """File new contact details for review; a new phone needs the SMS code sent to it.

    The code is checked outside any transaction, so that a wrong entry stays counted. The same
    idempotency key returns the filing it made (a double click or a resubmitted form).
    """
    _require_manager(agent)
    existing = _existing(idempotency_key, agent.employer_id)
    if existing is not None:
        return existing
    values = _contact_values(
        contact_name=contact_name,
        contact_phone=contact_phone,
        address=address,
        contact_email=contact_email,
    )
    # Refusals that need no code come first, so that no code is spent on them.
    changed = _contact_check(Employer.objects.get(pk=agent.employer_id), values)
    phone_verified = False
    if "contact_phone" in changed:
        if not code:
            raise ValidationError({"code": ValidationError(PHONE_CODE_NEEDED, code="code")})
        try:
            sms_code_verify(purpose=SMS_PURPOSE, phone=values["contact_phone"], code=code)
        except ValidationError as exc:
            raise ValidationError({"code": exc.error_list}) from None
        phone_verified = True
    return _contact_change_create(
        agent=agent,
        idempotency_key=idempotency_key,
        values=values,
        reason=reason,
        phone_verified=phone_verified,
        request=request,
    )


@transaction.atomic
def _contact_change_create(
    *, agent, idempotency_key, values, reason, phone_verified, request
) -> UnitChangeFiling:
    # The unit's row serialises change filings: two submissions cannot both find none open.
    employer = Employer.objects.select_for_update().get(pk=agent.employer_id)
    existing = _existing(idempotency_key, employer.pk)
    if existing is not None:
        return existing
    changed = _contact_check(employer, values)
    if "contact_phone" in changed and not phone_verified:
        raise ValidationError({"code": ValidationError(PHONE_CODE_NEEDED, code="code")})
    filing = UnitChangeFiling(
        reference=unit_change_reference(),
        employer=employer,
        submitted_by=agent,
        kind=Kind.CONTACT,
        stage=Stage.IN_REVIEW,
        idempotency_key=idempotency_key,
        phone_verified_at=timezone.now() if "contact_phone" in changed else None,
        previous=masked_contact(employer),
        reason=str(reason or "").strip(),
        # The region decides the due time and whether real-time approval applies.
        review_region_id=employer.region_id,
        **values,
    )
    filing.full_clean(exclude=["employer", "submitted_by", "review_region"])
    filing.save()
    audit_log(
        action="unit.change_submitted",
        actor=agent.user,
        employer_id=employer.pk,
        obj=filing,
        request=request,
        details={"reference": filing.reference, "kind": filing.kind, "fields": changed},
    )
    review_submit(item=filing, actor=agent.user, request=request)
    return filing


# The bank account -------------------------------------------------------------------------------


def _limit(name: str) -> int:
    return settings.RATE_LIMITS[name]


@transaction.atomic
def bank_change_start(
    *,
    agent: Agent,
    idempotency_key: uuid.UUID,
    bank_name: str,
    bank_account: str,
    bank_account_name: str,
    reason: str,
    request=None,
    now: datetime.datetime | None = None,
) -> UnitChangeFiling:
    """Record a new bank account and send a penny-drop to it; review waits for its amount."""
    _require_manager(agent)
    now = now or timezone.now()
    employer = Employer.objects.select_for_update().get(pk=agent.employer_id)
    existing = _existing(idempotency_key, employer.pk)
    if existing is not None:
        return existing
    _refuse_open(employer.pk, Kind.BANK)
    if not same_name(bank_account_name, employer.name):
        raise ValidationError(
            {"bank_account_name": ValidationError(ACCOUNT_NAME % {"name": employer.name})},
            code="account_name",
        )
    values = {
        "bank_name": str(bank_name or "").strip(),
        "bank_account": "".join(nfkc(bank_account or "").split()).replace("-", ""),
        "bank_account_name": employer.name,
    }
    changed = _changed(employer, values)
    if not changed:
        raise ValidationError(UNCHANGED, code="unchanged")
    filing = UnitChangeFiling(
        reference=unit_change_reference(),
        employer=employer,
        submitted_by=agent,
        kind=Kind.BANK,
        stage=Stage.AWAITING_VERIFICATION,
        idempotency_key=idempotency_key,
        previous=masked_bank(employer),
        reason=str(reason or "").strip(),
        review_region_id=employer.region_id,
        **values,
    )
    filing.full_clean(exclude=["employer", "submitted_by", "review_region"])
    filing.save()
    audit_log(
        action="unit.change_started",
        actor=agent.user,
        employer_id=employer.pk,
        obj=filing,
        request=request,
        details={"reference": filing.reference, "kind": filing.kind, "fields": changed},
    )
    _transfer_send(filing, now=now, actor=agent.user, request=request)
    return filing


def _transfer_send(filing: UnitChangeFiling, *, now, actor, request) -> PennyDropTransfer:
    return penny_drop_start(
        change_filing=filing,
        now=now,
        actor=actor,
        request=request,
        details={"reference": filing.reference},
    )


def _locked_bank_filing(agent: Agent, filing: UnitChangeFiling) -> UnitChangeFiling:
    locked = (
        UnitChangeFiling.objects.select_for_update()
        .filter(pk=filing.pk, employer_id=agent.employer_id, kind=Kind.BANK)
        .first()
    )
    if locked is None:  # another unit's: selectors never hand one out
        raise PermissionDenied
    return locked


def bank_change_transfer_request(
    *, agent: Agent, filing: UnitChangeFiling, request=None, now: datetime.datetime | None = None
) -> PennyDropTransfer:
    """Send a new penny-drop after the last one failed or expired, within the daily cap."""
    _require_manager(agent)
    # A refusal keeps its audit row (and an expired transfer its new state).
    transfer, error = _transfer_request(
        agent=agent, filing=filing, now=now or timezone.now(), request=request
    )
    if error is not None:
        raise error
    return transfer


@transaction.atomic
def _transfer_request(*, agent, filing, now, request):
    filing = _locked_bank_filing(agent, filing)

    def refuse(reason, message):
        audit_log(
            action="penny_drop.requested",
            actor=agent.user,
            employer_id=filing.employer_id,
            outcome=AuditEvent.Outcome.FAILURE,
            obj=filing,
            request=request,
            details={"reason": reason, "reference": filing.reference},
        )
        return None, ValidationError(message, code=reason)

    if filing.stage != Stage.AWAITING_VERIFICATION:
        return refuse("not_awaiting", NOT_AWAITING)
    transfers = PennyDropTransfer.objects.filter(change_filing=filing)
    active = transfers.filter(state__in=ACTIVE_STATES).order_by("-requested_at").first()
    if active is not None:
        if now < active.expires_at:
            return refuse("active_transfer", active_transfer_message(active))
        active.state = State.EXPIRED
        active.save(update_fields=["state"])
    today = timezone.localdate(now)
    day_start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
    per_day = _limit("penny_drop_transfers_per_day")
    if (
        transfers.filter(
            requested_at__gte=day_start, requested_at__lt=day_start + datetime.timedelta(days=1)
        ).count()
        >= per_day
    ):
        return refuse(
            "daily_cap",
            _("今天已申请 %(count)d 次打款,已达上限,请于 %(date)s 起再申请。")
            % {"count": per_day, "date": f"{today + datetime.timedelta(days=1):%Y-%m-%d}"},
        )
    return _transfer_send(filing, now=now, actor=agent.user, request=request), None


def bank_change_confirm(
    *,
    agent: Agent,
    filing: UnitChangeFiling,
    amount_text: str,
    request=None,
    now: datetime.datetime | None = None,
) -> UnitChangeFiling:
    """Check the amount the new account received; a right one sends the filing to review.

    Input that is not an amount, and an amount entered before the transfer can have arrived,
    cost no attempt: the arrival day is known, and guesses before it are not counted because
    they are not checked at all.
    """
    _require_manager(agent)
    amount_fen = parse_amount_fen(amount_text)
    # A wrong entry must stay counted: the error is raised once the transaction has committed.
    now = now or timezone.now()
    filing, error = _bank_change_confirm(
        agent=agent, filing=filing, amount_fen=amount_fen, now=now, request=request
    )
    if error is not None:
        raise error
    return filing


@transaction.atomic
def _bank_change_confirm(*, agent, filing, amount_fen, now, request):
    filing = _locked_bank_filing(agent, filing)
    transfer = None

    def refuse(reason, message, *, field=True):
        audit_log(
            action="penny_drop.confirmed",
            actor=agent.user,
            employer_id=filing.employer_id,
            outcome=AuditEvent.Outcome.FAILURE,
            obj=transfer or filing,
            request=request,
            details={
                "reason": reason,
                "reference": filing.reference,
                "wrong_attempts": transfer.wrong_attempts if transfer else 0,
            },
        )
        error = ValidationError(message, code=reason)
        return filing, ValidationError({AMOUNT_FIELD: error}) if field else error

    if filing.stage != Stage.AWAITING_VERIFICATION:
        return refuse("not_awaiting", NOT_AWAITING, field=False)
    transfer = (
        PennyDropTransfer.objects.select_for_update()
        .filter(change_filing=filing, state__in=ACTIVE_STATES)
        .order_by("-requested_at", "-pk")
        .first()
    )
    if transfer is None:
        return refuse("no_transfer", _("没有待验证的打款,请先重新申请打款。"), field=False)
    if transfer.state == State.PENDING:
        return refuse("pending", PENDING_MESSAGE, field=False)
    if now >= transfer.expires_at:
        transfer.state = State.EXPIRED
        transfer.save(update_fields=["state"])
        return refuse(
            "expired",
            _("打款已超过%(days)d天,请重新申请打款。") % {"days": _limit("penny_drop_answer_days")},
            field=False,
        )
    if timezone.localdate(now) < transfer.arrives_on:
        return refuse(
            "not_arrived",
            _(
                "这笔打款预计 %(date)s 到账,到账前无法核对金额。本次填写未计入错误次数,"
                "请在到账后查看新账户流水再填写。"
            )
            % {"date": f"{transfer.arrives_on:%Y-%m-%d}"},
        )
    # Equal-width strings: the comparison time does not depend on where the digits differ.
    if not hmac.compare_digest(f"{amount_fen:04d}", f"{transfer.amount_fen:04d}"):
        transfer.wrong_attempts += 1
        allowed = _limit("penny_drop_wrong_entries")
        if transfer.wrong_attempts >= allowed:
            transfer.state = State.FAILED
            transfer.save(update_fields=["wrong_attempts", "state"])
            return refuse("too_many_wrong", _("错误次数过多,本次打款已作废,请重新申请打款。"))
        transfer.save(update_fields=["wrong_attempts"])
        return refuse(
            "wrong_amount",
            _("金额不正确,还可以再试 %(left)d 次。") % {"left": allowed - transfer.wrong_attempts},
        )
    transfer.state = State.VERIFIED
    transfer.verified_at = now
    transfer.save(update_fields=["state", "verified_at"])
    filing.account_verified_at = now
    filing.stage = Stage.IN_REVIEW
    filing.save(update_fields=["account_verified_at", "stage", "updated_at"])
    audit_log(
        action="penny_drop.confirmed",
        actor=agent.user,
        employer_id=filing.employer_id,
        obj=transfer,
        request=request,
        details={
            "reference": filing.reference,
            "bank_reference": transfer.bank_reference,
            "wrong_attempts": transfer.wrong_attempts,
        },
    )
    audit_log(
        action="unit.change_submitted",
        actor=agent.user,
        employer_id=filing.employer_id,
        obj=filing,
        request=request,
        details={"reference": filing.reference, "kind": filing.kind},
    )
    review_submit(item=filing, actor=agent.user, request=request)
    return filing, None


@transaction.atomic
def unit_change_cancel(*, agent: Agent, filing: UnitChangeFiling, request=None) -> UnitChangeFiling:
    """Withdraw a bank change still waiting for its penny-drop; the account in force stays.

    The review workflow has no withdrawal, so a filing once in review runs to its decision.
    """
    _require_manager(agent)
    filing = _locked_bank_filing(agent, filing)
    if filing.stage == Stage.CANCELLED:
        return filing
    if filing.stage != Stage.AWAITING_VERIFICATION:
        raise ValidationError(NOT_CANCELLABLE, code="not_cancellable")
    filing.stage = Stage.CANCELLED
    filing.save(update_fields=["stage", "updated_at"])
    PennyDropTransfer.objects.filter(change_filing=filing, state__in=ACTIVE_STATES).update(
        state=State.EXPIRED
    )
    audit_log(
        action="unit.change_cancelled",
        actor=agent.user,
        employer_id=filing.employer_id,
        obj=filing,
        request=request,
        details={"reference": filing.reference, "kind": filing.kind},
    )
    return filing
