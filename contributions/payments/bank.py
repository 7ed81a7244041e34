"""The contribution bank: debits a unit's contribution account for a confirmed bill.

The adapter is chosen by settings.CONTRIBUTION_BANK_ADAPTER (a name in ADAPTERS or a dotted path
to a class), as employers.verification.bank chooses the penny-drop bank. The sandbox plays the
bank in development and tests: its ledger is the SandboxBankAccount table, and money debited today
arrives at the social insurance fund 3–5 working days later (counted with portal.workdays).
``"http"`` is a bank's signed-HTTP API (HttpContributionBank, docs/INTEGRATIONS.md "Contribution
bank (direct debit)").
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributions.models import SandboxBankAccount, SandboxBankDebit
from portal import outbound
from portal.adapters import adapter_from_setting
from portal.audit import audit_log
from portal.workdays import add_working_days

INSUFFICIENT_FUNDS = "insufficient_funds"
INSUFFICIENT_FUNDS_MESSAGE = _(
    "单位缴费账户余额不足,本次扣款未成功,账户未被扣减任何金额。"
    "请向单位缴费账户存入不少于应缴合计的资金后,在本页重新发起扣款;"
    "超过缴费截止日仍未缴清的,自次日起按日加收万分之五的滞纳金。"
)
SETTLEMENT_WORKING_DAYS = (3, 5)  # the sandbox's range, as a real bank's clearing takes
# The largest balance the model can hold (max_digits=14, two decimal places).
MAX_BALANCE = Decimal("999999999999.99")


class BankUnavailable(Exception):
    """The bank did not answer (or not readably): whether it debited is unknown."""


@dataclass(frozen=True)
class DebitResult:
    """What the bank answered: a reference when it debited, else a failure code and message."""

    ok: bool
    bank_reference: str = ""
    failure_code: str = ""
    failure_message: str = ""


class ContributionBankAdapter:
    """A bank that debits a unit's contribution account and says when the money arrives."""

    name = ""
    is_sandbox = False

    def debit(self, *, employer, amount: Decimal, reference: str) -> DebitResult:
        """Debit ``amount`` yuan from the unit's account, quoting our payment reference; the same
        reference debits at most once. Raise BankUnavailable when the outcome is unknown."""
        raise NotImplementedError

    def debit_status(self, *, reference: str) -> DebitResult | None:
        """What became of the debit quoting ``reference``; None when the bank never received it.

        A real bank answers from its own records; the portal asks when a debit's answer was
        lost, instead of debiting again.
        """
        raise NotImplementedError

    def estimate_settlement(self, debit_date: datetime.date) -> datetime.date:
        """Return the day the debited money should reach the fund (3–5 working days)."""
        return add_working_days(debit_date, SETTLEMENT_WORKING_DAYS[1])


def sandbox_default_balance() -> Decimal:
    return Decimal(str(getattr(settings, "SANDBOX_BANK_DEFAULT_BALANCE", "1000000.00")))


def sandbox_account_for_update(employer) -> SandboxBankAccount:
    """The unit's sandbox account, locked; opened with the demo balance the first time."""
    account = SandboxBankAccount.objects.select_for_update().filter(employer=employer).first()
    if account is None:
        try:
            with transaction.atomic():  # a savepoint: a concurrent opening may win the race
                SandboxBankAccount.objects.create(
                    employer=employer, balance=sandbox_default_balance()
                )
        except IntegrityError:
            pass
        account = SandboxBankAccount.objects.select_for_update().get(employer=employer)
    return account


class SandboxContributionBank(ContributionBankAdapter):
    """Plays the bank in development and tests: the SandboxBankAccount row is the account."""

    name = "sandbox"
    is_sandbox = True

    def debit(self, *, employer, amount: Decimal, reference: str) -> DebitResult:
        with transaction.atomic():
            account = sandbox_account_for_update(employer)
            # Under the account's lock: a repeated request with the same reference answers the
            # first result and debits nothing.
            done = self.debit_status(reference=reference)
            if done is not None:
                return done
            if account.balance < amount:
                result = DebitResult(
                    ok=False,
                    failure_code=INSUFFICIENT_FUNDS,
                    failure_message=str(INSUFFICIENT_FUNDS_MESSAGE),
                )
            else:
                account.balance -= amount
                account.save(update_fields=["balance", "updated_at"])
                result = DebitResult(
                    ok=True,
                    bank_reference=(
                        f"SBXD{timezone.localdate():%Y%m%d}{secrets.token_hex(6).upper()}"
                    ),
                )
            SandboxBankDebit.objects.create(
                reference=reference,
                employer=employer,
                amount=amount,
                ok=result.ok,
                bank_reference=result.bank_reference,
                failure_code=result.failure_code,
                failure_message=result.failure_message,
            )
        return result

    def debit_status(self, *, reference: str) -> DebitResult | None:
        row = SandboxBankDebit.objects.filter(reference=reference).first()
        if row is None:
            return None
        return DebitResult(
            ok=row.ok,
            bank_reference=row.bank_reference,
            failure_code=row.failure_code,
            failure_message=row.failure_message,
        )

    def estimate_settlement(self, debit_date: datetime.date) -> datetime.date:
        # Tests fix the number of days with the setting; otherwise 3, 4 or 5 at random.
        days = getattr(settings, "SANDBOX_BANK_SETTLEMENT_DAYS", None)
        if days is None:
            low, high = SETTLEMENT_WORKING_DAYS
            days = low + secrets.randbelow(high - low + 1)
        return add_working_days(debit_date, int(days))


BANK_REFUSED_MESSAGE = _(
    "开户银行未受理本次扣款(代码 %(code)s),账户未被扣减任何金额。"
    "请联系开户银行核实单位缴费账户状态后,在本页重新发起扣款。"
)
# The bank's failure codes the portal explains in its own words (others: the bank's message).
KNOWN_FAILURES = {INSUFFICIENT_FUNDS: INSUFFICIENT_FUNDS_MESSAGE}


def _failure(code: str, message: str) -> DebitResult:
    code = (code or "refused")[:32]
    known = KNOWN_FAILURES.get(code)
    if known is not None:
        text = str(known)
    else:
        text = message or str(BANK_REFUSED_MESSAGE % {"code": code})
    return DebitResult(ok=False, failure_code=code, failure_message=text[:200])


class HttpContributionBank(ContributionBankAdapter):
    """The contribution bank's signed-HTTP API: ``POST /debits`` under the payment's reference
    as ``Idempotency-Key``, ``GET /debits/{reference}`` for its status (404: never received)."""

    name = "http"

    def __init__(self, client: outbound.SignedClient | None = None):
        self.client = client or outbound.SignedClient(
            base_url=settings.CONTRIBUTION_BANK_BASE_URL,
            key_id=settings.CONTRIBUTION_BANK_KEY_ID,
            secret=settings.CONTRIBUTION_BANK_SECRET,
        )

    def debit(self, *, employer, amount: Decimal, reference: str) -> DebitResult:
        body = {
            "reference": reference,
            "payer": {
                "name": employer.bank_account_name or employer.name,
                "uscc": employer.uscc,
                "account": employer.bank_account,
                "bank": employer.bank_name,
            },
            "amount": f"{Decimal(amount).quantize(Decimal('0.01'))}",
            "currency": "CNY",
        }
        try:
            answer = self.client.call("POST", "/debits", json=body, idempotency_key=reference)
        except outbound.OutboundRefused as exc:
            # The bank received the request and said no: nothing was debited.
            return _failure(str(exc.data.get("code") or ""), str(exc.data.get("message") or ""))
        except outbound.OutboundUnavailable as exc:
            raise BankUnavailable(str(exc)) from exc
        return self._result(answer.data)

    def debit_status(self, *, reference: str) -> DebitResult | None:
        try:
            answer = self.client.call("GET", f"/debits/{reference}")
        except outbound.OutboundRefused as exc:
            if exc.status == 404:
                return None
            raise BankUnavailable(f"status query refused with HTTP {exc.status}") from exc
        except outbound.OutboundUnavailable as exc:
            raise BankUnavailable(str(exc)) from exc
        return self._result(answer.data)

    @staticmethod
    def _result(data: dict) -> DebitResult:
        status = data.get("status")
        if status == "debited":
            reference = data.get("bank_reference")
            if not isinstance(reference, str) or not reference.strip():
                raise BankUnavailable("a debit without the bank's reference")
            return DebitResult(ok=True, bank_reference=reference.strip()[:64])
        if status == "failed":
            return _failure(str(data.get("code") or ""), str(data.get("message") or ""))
        # "processing" (the bank has it and answers later) or anything unreadable: unknown yet.
        raise BankUnavailable(f"status {status!r}")


ADAPTERS = {"sandbox": SandboxContributionBank, "http": HttpContributionBank}


def contribution_bank() -> ContributionBankAdapter:
    """Return the configured contribution bank."""
    return adapter_from_setting("CONTRIBUTION_BANK_ADAPTER", ADAPTERS, "bank adapter")


def sandbox_bank_active() -> bool:
    """Whether the sandbox pages may show: the sandbox bank is in use and sandboxes are allowed."""
    from employers.verification.views import sandbox_enabled

    return sandbox_enabled() and contribution_bank().is_sandbox


def sandbox_balance(employer) -> Decimal:
    """The unit's sandbox balance (the demo balance when its account is not opened yet)."""
    balance = (
        SandboxBankAccount.objects.filter(employer=employer)
        .values_list("balance", flat=True)
        .first()
    )
    return sandbox_default_balance() if balance is None else balance


@transaction.atomic
def sandbox_balance_change(*, agent, amount: Decimal, mode: str, request=None) -> Decimal:
    """Top the unit's sandbox account up by ``amount`` ("deposit") or set it ("set"); audited."""
    if not sandbox_bank_active():
        raise ValidationError(_("模拟银行未启用。"), code="sandbox_off")
    account = sandbox_account_for_update(agent.employer)
    before = account.balance
    after = (before + amount if mode == "deposit" else amount).quantize(Decimal("0.01"))
    if after < 0 or after > MAX_BALANCE:
        raise ValidationError(
            {"amount": _("调整后的余额应在 0 至 %(max)s 元之间。") % {"max": f"{MAX_BALANCE:,}"}},
            code="out_of_range",
        )
    account.balance = after
    account.save(update_fields=["balance", "updated_at"])
    audit_log(
        action="sandbox_bank.balance_changed",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=account,
        request=request,
        details={"mode": mode, "before": str(before), "after": str(after)},
    )
    return after
