"""缴费: confirming a monthly bill, debiting it through the bank, and settlement.

A bill moves 已核定 (assessed) → 已确认 (confirmed, by an agent holding contributions.pay) →
已扣款 (debited by the bank) → 已到账 (settled: the money reached the fund, 3–5 working days
later; the beat task payments_settle_due moves it). A failed debit leaves the bill 扣款失败 with
the bank's message; the agent may pay again once the account holds the money. A bill whose total
is not above zero (a 退费 supplement) needs no debit and is settled when the agent pays it.

Late payment: Social Insurance Law art. 86 charges 0.05 % of the amount owed per day from the day
after the due date; late_fee computes it for display on the bill page (it is not billed here).
"""

from __future__ import annotations

import datetime
import logging
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributions.common import new_reference
from contributions.models import BillStatus, MonthlyBill, Payment
from contributions.payments.bank import BankUnavailable, DebitResult, contribution_bank
from contributions.policy.reference import PolicyError, load_policy
from portal.audit import audit_log
from portal.models import AuditEvent

logger = logging.getLogger(__name__)

LATE_FEE_DAILY_RATE = Decimal("0.0005")  # 万分之五 a day (社会保险法 第八十六条)
CENT = Decimal("0.01")

PAYABLE = (BillStatus.CONFIRMED, BillStatus.DEBIT_FAILED)

NOT_CONFIRMABLE = _("该核定单当前状态为“%(status)s”,不能确认。")
NOT_CONFIRMED = _("请先确认核定单,再发起扣款。")
ALREADY_PAID = _("该核定单已扣款(%(status)s),无需重复缴费。")
KEY_OF_ANOTHER_BILL = _("提交标识无效,请刷新页面后重新发起扣款。")
COLLECTED_BY_TAX_BUREAU = _(
    "本统筹区的社会保险费由税务部门征收,请按本页“缴费方式”在电子税务局缴款,"
    "或由三方协议在缴费截止日扣款。"
)
DEBIT_IN_PROGRESS = _("该核定单的扣款正在处理中,请稍后刷新本页查看结果。")
NOT_RECEIVED = "not_received"
NOT_RECEIVED_MESSAGE = _("银行未收到本次扣款请求,账户未被扣减任何金额。请在本页重新发起扣款。")
# A debit still REQUESTED this long after it was asked lost its answer: ask the bank.
REQUESTED_LEASE = datetime.timedelta(minutes=2)


@dataclass(frozen=True)
class LateFee:
    days: int
    amount: Decimal
    as_of: datetime.date
    paid: bool  # False: still accruing as of ``as_of``


def late_fee(
    *, total: Decimal, due_on: datetime.date, paid_on: datetime.date, paid: bool = True
) -> LateFee:
    """Return the late fee of a bill paid (or, with paid=False, still unpaid) on ``paid_on``.

    Days late are the calendar days after the due date up to and including the day of payment
    (paid on the due date: 0 days); the fee is total × 0.0005 × days, rounded half up to the
    cent. A bill that owes nothing (a credit) accrues nothing.
    """
    days = max((paid_on - due_on).days, 0) if total > 0 else 0
    amount = (total * LATE_FEE_DAILY_RATE * days).quantize(CENT, rounding=ROUND_HALF_UP)
    return LateFee(days=days, amount=max(amount, Decimal("0.00")), as_of=paid_on, paid=paid)


def bill_late_fee(bill: MonthlyBill, *, today: datetime.date | None = None) -> LateFee | None:
    """The late fee to show on a bill: as of the debit when debited, else accruing as of today."""
    paid = bill.debited_at is not None
    paid_on = timezone.localdate(bill.debited_at) if paid else today or timezone.localdate()
    if bill.status == BillStatus.SETTLED and not paid:
        return None  # settled without a debit: a credit, nothing was late
    # The fee runs on the contributions owed, not on a late fee billed with them (补缴申请).
    owed = bill.total - bill.late_fee
    fee = late_fee(total=owed, due_on=bill.due_on, paid_on=paid_on, paid=paid)
    return fee if fee.days > 0 else None


def bill_confirmable(bill: MonthlyBill) -> bool:
    """Whether bill_confirm would confirm the bill: it is 已核定."""
    return bill.status == BillStatus.ASSESSED


def bill_payable(bill: MonthlyBill) -> bool:
    """Whether bill_pay would debit the bill: it is 已确认, or its last debit failed, and it is
    not collected by the tax bureau (a credit is settled here in every region)."""
    from contributions.collection.services import bill_collected_by_tax_bureau

    if bill.status not in PAYABLE:
        return False
    return bill.total <= 0 or not bill_collected_by_tax_bureau(bill)


def _locked_bill(*, agent, bill: MonthlyBill) -> MonthlyBill:
    # Scoped to the agent's unit again under the lock: a view's 404 check is not the only guard.
    return MonthlyBill.objects.select_for_update().get(pk=bill.pk, employer_id=agent.employer_id)


@transaction.atomic
def bill_confirm(*, agent, bill: MonthlyBill, request=None) -> MonthlyBill:
    """Confirm an assessed bill (已核定 → 已确认); confirming it again changes nothing."""
    bill = _locked_bill(agent=agent, bill=bill)
    if bill.status != BillStatus.ASSESSED:
        if bill.confirmed_at is not None:
            return bill  # a second click, or a second agent: already done
        raise ValidationError(
            NOT_CONFIRMABLE % {"status": bill.get_status_display()}, code="not_assessed"
        )
    bill.status = BillStatus.CONFIRMED
    bill.confirmed_at = timezone.now()
    bill.confirmed_by = agent
    bill.save(update_fields=["status", "confirmed_at", "confirmed_by"])
    from contributions.collection.services import (
        bill_collected_by_tax_bureau,
        collection_order_create,
    )

    if bill_collected_by_tax_bureau(bill):
        collection_order_create(bill=bill, request=request)
    audit_log(
        action="bill.confirmed",
        actor=agent.user,
        employer_id=bill.employer_id,
        obj=bill,
        request=request,
        details={
            "reference": bill.reference,
            "month": f"{bill.month:%Y-%m}",
            "total": str(bill.total),
        },
    )
    return bill


def bill_pay(
    *,
    agent,
    bill: MonthlyBill,
    idempotency_key: uuid.UUID,
    request=None,
    now: datetime.datetime | None = None,
) -> Payment:
    """Debit a confirmed bill through the contribution bank; the same key pays at most once.

    The payment is REQUESTED in one transaction; the bank is called by a task once it has
    committed (contributions.tasks.payment_debit_send: outside any transaction and outside the
    web request, so a slow bank holds no page), and its answer recorded in another: DEBITED
    (bill 已扣款, with the expected settlement date) or FAILED (bill 扣款失败, with the bank's
    message); a failed bill may be paid again. An answer lost on the way, or a task that never
    ran, leaves the payment REQUESTED until payments_resolve_requested asks the bank. A total
    not above zero is settled at once without a debit. Bills of tax_bureau regions are paid at
    the tax bureau, not here. Returns the payment as it stands when the task has been queued
    (recorded already where tasks run eagerly).
    """
    at = now.isoformat() if now is not None else None  # a given time is the answer's time too
    now = now or timezone.now()
    payment, employer = _payment_request(
        agent=agent, bill=bill, idempotency_key=idempotency_key, request=request, now=now
    )
    if employer is None:
        return payment
    from contributions.payments.tasks import payment_debit_send as payment_debit_send_task

    try:
        payment_debit_send_task.delay(payment.pk, at)
    except Exception:  # noqa: BLE001 — broker down: payments_resolve_requested settles it
        logger.exception("payment debit task not queued (payment %s)", payment.pk)
    payment.refresh_from_db()
    return payment


def payment_debit_send(*, payment_id: int, at: str | None = None) -> str:
    """Call the bank for a REQUESTED payment and record its answer (the task of bill_pay).

    Idempotent: a payment already answered is left alone, and a second call for the same
    payment (a redelivered task) carries the same reference, which the bank debits once.
    ``at`` (ISO time) is the time recorded for the answer, default now. Returns "recorded",
    "unavailable" (no answer: the status query settles it) or "done".
    """
    payment = Payment.objects.select_related("bill__employer", "requested_by__user").get(
        pk=payment_id
    )
    if payment.status != Payment.Status.REQUESTED:
        return "done"
    bank = contribution_bank()
    try:
        result = bank.debit(
            employer=payment.bill.employer, amount=payment.amount, reference=payment.reference
        )
    except BankUnavailable:
        return "unavailable"
    now = datetime.datetime.fromisoformat(at) if at else None
    _payment_record(payment_id=payment.pk, result=result, agent=payment.requested_by, now=now)
    return "recorded"


@transaction.atomic
def _payment_request(*, agent, bill, idempotency_key, request, now):
    """The pending half of bill_pay: (payment, the unit to debit, or None when no call is due)."""
    from contributions.collection.services import bill_collected_by_tax_bureau

    bill = _locked_bill(agent=agent, bill=bill)
    # The bill's row lock serialises payments of the bill, so the key check cannot race.
    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.bill_id != bill.pk:
            raise ValidationError(KEY_OF_ANOTHER_BILL, code="key_reused")
        return existing, None
    if bill.status == BillStatus.ASSESSED:
        raise ValidationError(NOT_CONFIRMED, code="not_confirmed")
    if bill.status not in PAYABLE:
        raise ValidationError(
            ALREADY_PAID % {"status": bill.get_status_display()}, code="already_paid"
        )
    if bill.total > 0 and bill_collected_by_tax_bureau(bill):
        raise ValidationError(COLLECTED_BY_TAX_BUREAU, code="tax_bureau")
    if Payment.objects.filter(bill=bill, status=Payment.Status.REQUESTED).exists():
        raise ValidationError(DEBIT_IN_PROGRESS, code="in_progress")

    payment = Payment(
        reference=new_reference("JF"),
        bill=bill,
        employer_id=bill.employer_id,
        amount=bill.total,
        requested_by=agent,
        requested_at=now,
        idempotency_key=idempotency_key,
    )
    details = {"reference": payment.reference, "bill": bill.reference, "amount": str(bill.total)}

    if bill.total <= 0:
        # A credit (退费) or an empty supplement: nothing to debit; it is settled at once.
        payment.status = Payment.Status.SETTLED
        payment.settled_at = now
        payment.full_clean()
        payment.save()
        bill.status = BillStatus.SETTLED
        bill.settled_at = now
        bill.save(update_fields=["status", "settled_at"])
        audit_log(
            action="payment.settled_without_debit",
            actor=agent.user,
            employer_id=bill.employer_id,
            obj=payment,
            request=request,
            details=details,
        )
        return payment, None

    # Audited once the bank's answer is recorded (payment.debited, success or failure).
    payment.full_clean()
    payment.save()
    return payment, bill.employer


@transaction.atomic
def _payment_record(
    *, payment_id: int, result: DebitResult, agent=None, request=None, now=None
) -> Payment:
    """The recording half of bill_pay: the bank's answer to a REQUESTED payment."""
    now = now or timezone.now()
    payment = Payment.objects.select_for_update().select_related("bill").get(pk=payment_id)
    if payment.status != Payment.Status.REQUESTED:
        return payment  # recorded already (the request's answer and a status query crossed)
    bill = MonthlyBill.objects.select_for_update().get(pk=payment.bill_id)
    bank = contribution_bank()
    details = {
        "reference": payment.reference,
        "bill": bill.reference,
        "amount": str(payment.amount),
        "bank": bank.name,
    }
    actor = agent.user if agent is not None else None
    if result.ok:
        payment.status = Payment.Status.DEBITED
        payment.bank_reference = result.bank_reference
        payment.debited_at = now
        payment.expected_settle_on = bank.estimate_settlement(timezone.localdate(now))
        payment.save(update_fields=["status", "bank_reference", "debited_at", "expected_settle_on"])
        bill.status = BillStatus.DEBITED
        bill.debited_at = now
        bill.save(update_fields=["status", "debited_at"])
        audit_log(
            action="payment.debited",
            actor=actor,
            employer_id=bill.employer_id,
            obj=payment,
            request=request,
            details={
                **details,
                "bank_reference": result.bank_reference,
                "expected_settle_on": payment.expected_settle_on.isoformat(),
            },
        )
    else:
        payment.status = Payment.Status.FAILED
        payment.failure_code = result.failure_code[:32]
        payment.failure_message = result.failure_message[:200]
        payment.save(update_fields=["status", "failure_code", "failure_message"])
        bill.status = BillStatus.DEBIT_FAILED
        bill.save(update_fields=["status"])
        audit_log(
            action="payment.debited",
            actor=actor,
            employer_id=bill.employer_id,
            obj=payment,
            request=request,
            outcome=AuditEvent.Outcome.FAILURE,
            details={**details, "failure_code": result.failure_code},
        )
    return payment


def payments_resolve_requested(*, now: datetime.datetime | None = None) -> int:
    """Ask the bank about debits whose answer was lost (REQUESTED past the lease) and record
    what it says; a debit it never received fails, so that the unit may pay again. Never
    debits: a status query only. Returns how many were resolved."""
    now = now or timezone.now()
    bank = contribution_bank()
    stale = Payment.objects.filter(
        status=Payment.Status.REQUESTED, requested_at__lt=now - REQUESTED_LEASE
    ).values_list("pk", "reference")[:500]
    resolved = 0
    for payment_id, reference in list(stale):
        try:
            result = bank.debit_status(reference=reference)
        except BankUnavailable:
            continue
        if result is None:
            result = DebitResult(
                ok=False,
                failure_code=NOT_RECEIVED,
                failure_message=str(NOT_RECEIVED_MESSAGE),
            )
        _payment_record(payment_id=payment_id, result=result, now=now)
        resolved += 1
    return resolved


@transaction.atomic
def payments_settle_due(
    *, today: datetime.date | None = None, now: datetime.datetime | None = None
) -> int:
    """Settle every debited payment expected by ``today``, and its bill; return how many.

    Set-based: a fixed number of queries however many payments are due (one audit row each,
    written in one bulk insert).
    """
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    due = Payment.objects.filter(status=Payment.Status.DEBITED, expected_settle_on__lte=today)
    rows = list(
        due.select_for_update().values_list("pk", "reference", "employer_id", "bill__reference")
    )
    if not rows:
        return 0
    # Bills first: their subquery reads the payments while these are still DEBITED.
    MonthlyBill.objects.filter(pk__in=due.values("bill_id"), status=BillStatus.DEBITED).update(
        status=BillStatus.SETTLED, settled_at=now
    )
    due.update(status=Payment.Status.SETTLED, settled_at=now)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                action="payment.settled",
                employer_id=employer_id,
                object_type=Payment._meta.label,
                object_id=str(pk),
                details={
                    "reference": reference,
                    "bill": bill_reference,
                    "today": today.isoformat(),
                },
            )
            for pk, reference, employer_id, bill_reference in rows
        ],
        batch_size=1000,
    )
    return len(rows)


MONTH_IN_FUTURE = _("不能核定未来月份的费款,最晚可选当月(%(month)s)。")
GENERATE_FAILED = _("核定未成功,请稍后重试;仍不成功请拨打服务热线 12333。")
NO_PERSONS = _(
    "%(month)s 没有应缴费的参保人员,未生成核定单。"
    "请确认人员的参保起始年月和缴费基数申报已生效后再核定。"
)


class GenerateRequest:
    """What became of an on-demand bill generation.

    When the task ran in this process (Celery eager mode, as in development without a broker),
    ``done`` is true and ``bill_id`` is what it returned: the bill written, or None when it was
    refused. With a worker the result is not waited for: the page asks to refresh later.
    """

    def __init__(self):
        self.result = None

    @property
    def done(self) -> bool:
        from celery.result import EagerResult

        return isinstance(self.result, EagerResult) and self.result.ready()

    @property
    def failed(self) -> bool:
        return self.done and self.result.failed()

    @property
    def error(self):
        return self.result.result if self.failed else None

    @property
    def bill_id(self) -> int | None:
        return self.result.result if self.done and not self.failed else None


@transaction.atomic
def bill_generate_request(*, agent, month: datetime.date, request=None) -> GenerateRequest:
    """Ask the billing task to generate (or refresh) the unit's bill of ``month``, after commit."""
    from contributions.billing.tasks import bill_generate_unit

    this_month = timezone.localdate().replace(day=1)
    if month > this_month:
        raise ValidationError(
            {"month": MONTH_IN_FUTURE % {"month": f"{this_month:%Y-%m}"}}, code="month_future"
        )
    audit_log(
        action="bill.generate_requested",
        actor=agent.user,
        employer_id=agent.employer_id,
        request=request,
        details={"month": f"{month:%Y-%m}"},
    )
    outcome = GenerateRequest()

    def enqueue():
        outcome.result = bill_generate_unit.delay(
            agent.employer_id, month.isoformat(), agent.user_id
        )

    transaction.on_commit(enqueue)
    return outcome


def bill_generate_refusal(*, agent, month: datetime.date, outcome: GenerateRequest):
    """Why a finished generation wrote no bill for the month: the task's refusal, its failure,
    the region's missing policy, or else no one to bill (an error or message for the form)."""
    if isinstance(outcome.error, ValidationError):
        return outcome.error
    if outcome.failed:
        return GENERATE_FAILED
    try:
        load_policy(agent.employer.region, month)
    except PolicyError as exc:
        return exc
    return NO_PERSONS % {"month": f"{month:%Y-%m}"}


__all__ = [
    "LateFee",
    "GenerateRequest",
    "bill_confirm",
    "bill_generate_refusal",
    "bill_generate_request",
    "bill_late_fee",
    "bill_confirmable",
    "bill_pay",
    "bill_payable",
    "late_fee",
    "payments_resolve_requested",
    "payments_settle_due",
]
