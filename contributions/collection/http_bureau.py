"""The collection system's signed-HTTP API (docs/INTEGRATIONS.md, "Contribution collection").

``COLLECTION_ADAPTER = "http"`` speaks it through portal.outbound.SignedClient with
COLLECTION_BASE_URL, COLLECTION_KEY_ID and COLLECTION_SECRET:

- ``POST /assessments`` sends one bill's 应征数据 with the bill's key as ``Idempotency-Key``;
- ``GET /assessments/{key}`` asks what the system holds under the key (404: nothing).

The client retries a POST only under the same key, so a retry can never make a second claim; a
lost answer is resolved by the status query (contributions.collection.services.collection_poll).
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

from django.conf import settings

from contributions.collection.adapter import (
    AssessmentData,
    CollectionAdapter,
    CollectionRefused,
    CollectionUnavailable,
    PaymentResult,
    StatusAnswer,
    SubmitAnswer,
)
from portal import outbound


def _money(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01'))}"


def assessment_body(data: AssessmentData) -> dict:
    """The JSON body of ``POST /assessments``: amounts in yuan as strings with two decimals."""
    return {
        "idempotency_key": data.idempotency_key,
        "bill_reference": data.bill_reference,
        "uscc": data.uscc,
        "unit_name": data.unit_name,
        "ss_number": data.ss_number,
        "region_code": data.region_code,
        "month": f"{data.month:%Y-%m}",
        "due_on": data.due_on.isoformat(),
        "amount": _money(data.amount),
        "employer_amount": _money(data.employer_amount),
        "personal_amount": _money(data.personal_amount),
        "by_type": {
            kind: {"employer": _money(employer), "personal": _money(personal)}
            for kind, (employer, personal) in sorted(data.by_type.items())
        },
    }


def payment_result(item: dict) -> PaymentResult:
    """One entry of ``results`` in a status answer; ValueError when it is not well formed."""
    try:
        paid = item["paid"]
        if not isinstance(paid, bool):
            raise ValueError("paid")
        amount = Decimal(str(item["amount"]))
        if not amount.is_finite() or amount < 0:
            raise ValueError("amount")
        paid_on = item.get("paid_on")
        result = PaymentResult(
            result_id=str(item["result_id"])[:64],
            paid=paid,
            amount=amount.quantize(Decimal("0.01")),
            receipt_number=str(item.get("receipt_number") or "")[:40],
            paid_on=datetime.date.fromisoformat(paid_on) if paid_on else None,
            failure_code=str(item.get("failure_code") or "")[:32],
            failure_message=str(item.get("failure_message") or "")[:200],
        )
    except (KeyError, TypeError, InvalidOperation) as exc:
        raise ValueError("a malformed payment result") from exc
    if not result.result_id or (result.paid and not result.receipt_number):
        raise ValueError("a payment result without its number or receipt")
    return result


class HttpTaxBureau(CollectionAdapter):
    """The collection system (税务部门's 社保费征收) over signed HTTP."""

    name = "http"

    def __init__(self, client: outbound.SignedClient | None = None):
        self.client = client or outbound.SignedClient(
            base_url=settings.COLLECTION_BASE_URL,
            key_id=settings.COLLECTION_KEY_ID,
            secret=settings.COLLECTION_SECRET,
        )

    def submit(self, data: AssessmentData) -> SubmitAnswer:
        try:
            answer = self.client.call(
                "POST",
                "/assessments",
                json=assessment_body(data),
                idempotency_key=data.idempotency_key,
            )
        except outbound.OutboundRefused as exc:
            raise CollectionRefused(
                str(exc.data.get("code") or f"http_{exc.status}"),
                str(exc.data.get("message") or ""),
            ) from exc
        except outbound.OutboundUnavailable as exc:
            raise CollectionUnavailable(str(exc)) from exc
        voucher = answer.data.get("voucher_number")
        if not isinstance(voucher, str) or not voucher.strip():
            raise CollectionUnavailable("an answer without a voucher number")
        return SubmitAnswer(voucher_number=voucher.strip()[:40])

    def query(self, idempotency_key: str) -> StatusAnswer:
        try:
            answer = self.client.call("GET", f"/assessments/{quote(idempotency_key, safe='')}")
        except outbound.OutboundRefused as exc:
            if exc.status == 404:
                return StatusAnswer(known=False)
            # Any other "no" (a signature refused, say) tells nothing about the key.
            raise CollectionUnavailable(f"status query refused with HTTP {exc.status}") from exc
        except outbound.OutboundUnavailable as exc:
            raise CollectionUnavailable(str(exc)) from exc
        data = answer.data
        voucher = data.get("voucher_number")
        results = data.get("results", [])
        if not isinstance(voucher, str) or not voucher.strip() or not isinstance(results, list):
            raise CollectionUnavailable("a status answer without a voucher number")
        try:
            parsed = tuple(payment_result(item) for item in results)
        except (ValueError, AttributeError) as exc:
            raise CollectionUnavailable(str(exc)) from exc
        return StatusAnswer(known=True, voucher_number=voucher.strip()[:40], results=parsed)
