"""税务征收: sending confirmed bills to the collection system and recording payment results.

A tax_bureau region's bill, once confirmed (核定), gets a CollectionOrder (待推送) in the
confirmation's transaction; after commit the send task moves it to 推送中 in one transaction,
calls the adapter outside any transaction, and records the 应征凭证序号 (待缴款) in another. An
answer lost on the way leaves the order 推送中: the status poll asks the collection system what
it holds under the bill's key and records that; only when the system holds nothing is the order
sent again, under the same key, so that the bill is never claimed twice.

Payment results arrive by the signed callback or the poll and go through collection_result_record:
a paid result becomes a Payment (已扣款, the 电子缴款凭证号 as its reference) that settles like a
bank debit (payments_settle_due), so records reach 已到账 as they always have; the bill is 已扣款
once the paid results cover its total. A partial payment leaves it awaiting the rest; a failed
payment makes it 扣款失败 with the collection system's reason.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributions.collection.adapter import (
    AssessmentData,
    CollectionRefused,
    CollectionUnavailable,
    PaymentResult,
    collection_adapter,
)
from contributions.common import new_reference
from contributions.models import (
    BillStatus,
    CollectionMode,
    CollectionOrder,
    CollectionResult,
    MonthlyBill,
    Payment,
    RegionContributionSettings,
)
from portal.audit import audit_log
from portal.compiled_sql import CompiledQuery
from portal.models import AuditEvent

logger = logging.getLogger(__name__)

# Payment rows made from collection results get a key derived from the result's own number,
# so that recording the same result twice can never make two payments.
RESULT_KEY_NAMESPACE = uuid.UUID("6f1d8a52-3c1e-4f2b-9a57-0d2f3c9b7e11")
SIGNATURE_HEADER = "X-Collection-Signature"
TIMESTAMP_HEADER = "X-Collection-Timestamp"
CALLBACK_MAX_AGE = 5 * 60  # seconds: a captured callback cannot be replayed later
# An order 推送中 for longer than this lost its answer (or its worker): the poll resolves it.
SENDING_LEASE = datetime.timedelta(minutes=2)
# An order still 待推送 this long after it was written lost its task (broker down at commit).
PENDING_RESEND_AFTER = datetime.timedelta(minutes=5)
POLL_BATCH = 500


def _region_modes(region: int):
    modes = RegionContributionSettings.objects.filter(region_id=region)
    modes = modes if modes.ordered else modes.order_by("pk")  # as .first() orders them
    return modes.values_list("collection_mode")


# Compiled once per process: every bill's page asks (portal.compiled_sql).
_REGION_MODE = CompiledQuery(_region_modes, "region")


def region_collection_mode(region_id: int) -> str:
    """The region's collection mode (tax_bureau when the region has no settings row)."""
    found = _REGION_MODE.rows(limit=1, region=region_id)
    return (found[0][0] if found else None) or CollectionMode.TAX_BUREAU


def bill_collected_by_tax_bureau(bill: MonthlyBill) -> bool:
    """Whether the bill is paid through the tax bureau (its unit's region says so)."""
    return region_collection_mode(bill.employer.region_id) == CollectionMode.TAX_BUREAU


def collection_order_create(*, bill: MonthlyBill, request=None) -> CollectionOrder | None:
    """Queue a just-confirmed tax_bureau bill's 应征数据 (call inside the confirmation's
    transaction); nothing for a bill that owes nothing or already has an order."""
    if bill.total <= 0 or CollectionOrder.objects.filter(bill=bill).exists():
        return None
    order = CollectionOrder(
        bill=bill,
        employer_id=bill.employer_id,
        idempotency_key=bill.reference,
        amount=bill.total,
    )
    order.full_clean()
    order.save()
    audit_log(
        action="collection.queued",
        employer_id=bill.employer_id,
        obj=order,
        request=request,
        details={"bill": bill.reference, "amount": str(bill.total)},
    )
    _enqueue_send(order.pk)
    return order


def _enqueue_send(order_id: int) -> None:
    from contributions.collection.tasks import collection_send as send_task

    transaction.on_commit(lambda: send_task.delay(order_id))


def assessment_data(order: CollectionOrder) -> AssessmentData:
    """The 应征数据 of the order's bill."""
    bill = order.bill
    employer = bill.employer
    by_type = {
        kind: (Decimal(str(values[1])), Decimal(str(values[2])))
        for kind, values in (bill.type_totals or {}).items()
    }
    return AssessmentData(
        idempotency_key=order.idempotency_key,
        bill_reference=bill.reference,
        uscc=employer.uscc,
        unit_name=employer.name,
        ss_number=employer.ss_number or "",
        region_code=employer.region.code,
        month=bill.month,
        due_on=bill.due_on,
        amount=order.amount,
        employer_amount=bill.employer_total,
        personal_amount=bill.personal_total,
        by_type=by_type,
    )


def _locked_order(order_id: int) -> CollectionOrder:
    return CollectionOrder.objects.select_for_update().get(pk=order_id)


def collection_send(*, order_id: int, now: datetime.datetime | None = None) -> CollectionOrder:
    """Send one pending order's 应征数据 (a task; never inside a transaction)."""
    now = now or timezone.now()
    adapter = collection_adapter()
    with transaction.atomic():
        order = _locked_order(order_id)
        if order.status != CollectionOrder.Status.PENDING:
            return order  # sent already, or being sent: a repeated task does nothing
        order.status = CollectionOrder.Status.SENDING
        order.send_attempts += 1
        order.sent_at = now
        order.adapter = adapter.name
        order.save(update_fields=["status", "send_attempts", "sent_at", "adapter"])
    data = assessment_data(
        CollectionOrder.objects.select_related("bill__employer__region").get(pk=order_id)
    )
    try:
        answer = adapter.submit(data)
    except CollectionUnavailable as exc:
        with transaction.atomic():
            order = _locked_order(order_id)
            order.last_error = str(exc)[:200]
            order.save(update_fields=["last_error"])
            audit_log(
                action="collection.sent",
                employer_id=order.employer_id,
                obj=order,
                outcome=AuditEvent.Outcome.FAILURE,
                details={"bill": data.bill_reference, "error": "unavailable"},
            )
        logger.warning("collection send of order %s got no answer", order_id)
        return order
    except CollectionRefused as exc:
        return _record_refusal(order_id, exc, now=now)
    return _record_voucher(order_id, answer.voucher_number, now=now)


def _record_voucher(order_id: int, voucher_number: str, *, now) -> CollectionOrder:
    with transaction.atomic():
        order = _locked_order(order_id)
        if order.status in (CollectionOrder.Status.PENDING, CollectionOrder.Status.SENDING):
            order.status = CollectionOrder.Status.SENT
            order.voucher_number = voucher_number[:40]
            order.answered_at = now
            order.last_error = ""
            order.save(update_fields=["status", "voucher_number", "answered_at", "last_error"])
            audit_log(
                action="collection.sent",
                employer_id=order.employer_id,
                obj=order,
                details={"bill": order.idempotency_key, "voucher": order.voucher_number},
            )
        elif not order.voucher_number and voucher_number:
            # A payment result overtook the send's answer: keep the voucher all the same.
            order.voucher_number = voucher_number[:40]
            order.answered_at = now
            order.save(update_fields=["voucher_number", "answered_at"])
    return order


def _record_refusal(order_id: int, refusal: CollectionRefused, *, now) -> CollectionOrder:
    """The collection system said no to the 应征数据: the order is 税务部门未受理, with its reason
    (kept for the bill page, the clerks and the daily 对账); it is never sent again by itself."""
    with transaction.atomic():
        order = _locked_order(order_id)
        if order.status != CollectionOrder.Status.SENDING:
            return order
        order.status = CollectionOrder.Status.REFUSED
        order.failure_code = refusal.code
        order.failure_message = refusal.message or str(
            _("税务部门未受理应征数据(代码 %(code)s),请联系社保经办机构核实。")
            % {"code": refusal.code}
        )
        order.answered_at = now
        order.last_error = ""
        order.save(
            update_fields=["status", "failure_code", "failure_message", "answered_at", "last_error"]
        )
        audit_log(
            action="collection.refused",
            employer_id=order.employer_id,
            obj=order,
            outcome=AuditEvent.Outcome.FAILURE,
            details={"bill": order.idempotency_key, "failure_code": order.failure_code},
        )
    logger.warning("collection send of order %s refused: %s", order_id, refusal.code)
    return order


def collection_poll(*, order_id: int, now: datetime.datetime | None = None) -> CollectionOrder:
    """Ask the collection system about one order and record what it says (never inside a
    transaction): a lost send answer, and payment results not yet received."""
    now = now or timezone.now()
    order = CollectionOrder.objects.get(pk=order_id)
    if order.status == CollectionOrder.Status.PENDING:
        return order  # the send task's
    try:
        answer = collection_adapter().query(order.idempotency_key)
    except CollectionUnavailable as exc:
        CollectionOrder.objects.filter(pk=order_id).update(polled_at=now, last_error=str(exc)[:200])
        return order
    if not answer.known:
        with transaction.atomic():
            order = _locked_order(order_id)
            order.polled_at = now
            order.save(update_fields=["polled_at"])
            if order.status == CollectionOrder.Status.SENDING:
                # The collection system never received it: send again under the same key.
                order.status = CollectionOrder.Status.PENDING
                order.save(update_fields=["status"])
                _enqueue_send(order.pk)
        return order
    order = _record_voucher(order_id, answer.voucher_number, now=now)
    for result in answer.results:
        collection_result_record(
            idempotency_key=order.idempotency_key,
            result=result,
            source=CollectionResult.Source.POLL,
            now=now,
        )
    CollectionOrder.objects.filter(pk=order_id).update(polled_at=now)
    return CollectionOrder.objects.get(pk=order_id)


def collection_poll_key(*, idempotency_key: str) -> CollectionOrder | None:
    """Poll the order of this key now (the sandbox's stand-in for a callback)."""
    order_id = (
        CollectionOrder.objects.filter(idempotency_key=idempotency_key)
        .values_list("pk", flat=True)
        .first()
    )
    return None if order_id is None else collection_poll(order_id=order_id)


def collection_orders_due(*, now: datetime.datetime | None = None) -> tuple[list[int], list[int]]:
    """(orders to send again, orders to poll): 待推送 left without a task, 推送中 past the lease,
    and every order not yet paid in full."""
    now = now or timezone.now()
    resend = list(
        CollectionOrder.objects.filter(
            status=CollectionOrder.Status.PENDING, created_at__lt=now - PENDING_RESEND_AFTER
        ).values_list("pk", flat=True)[:POLL_BATCH]
    )
    poll = list(
        CollectionOrder.objects.filter(
            Q(status=CollectionOrder.Status.SENDING, sent_at__lt=now - SENDING_LEASE)
            | Q(
                status__in=[
                    CollectionOrder.Status.SENT,
                    CollectionOrder.Status.PARTIALLY_PAID,
                    CollectionOrder.Status.FAILED,
                ]
            )
        )
        .order_by("polled_at", "pk")
        .values_list("pk", flat=True)[:POLL_BATCH]
    )
    return resend, poll


def _paid_at(paid_on: datetime.date, now: datetime.datetime) -> datetime.datetime:
    if paid_on == timezone.localdate(now):
        return now
    return timezone.make_aware(datetime.datetime.combine(paid_on, datetime.time(12, 0)))


@transaction.atomic
def collection_result_record(
    *,
    idempotency_key: str,
    result: PaymentResult,
    source: str,
    now: datetime.datetime | None = None,
    request=None,
) -> CollectionResult:
    """Record one payment result; the same result (by its result_id) is recorded once."""
    now = now or timezone.now()
    existing = CollectionResult.objects.filter(result_id=result.result_id).first()
    if existing is not None:
        return existing
    order = (
        CollectionOrder.objects.select_for_update().filter(idempotency_key=idempotency_key).first()
    )
    row = CollectionResult(
        result_id=result.result_id[:64],
        idempotency_key=idempotency_key[:64],
        outcome=CollectionResult.Outcome.PAID if result.paid else CollectionResult.Outcome.FAILED,
        amount=result.amount,
        receipt_number=result.receipt_number[:40],
        paid_on=result.paid_on,
        failure_code=result.failure_code[:32],
        failure_message=result.failure_message[:200],
        source=source,
        received_at=now,
    )
    if order is None:
        # A result for no bill of the portal: kept for the daily 对账 to list.
        row.full_clean()
        row.save()
        audit_log(
            action="collection.result_unmatched",
            outcome=AuditEvent.Outcome.FAILURE,
            obj=row,
            request=request,
            details={"result": row.result_id, "amount": str(row.amount)},
        )
        return row
    bill = MonthlyBill.objects.select_for_update().get(pk=order.bill_id)
    row.order, row.bill, row.employer_id = order, bill, bill.employer_id
    payment = Payment(
        reference=new_reference("JF"),
        bill=bill,
        employer_id=bill.employer_id,
        amount=result.amount,
        requested_by_id=bill.confirmed_by_id,
        requested_at=now,
        idempotency_key=uuid.uuid5(RESULT_KEY_NAMESPACE, row.result_id),
    )
    if result.paid:
        paid_on = result.paid_on or timezone.localdate(now)
        paid_at = _paid_at(paid_on, now)
        payment.status = Payment.Status.DEBITED
        payment.bank_reference = row.receipt_number
        payment.debited_at = paid_at
        payment.expected_settle_on = collection_adapter().estimate_settlement(paid_on)
        order.paid_amount += result.amount
        order.receipt_number = row.receipt_number
        order.paid_on = paid_on
        if order.paid_amount >= order.amount:
            order.status = CollectionOrder.Status.PAID
            if bill.status in (BillStatus.CONFIRMED, BillStatus.DEBIT_FAILED):
                bill.status = BillStatus.DEBITED
                bill.debited_at = paid_at
                bill.save(update_fields=["status", "debited_at"])
        else:
            order.status = CollectionOrder.Status.PARTIALLY_PAID
            if bill.status == BillStatus.DEBIT_FAILED:
                bill.status = BillStatus.CONFIRMED
                bill.save(update_fields=["status"])
    else:
        payment.status = Payment.Status.FAILED
        payment.failure_code = row.failure_code
        payment.failure_message = row.failure_message or str(_("征收系统未说明原因"))
        order.failure_code = row.failure_code
        order.failure_message = payment.failure_message
        if order.paid_amount <= 0:
            order.status = CollectionOrder.Status.FAILED
            if bill.status == BillStatus.CONFIRMED:
                bill.status = BillStatus.DEBIT_FAILED
                bill.save(update_fields=["status"])
    payment.full_clean()
    payment.save()
    order.save(
        update_fields=[
            "status",
            "paid_amount",
            "receipt_number",
            "paid_on",
            "failure_code",
            "failure_message",
        ]
    )
    row.payment = payment
    row.full_clean()
    row.save()
    audit_log(
        action="collection.result",
        employer_id=bill.employer_id,
        obj=row,
        request=request,
        outcome=AuditEvent.Outcome.SUCCESS if result.paid else AuditEvent.Outcome.FAILURE,
        details={
            "bill": bill.reference,
            "source": source,
            "amount": str(result.amount),
            "receipt": row.receipt_number,
            "failure_code": row.failure_code,
            "order_status": order.status,
        },
    )
    return row


class CollectionCallbackRejected(Exception):
    """A callback the portal refuses; ``code`` is stable, ``http_status`` what to answer."""

    def __init__(self, code: str, http_status: int = 400):
        super().__init__(code)
        self.code = code
        self.http_status = http_status


def callback_secret() -> str:
    return getattr(settings, "COLLECTION_CALLBACK_SECRET", "")


def callback_signature(timestamp: str, payload: bytes) -> str:
    """Return the hex HMAC-SHA256 of "<timestamp>." + body under the shared secret."""
    message = timestamp.encode() + b"." + payload
    return hmac.new(callback_secret().encode(), message, hashlib.sha256).hexdigest()


def _parse_result(payload: bytes) -> tuple[str, PaymentResult]:
    try:
        data = json.loads(payload)
        paid = data["paid"]
        if not isinstance(paid, bool):
            raise ValueError("paid")
        amount = Decimal(str(data["amount"]))
        if not amount.is_finite() or amount < 0:
            raise ValueError("amount")
        paid_on = data.get("paid_on")
        result = PaymentResult(
            result_id=str(data["result_id"])[:64],
            paid=paid,
            amount=amount.quantize(Decimal("0.01")),
            receipt_number=str(data.get("receipt_number") or "")[:40],
            paid_on=datetime.date.fromisoformat(paid_on) if paid_on else None,
            failure_code=str(data.get("failure_code") or "")[:32],
            failure_message=str(data.get("failure_message") or "")[:200],
        )
        key = str(data["idempotency_key"])[:64]
    except (ValueError, KeyError, TypeError, InvalidOperation):
        raise CollectionCallbackRejected("malformed") from None
    if not result.result_id or not key or (result.paid and not result.receipt_number):
        raise CollectionCallbackRejected("malformed")
    return key, result


def callback_uses_outbound_signing() -> bool:
    """Whether callbacks are signed as portal.outbound signs requests (key id, nonce): so with
    the http collection adapter; the sandbox and other adapters keep the timestamp HMAC."""
    return getattr(settings, "COLLECTION_ADAPTER", "") == "http"


# How portal.outbound's refusals read to the collection system.
OUTBOUND_REFUSALS = {
    "signature_missing": "bad_signature",
    "unknown_key": "bad_signature",
    "signature_invalid": "bad_signature",
    "timestamp_invalid": "stale",
    "replay": "replay",
}


def _callback_refusal(
    *, payload: bytes, timestamp: str, signature: str, headers, path: str, now
) -> str:
    """Why the callback's signature is refused ("" when it is good)."""
    secret = callback_secret()
    if callback_uses_outbound_signing():
        from portal import outbound

        if not secret:
            return "bad_signature"
        try:
            outbound.verify_signed_request(
                method="POST",
                path=path,
                headers=headers or {},
                body=payload,
                secrets={settings.COLLECTION_KEY_ID or "collection": secret},
                max_age=CALLBACK_MAX_AGE,
                now=now.timestamp(),
            )
        except outbound.SignatureRejected as exc:
            return OUTBOUND_REFUSALS[exc.code]
        return ""
    expected = callback_signature(timestamp, payload) if secret else ""
    try:
        age = abs(now.timestamp() - int(timestamp))
    except ValueError:
        age = None
    if not secret or not hmac.compare_digest(expected, signature or ""):
        return "bad_signature"
    if age is None or age > CALLBACK_MAX_AGE:
        return "stale"
    return ""


def collection_callback_accept(
    *,
    payload: bytes,
    timestamp: str = "",
    signature: str = "",
    headers=None,
    path: str = "",
    now: datetime.datetime | None = None,
    request=None,
) -> CollectionResult:
    """Accept the collection system's signed payment-result callback, or raise
    CollectionCallbackRejected (audited).

    With the http adapter the callback is signed like the portal's own requests (``headers``
    and ``path`` of the request: X-Key-Id, X-Timestamp, X-Nonce, X-Signature, a nonce accepted
    once); otherwise with ``timestamp`` and ``signature`` (X-Collection-Timestamp and
    X-Collection-Signature, HMAC over "<timestamp>." + body).
    """
    now = now or timezone.now()
    code = _callback_refusal(
        payload=payload,
        timestamp=timestamp,
        signature=signature,
        headers=headers,
        path=path,
        now=now,
    )
    if code:
        with transaction.atomic():
            audit_log(
                action="collection.callback_rejected",
                outcome=AuditEvent.Outcome.FAILURE,
                request=request,
                details={"reason": code},
            )
        raise CollectionCallbackRejected(code, http_status=403)
    key, result = _parse_result(payload)
    return collection_result_record(
        idempotency_key=key,
        result=result,
        source=CollectionResult.Source.CALLBACK,
        now=now,
        request=request,
    )


def bill_notice_print(*, agent, bill: MonthlyBill, request=None) -> bytes:
    """Render the bill's 缴费通知单 / 核定单 as a PDF and audit the print (the bill is already
    loaded for the agent's unit)."""
    from contributions.billing.selectors import bill_type_totals
    from contributions.collection.pdf import bill_notice_pdf
    from contributions.collection.selectors import bill_collection

    collection = bill_collection(bill)
    data = bill_notice_pdf(
        bill,
        mode=collection.mode,
        order=collection.order,
        type_totals=bill_type_totals(bill),
        printed_at=timezone.localtime(),
    )
    audit_log(
        action="bill.notice_printed",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=bill,
        request=request,
        details={"reference": bill.reference},
    )
    return data
