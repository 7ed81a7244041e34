"""Bank penny-drop (对公账户小额打款, DESIGN.md section 5): the unit proves it holds its account.

The bank sends a random 0.01–0.99 yuan with a short memo code to the unit's corporate account;
the unit enters the amount it received within the answer window. Wrong entries, the window and
the number of transfers a day are limited by settings.RATE_LIMITS (DESIGN.md section 11).

The bank is never called inside a transaction: penny_drop_start writes the transfer PENDING and
queues penny_drop_send after commit, which calls the bank and records its answer in a new
transaction; penny_drops_resolve (beat) asks the bank about transfers whose answer was lost, under
the same request_id, so that no transfer is ever sent twice. The sandbox bank takes the same path.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from employers.models import (
    PennyDropTransfer,
    RegistrationApplication,
    UnitChangeFiling,
    VerificationMethod,
)
from portal import outbound
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


logger = logging.getLogger(__name__)
State = PennyDropTransfer.State


@dataclass(frozen=True)
class TransferAccepted:
    """The bank took the transfer: its reference and the day the money should be there."""

    bank_reference: str
    arrives_on: datetime.date


class BankRefused(Exception):
    """The bank will not make the transfer (a definite answer, e.g. a closed account)."""

    def __init__(self, code: str):
        self.code = code[:64] or "refused"
        super().__init__(self.code)


class BankUnavailable(Exception):
    """No answer from the bank (or "still processing"): ask again later, same request id."""


class TransferUnknown(Exception):
    """The bank has no transfer under this request id: the call never reached it."""


class BankAdapter:
    """A bank that can send a small transfer to a corporate account, once per request id."""

    name = ""

    def send_micro_transfer(
        self,
        *,
        request_id: str,
        account_name: str,
        account_number: str,
        bank_name: str,
        amount_fen: int,
        memo: str,
    ) -> TransferAccepted:
        """Send the transfer (again under the same request_id: the same one, not a second)."""
        raise NotImplementedError

    def transfer_status(self, *, request_id: str) -> TransferAccepted:
        """Return the transfer made under request_id; BankRefused, TransferUnknown or
        BankUnavailable otherwise."""
        raise NotImplementedError


class SandboxBank(BankAdapter):
    """Plays the bank in development: the PennyDropTransfer row is the statement line."""

    name = "sandbox"

    def send_micro_transfer(
        self,
        *,
        request_id: str,
        account_name: str,
        account_number: str,
        bank_name: str,
        amount_fen: int,
        memo: str,
    ) -> TransferAccepted:
        # The reference follows from the request id, as a real bank deduplicates by it.
        digest = hashlib.sha256(request_id.encode()).hexdigest()[:12].upper()
        today = timezone.localdate()
        return TransferAccepted(
            bank_reference=f"SBX{today:%Y%m%d}{digest}", arrives_on=self.estimate_arrival(today)
        )

    def transfer_status(self, *, request_id: str) -> TransferAccepted:
        transfer = PennyDropTransfer.objects.filter(request_id=request_id).first()
        if transfer is None or not transfer.bank_reference:
            raise TransferUnknown(request_id)
        return TransferAccepted(transfer.bank_reference, transfer.arrives_on)

    def estimate_arrival(self, today: datetime.date) -> datetime.date:
        """1–3 working days, as real transfers take."""
        return add_working_days(today, 1 + secrets.randbelow(3))


class HttpBank(BankAdapter):
    """A bank's signed-HTTP API (docs/INTEGRATIONS.md, "Penny-drop bank")."""

    name = "http"

    def __init__(self, client: outbound.SignedClient | None = None):
        self.client = client or outbound.SignedClient(
            base_url=settings.BANK_BASE_URL,
            key_id=settings.BANK_KEY_ID,
            secret=settings.BANK_SECRET,
        )

    def send_micro_transfer(
        self,
        *,
        request_id: str,
        account_name: str,
        account_number: str,
        bank_name: str,
        amount_fen: int,
        memo: str,
    ) -> TransferAccepted:
        body = {
            "request_id": request_id,
            "payee": {"name": account_name, "account": account_number, "bank": bank_name},
            "amount_fen": amount_fen,
            "memo": memo,
        }
        return self._answer(
            lambda: self.client.call("POST", "/transfers", json=body, idempotency_key=request_id)
        )

    def transfer_status(self, *, request_id: str) -> TransferAccepted:
        return self._answer(lambda: self.client.call("GET", f"/transfers/{request_id}"))

    @staticmethod
    def _answer(call) -> TransferAccepted:
        try:
            data = call().data
        except outbound.OutboundRefused as exc:
            if exc.status == 404:
                raise TransferUnknown() from exc
            raise BankRefused(str(exc.data.get("code", "refused"))) from exc
        except outbound.OutboundUnavailable as exc:
            raise BankUnavailable(str(exc)) from exc
        status = data.get("status")
        if status == "rejected":
            raise BankRefused(str(data.get("code", "rejected")))
        if status != "accepted":  # "processing": the bank has it and will answer later
            raise BankUnavailable(f"status {status!r}")
        try:
            return TransferAccepted(
                bank_reference=str(data["reference"])[:64],
                arrives_on=datetime.date.fromisoformat(data["arrives_on"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BankUnavailable("an accepted transfer without reference or day") from exc


ADAPTERS = {"sandbox": SandboxBank, "http": HttpBank}


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

    active = application.penny_drops.filter(state__in=ACTIVE_STATES).first()
    if active is not None:
        if now < active.expires_at:
            return refuse(
                "active_transfer", active_transfer_message(active), request_id=active.request_id
            )
        active.state = State.EXPIRED
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
    return penny_drop_start(application=application, now=now), None


ACTIVE_STATES = (State.PENDING, State.SENT)


def active_transfer_message(active: PennyDropTransfer) -> str:
    if active.state == State.PENDING:
        return _("上一笔打款正在提交银行,请稍后刷新页面查看预计到账日期,无需重复申请。")
    return _(
        "已有一笔打款(附言“%(memo)s”,预计 %(arrives)s 到账)尚未验证,"
        "请查看收款账户流水并填写该笔打款金额。"
    ) % {"memo": memo_text(active.memo_code), "arrives": f"{active.arrives_on:%Y-%m-%d}"}


def penny_drop_start(
    *,
    application: RegistrationApplication | None = None,
    change_filing: UnitChangeFiling | None = None,
    now: datetime.datetime,
    actor=None,
    request=None,
    details: dict | None = None,
) -> PennyDropTransfer:
    """Write a pending penny-drop to the subject's account and call the bank after commit.

    Runs inside the caller's transaction, with the subject's row locked and the limits checked.
    """
    transfer = PennyDropTransfer(
        application=application,
        change_filing=change_filing,
        amount_fen=MIN_AMOUNT_FEN + secrets.randbelow(MAX_AMOUNT_FEN - MIN_AMOUNT_FEN + 1),
        memo_code=f"{secrets.randbelow(10000):04d}",
        request_id=f"PD{timezone.localdate(now):%Y%m%d}{secrets.token_hex(10).upper()}",
        state=State.PENDING,
        expires_at=now + datetime.timedelta(days=_limit("penny_drop_answer_days")),
    )
    transfer.full_clean()
    transfer.save()
    subject = change_filing or application
    audit_log(
        action="penny_drop.requested",
        actor=actor,
        employer_id=subject.employer_id,
        obj=transfer,
        request=request,
        details={"bank": bank_adapter().name, "request_id": transfer.request_id, **(details or {})},
    )
    transaction.on_commit(lambda: _enqueue_send(transfer.pk))
    return transfer


def _enqueue_send(pk: int) -> None:
    from employers.tasks import penny_drop_send_task

    try:
        penny_drop_send_task.delay(pk)
    except Exception:  # noqa: BLE001 — broker down: penny_drops_resolve sends it later
        logger.warning("penny-drop %s not queued; the resolver will send it", pk)


def penny_drop_send(*, transfer_id: int, now: datetime.datetime | None = None) -> str:
    """Call the bank for a pending transfer, outside any transaction, and record its answer.

    Returns the transfer's state afterwards ("" when another worker holds the call).
    """
    now = now or timezone.now()
    transfer = _claim(transfer_id, now)
    if transfer is None:
        return ""
    payee = transfer.payee
    bank = bank_adapter()
    try:
        accepted = bank.send_micro_transfer(
            request_id=transfer.request_id,
            account_name=payee.bank_account_name,
            account_number=payee.bank_account,
            bank_name=payee.bank_name,
            amount_fen=transfer.amount_fen,
            memo=memo_text(transfer.memo_code),
        )
    except BankRefused as exc:
        return _record(transfer, bank=bank, refused=exc.code)
    except BankUnavailable:
        # The answer is lost or late: the resolver asks the bank under the same request id.
        logger.warning("penny-drop %s: no answer from the bank; status query later", transfer.pk)
        return State.PENDING
    return _record(transfer, bank=bank, accepted=accepted)


def penny_drops_resolve(*, now: datetime.datetime | None = None, limit: int = 200) -> int:
    """Settle pending transfers whose call got no answer (beat): a status query first; a new
    call, under the same request id, only when the bank never received one. Returns how many
    transfers left the pending state."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.PENNY_DROP_RESOLVE_AFTER_SECONDS)
    stale = PennyDropTransfer.objects.filter(state=State.PENDING).filter(
        Q(bank_called_at__lt=cutoff) | Q(bank_called_at__isnull=True, requested_at__lt=cutoff)
    )
    settled = 0
    for pk in stale.order_by("requested_at").values_list("pk", flat=True)[:limit]:
        if penny_drop_resolve(transfer_id=pk, now=now) != State.PENDING:
            settled += 1
    return settled


def penny_drop_resolve(*, transfer_id: int, now: datetime.datetime | None = None) -> str:
    """Ask the bank what became of one pending transfer, and record the answer."""
    now = now or timezone.now()
    transfer = (
        PennyDropTransfer.objects.select_related("application", "change_filing")
        .filter(pk=transfer_id, state=State.PENDING)
        .first()
    )
    if transfer is None:
        return ""
    if now >= transfer.expires_at:
        return _pending_expire(transfer)
    if transfer.bank_calls == 0:  # never called (the broker was down at commit)
        return penny_drop_send(transfer_id=transfer.pk, now=now)
    bank = bank_adapter()
    try:
        accepted = bank.transfer_status(request_id=transfer.request_id)
    except TransferUnknown:
        # The call never reached the bank: making it now cannot make a second transfer.
        return penny_drop_send(transfer_id=transfer.pk, now=now)
    except BankRefused as exc:
        return _record(transfer, bank=bank, refused=exc.code)
    except BankUnavailable:
        return State.PENDING
    return _record(transfer, bank=bank, accepted=accepted)


@transaction.atomic
def _pending_expire(transfer: PennyDropTransfer) -> str:
    """A transfer still without the bank's answer at the end of its answer window expires."""
    if PennyDropTransfer.objects.filter(pk=transfer.pk, state=State.PENDING).update(
        state=State.EXPIRED
    ):
        subject = transfer.change_filing or transfer.application
        audit_log(
            action="penny_drop.expired",
            employer_id=subject.employer_id,
            outcome=AuditEvent.Outcome.FAILURE,
            obj=transfer,
            details={"request_id": transfer.request_id, "bank_calls": transfer.bank_calls},
        )
    return State.EXPIRED


def _claim(transfer_id: int, now: datetime.datetime) -> PennyDropTransfer | None:
    """Take the call for this worker: a guarded update, so that parallel sends (the task and the
    resolver) do not both call within the lease."""
    outbound.ensure_outside_transaction()
    lease = now - datetime.timedelta(seconds=settings.PENNY_DROP_RESOLVE_AFTER_SECONDS)
    claimed = (
        PennyDropTransfer.objects.filter(pk=transfer_id, state=State.PENDING)
        .filter(Q(bank_called_at__isnull=True) | Q(bank_called_at__lt=lease))
        .update(bank_calls=F("bank_calls") + 1, bank_called_at=now)
    )
    if not claimed:
        return None
    return PennyDropTransfer.objects.select_related("application__employer", "change_filing").get(
        pk=transfer_id
    )


@transaction.atomic
def _record(transfer, *, bank, accepted: TransferAccepted | None = None, refused: str = "") -> str:
    """Record the bank's answer, once: a later answer for a settled transfer changes nothing."""
    locked = (
        PennyDropTransfer.objects.select_for_update()
        .filter(pk=transfer.pk, state=State.PENDING)
        .first()
    )
    if locked is None:
        return PennyDropTransfer.objects.values_list("state", flat=True).get(pk=transfer.pk)
    subject = locked.change_filing or locked.application
    if accepted is not None:
        locked.state = State.SENT
        locked.bank_reference = accepted.bank_reference
        locked.arrives_on = accepted.arrives_on
        locked.sent_at = timezone.now()
        fields = ["state", "bank_reference", "arrives_on", "sent_at"]
        details = {
            "bank_reference": accepted.bank_reference,
            "arrives_on": accepted.arrives_on.isoformat(),
        }
    else:
        locked.state = State.REJECTED
        locked.bank_failure = refused
        fields = ["state", "bank_failure"]
        details = {"reason": refused}
    locked.save(update_fields=fields)
    audit_log(
        action="penny_drop.sent" if accepted is not None else "penny_drop.rejected",
        employer_id=subject.employer_id,
        outcome=AuditEvent.Outcome.SUCCESS if accepted else AuditEvent.Outcome.FAILURE,
        obj=locked,
        details={
            "bank": bank.name,
            "request_id": locked.request_id,
            "bank_calls": locked.bank_calls,
            **details,
        },
    )
    return locked.state


PENDING_MESSAGE = gettext_lazy(
    "打款正在提交银行,尚未汇出,本次填写未计入错误次数。请稍后刷新页面,在到账后填写金额。"
)


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
        .filter(application=application, state__in=ACTIVE_STATES)
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
    if transfer.state == State.PENDING:
        return refuse("pending", PENDING_MESSAGE, field=True)
    if now >= transfer.expires_at:
        transfer.state = State.EXPIRED
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
            transfer.state = State.FAILED
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

    transfer.state = State.VERIFIED
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
    # The bank's statement knows only the transfers it made (not those still pending).
    transfers = (
        PennyDropTransfer.objects.exclude(bank_reference="")
        .select_related("application__employer", "change_filing")
        .order_by("-requested_at", "-pk")[:limit]
    )
    lines = []
    for transfer in transfers:
        payee = transfer.payee
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
