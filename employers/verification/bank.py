"""Bank penny-drop (对公账户小额打款, DESIGN.md section 5): the unit proves it holds its account.

The bank sends a random 0.01–0.99 yuan with a short memo code to the unit's corporate account;
the unit enters the amount it received within the answer window. Wrong entries, the window and
the number of transfers a day are limited by settings.RATE_LIMITS (DESIGN.md section 11).
"""

from __future__ import annotations

import datetime
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from employers.models import PennyDropTransfer, RegistrationApplication, VerificationMethod
from portal.adapters import adapter_from_setting
from portal.audit import audit_log
from portal.identifiers import mask_bank_account
from portal.models import AuditEvent
from portal.workdays import add_working_days

MIN_AMOUNT_FEN = 1
MAX_AMOUNT_FEN = 99
AMOUNT_FIELD = "amount"
# Digits with an optional decimal part, after the currency sign and unit are taken off.
AMOUNT_PATTERN = re.compile(r"(-?)(\d+(?:\.\d*)?|\.\d+)")

AMOUNT_MESSAGES = {
    "required": gettext_lazy("请输入收到的打款金额,例如 0.35。"),
    "invalid": gettext_lazy("请输入收到的打款金额(单位:元),例如 0.35。"),
    "decimals": gettext_lazy("金额最多两位小数。"),
    "range": gettext_lazy("打款金额在 0.01 元至 0.99 元之间,请以元为单位填写,例如 0.35。"),
}


class BankAdapter:
    """A bank that can send a small transfer to a corporate account."""

    name = ""

    def send_micro_transfer(
        self, *, account_name: str, account_number: str, bank_name: str, amount_fen: int, memo: str
    ) -> str:
        """Send the transfer and return the bank's reference for it."""
        raise NotImplementedError

    def estimate_arrival(self, today: datetime.date) -> datetime.date:
        """Return the day by which the transfer should have arrived (1–3 working days)."""
        return add_working_days(today, 3)


class SandboxBank(BankAdapter):
    """Plays the bank in development: the PennyDropTransfer row is the statement line."""

    name = "sandbox"

    def send_micro_transfer(
        self, *, account_name: str, account_number: str, bank_name: str, amount_fen: int, memo: str
    ) -> str:
        return f"SBX{timezone.localdate():%Y%m%d}{secrets.token_hex(6).upper()}"

    def estimate_arrival(self, today: datetime.date) -> datetime.date:
        return add_working_days(today, 1 + secrets.randbelow(3))


ADAPTERS = {"sandbox": SandboxBank}


def bank_adapter() -> BankAdapter:
    """Return the configured bank: a name in ADAPTERS or a dotted path to a class."""
    return adapter_from_setting("BANK_ADAPTER", ADAPTERS, "bank adapter")


def memo_text(memo_code: str) -> str:
    return f"账户验证:{memo_code}"


def format_fen(amount_fen: int) -> str:
    return f"¥{amount_fen // 100}.{amount_fen % 100:02d}"


def parse_amount_fen(text: str) -> int:
    """Parse the yuan amount a unit typed ("0.35", "¥0.35", "0.35元") into fen, never rounding."""

    def refuse(code):
        raise ValidationError({AMOUNT_FIELD: ValidationError(AMOUNT_MESSAGES[code], code=code)})

    # NFKC turns full-width digits, points and "￥" into their ASCII forms.
    cleaned = "".join(unicodedata.normalize("NFKC", str(text or "")).split())
    cleaned = cleaned.removeprefix("¥").removesuffix("元")
    if not cleaned:
        refuse("required")
    match = AMOUNT_PATTERN.fullmatch(cleaned) if len(cleaned) <= 12 else None
    if match is None:
        refuse("invalid")
    try:
        fen = Decimal(match.group(2)) * 100
    except InvalidOperation:
        refuse("invalid")
    if fen != fen.to_integral_value():
        refuse("decimals")
    if match.group(1) or not MIN_AMOUNT_FEN <= fen <= MAX_AMOUNT_FEN:
        refuse("range")
    return int(fen)


def _limit(name: str) -> int:
    return settings.RATE_LIMITS[name]


def penny_drop_request(
    *, application: RegistrationApplication, now: datetime.datetime | None = None
) -> PennyDropTransfer:
    """Ask the bank for a penny-drop to the unit's account, within the daily cap."""
    # A refusal keeps its audit row (and an expired transfer its new state): the error is
    # raised once the transaction has committed.
    transfer, error = _penny_drop_request(application=application, now=now or timezone.now())
    if error is not None:
        raise error
    return transfer


@transaction.atomic
def _penny_drop_request(*, application, now):
    # The application row serialises requests, so that two clicks cannot pass the cap together.
    application = (
        RegistrationApplication.objects.select_for_update()
        .select_related("employer")
        .get(pk=application.pk)
    )
    employer = application.employer

    def refuse(reason, message, **details):
        audit_log(
            action="penny_drop.requested",
            employer_id=employer.pk,
            outcome=AuditEvent.Outcome.FAILURE,
            obj=application,
            details={"reason": reason, **details},
        )
        return None, ValidationError(message, code=reason)

    if application.state != RegistrationApplication.State.VERIFYING:
        return refuse("submitted", _("申请已提交,无需再次进行身份认证。"))

    active = application.penny_drops.filter(state=PennyDropTransfer.State.SENT).first()
    if active is not None:
        if now < active.expires_at:
            return refuse(
                "active_transfer",
                _(
                    "已有一笔打款(附言“%(memo)s”,预计 %(arrives)s 到账)尚未验证,"
                    "请查看对公账户流水并填写该笔打款金额。"
                )
                % {"memo": memo_text(active.memo_code), "arrives": f"{active.arrives_on:%Y-%m-%d}"},
                bank_reference=active.bank_reference,
            )
        active.state = PennyDropTransfer.State.EXPIRED
        active.save(update_fields=["state"])

    today = timezone.localdate(now)
    day_start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
    day_end = day_start + datetime.timedelta(days=1)
    requested_today = application.penny_drops.filter(
        requested_at__gte=day_start, requested_at__lt=day_end
    ).count()
    per_day = _limit("penny_drop_transfers_per_day")
    if requested_today >= per_day:
        tomorrow = today + datetime.timedelta(days=1)
        return refuse(
            "daily_cap",
            _("今天已申请 %(count)d 次打款,已达上限,请于 %(date)s 起再申请。")
            % {"count": per_day, "date": f"{tomorrow:%Y-%m-%d}"},
        )

    amount_fen = MIN_AMOUNT_FEN + secrets.randbelow(MAX_AMOUNT_FEN - MIN_AMOUNT_FEN + 1)
    memo_code = f"{secrets.randbelow(10000):04d}"
    bank = bank_adapter()
    bank_reference = bank.send_micro_transfer(
        account_name=employer.bank_account_name,
        account_number=employer.bank_account,
        bank_name=employer.bank_name,
        amount_fen=amount_fen,
        memo=memo_text(memo_code),
    )
    transfer = PennyDropTransfer(
        application=application,
        amount_fen=amount_fen,
        memo_code=memo_code,
        bank_reference=bank_reference,
        arrives_on=bank.estimate_arrival(today),
        expires_at=now + datetime.timedelta(days=_limit("penny_drop_answer_days")),
    )
    transfer.full_clean()
    transfer.save()
    audit_log(
        action="penny_drop.requested",
        employer_id=employer.pk,
        obj=transfer,
        details={
            "bank": bank.name,
            "bank_reference": bank_reference,
            "arrives_on": transfer.arrives_on.isoformat(),
        },
    )
    return transfer, None


def penny_drop_confirm(
    *, application: RegistrationApplication, amount_text: str, now: datetime.datetime | None = None
) -> PennyDropTransfer:
    """Check the amount the unit received; a right one verifies the application."""
    # Input that is not an amount costs no attempt.
    amount_fen = parse_amount_fen(amount_text)
    # A wrong entry must stay counted: the error is raised once the transaction has committed.
    transfer, error = _penny_drop_confirm(
        application=application, amount_fen=amount_fen, now=now or timezone.now()
    )
    if error is not None:
        raise error
    return transfer


@transaction.atomic
def _penny_drop_confirm(*, application, amount_fen, now):
    transfer = (
        PennyDropTransfer.objects.select_for_update()
        .filter(application=application, state=PennyDropTransfer.State.SENT)
        .order_by("-requested_at", "-pk")
        .first()
    )

    def refuse(reason, message, *, field=False):
        audit_log(
            action="penny_drop.confirmed",
            employer_id=application.employer_id,
            outcome=AuditEvent.Outcome.FAILURE,
            obj=transfer,
            details={
                "reason": reason,
                "bank_reference": transfer.bank_reference if transfer else "",
                "wrong_attempts": transfer.wrong_attempts if transfer else 0,
            },
        )
        error = ValidationError(message, code=reason)
        return transfer, ValidationError({AMOUNT_FIELD: error}) if field else error

    if transfer is None:
        return refuse("no_transfer", _("没有待验证的打款,请先申请打款。"))
    if now >= transfer.expires_at:
        transfer.state = PennyDropTransfer.State.EXPIRED
        transfer.save(update_fields=["state"])
        return refuse(
            "expired",
            _("打款已超过%(days)d天,请重新申请打款。") % {"days": _limit("penny_drop_answer_days")},
        )

    if timezone.localdate(now) < transfer.arrives_on:
        # Not there yet: whatever is typed cannot be the amount, so no try is used.
        return refuse(
            "not_arrived",
            _(
                "这笔打款预计 %(date)s 到账,到账前无法核对金额。本次填写未计入错误次数,"
                "请在到账后查看对公账户流水再填写。"
            )
            % {"date": f"{transfer.arrives_on:%Y-%m-%d}"},
            field=True,
        )
    # Equal-width strings: the comparison time does not depend on where the digits differ.
    if not hmac.compare_digest(f"{amount_fen:04d}", f"{transfer.amount_fen:04d}"):
        transfer.wrong_attempts += 1
        allowed = _limit("penny_drop_wrong_entries")
        if transfer.wrong_attempts >= allowed:
            transfer.state = PennyDropTransfer.State.FAILED
            transfer.save(update_fields=["wrong_attempts", "state"])
            return refuse(
                "too_many_wrong",
                _("错误次数过多,本次打款已作废,请重新申请。"),
                field=True,
            )
        transfer.save(update_fields=["wrong_attempts"])
        return refuse(
            "wrong_amount",
            _("金额不正确,还可以再试 %(left)d 次。") % {"left": allowed - transfer.wrong_attempts},
            field=True,
        )

    transfer.state = PennyDropTransfer.State.VERIFIED
    transfer.verified_at = now
    transfer.save(update_fields=["state", "verified_at"])
    application.verification_method = VerificationMethod.BANK
    application.verified_at = now
    application.verification_evidence = {
        "method": "bank",
        "bank_reference": transfer.bank_reference,
    }
    application.full_clean()
    application.save(
        update_fields=["verification_method", "verified_at", "verification_evidence", "updated_at"]
    )
    audit_log(
        action="penny_drop.confirmed",
        employer_id=application.employer_id,
        obj=transfer,
        details={
            "bank_reference": transfer.bank_reference,
            "wrong_attempts": transfer.wrong_attempts,
        },
    )
    return transfer, None


@dataclass(frozen=True)
class StatementLine:
    """One line of the sandbox bank's statement; the amount only once the money has arrived."""

    bank_reference: str
    account_name: str
    masked_account: str
    bank_name: str
    memo: str
    requested_at: datetime.datetime
    arrives_on: datetime.date
    amount: str | None


def sandbox_transfer_arrive(*, bank_reference: str, today: datetime.date | None = None) -> bool:
    """Let a sandbox transfer in transit arrive today (the sandbox bank's statement page, in
    development and tests only); True when it was still in transit."""
    today = today or timezone.localdate()
    return bool(
        PennyDropTransfer.objects.filter(bank_reference=bank_reference, arrives_on__gt=today)
        .exclude(bank_reference="")
        .update(arrives_on=today)
    )


def sandbox_bank_statement(
    *, today: datetime.date | None = None, limit: int = 50
) -> list[StatementLine]:
    """Return the sandbox bank's latest transfers as its statement shows them."""
    today = today or timezone.localdate()
    transfers = PennyDropTransfer.objects.select_related(
        "application__employer", "change_filing"
    ).order_by("-requested_at", "-pk")[:limit]
    lines = []
    for transfer in transfers:
        # The account paid into: a registering unit's, or the new one of a change filing.
        payee = transfer.change_filing or transfer.application.employer
        lines.append(
            StatementLine(
                bank_reference=transfer.bank_reference,
                account_name=payee.bank_account_name,
                masked_account=mask_bank_account(payee.bank_account),
                bank_name=payee.bank_name,
                memo=memo_text(transfer.memo_code),
                requested_at=transfer.requested_at,
                arrives_on=transfer.arrives_on,
                amount=format_fen(transfer.amount_fen) if transfer.arrives_on <= today else None,
            )
        )
    return lines
