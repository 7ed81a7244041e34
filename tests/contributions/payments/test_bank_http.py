"""Direct debit through a contribution bank's signed-HTTP API, against a stub bank on 127.0.0.1:
signed requests, retries under one key, lost answers settled by a status query, nothing debited
twice."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contributions.models import BillStatus, CollectionMode, Payment
from contributions.payments.bank import HttpContributionBank, contribution_bank
from contributions.payments.services import (
    NOT_RECEIVED,
    bill_confirm,
    bill_pay,
    payments_resolve_requested,
)
from portal import outbound
from portal.models import AuditEvent
from tests.contributions.collection.helpers import tax_unit

pytestmark = pytest.mark.django_db

SECRET = "contribution-bank-secret-of-at-least-32-bytes"
KEY_ID = "portal-debits"


class StubBank:
    """Plays the bank: one debit per Idempotency-Key, a status query by reference."""

    def __init__(self, server, balance: Decimal = Decimal("1000000.00")):
        self.server = server
        self.balance = balance
        self.debits: dict[str, dict] = {}  # reference -> the debit's answer
        server.route("POST", "/debits", self.create)
        server.route("GET", r"/debits/([A-Z0-9]+)", self.status)

    def create(self, request, match):
        body = request.json
        key = request.headers.get(outbound.IDEMPOTENCY_HEADER, "")
        assert key == body["reference"]
        if body["payer"]["account"].endswith("0000"):
            return 422, {"code": "account_frozen", "message": "账户已冻结"}
        if key not in self.debits:  # the same key again is the same debit, never a second
            amount = Decimal(body["amount"])
            if amount > self.balance:
                self.debits[key] = {"status": "failed", "code": "insufficient_funds"}
            else:
                self.balance -= amount
                self.debits[key] = {
                    "status": "debited",
                    "bank_reference": f"BD{len(self.debits) + 1:010d}",
                    "amount": body["amount"],
                }
        return 201, self.debits[key]

    def status(self, request, match):
        found = self.debits.get(match[1])
        return (200, found) if found else (404, {"code": "not_found"})

    def posts(self):
        return self.server.calls("POST", "/debits")

    def queries(self):
        return self.server.calls("GET", "/debits/")


@pytest.fixture
def bank(stub_server, settings):
    server = stub_server(key_id=KEY_ID, secret=SECRET, stall_seconds=1.5)
    settings.SANDBOX_BANK_SETTLEMENT_DAYS = 3
    settings.CONTRIBUTION_BANK_ADAPTER = "http"
    settings.CONTRIBUTION_BANK_BASE_URL = server.base_url
    settings.CONTRIBUTION_BANK_KEY_ID = KEY_ID
    settings.CONTRIBUTION_BANK_SECRET = SECRET
    settings.OUTBOUND_READ_TIMEOUT = 0.5
    settings.OUTBOUND_RETRIES = 2
    settings.OUTBOUND_BACKOFF_SECONDS = 0.01
    return StubBank(server)


@pytest.fixture
def unit():
    employer, agent, bill = tax_unit(mode=CollectionMode.DIRECT_DEBIT)
    bill_confirm(agent=agent, bill=bill)
    return employer, agent, bill


def pay(agent, bill) -> Payment:
    return bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())


def after_the_lease() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(minutes=3)


def test_the_adapter_is_http(bank):
    assert isinstance(contribution_bank(), HttpContributionBank)
    assert not contribution_bank().is_sandbox


def test_the_debit_is_signed_and_carries_the_payments_reference(bank, unit):
    employer, agent, bill = unit
    payment = pay(agent, bill)

    assert payment.status == Payment.Status.DEBITED
    ((reference, made),) = bank.debits.items()
    assert reference == payment.reference
    assert payment.bank_reference == made["bank_reference"] == "BD0000000001"
    assert payment.expected_settle_on is not None
    (post,) = bank.posts()
    assert post.signature == "ok" and post.headers[outbound.KEY_ID_HEADER] == KEY_ID
    assert post.headers[outbound.IDEMPOTENCY_HEADER] == payment.reference
    assert Decimal(post.json["amount"]) == bill.total
    assert post.json["payer"]["uscc"] == employer.uscc
    assert post.json["payer"]["account"] == employer.bank_account
    bill.refresh_from_db()
    assert bill.status == BillStatus.DEBITED
    assert bank.balance == Decimal("1000000.00") - bill.total


def test_a_5xx_and_a_timeout_are_retried_with_the_same_key_and_debit_once(bank, unit):
    _, agent, bill = unit
    bank.server.faults += ["fail", "timeout"]

    payment = pay(agent, bill)

    assert payment.status == Payment.Status.DEBITED
    assert len(bank.posts()) == 3
    assert {r.headers[outbound.IDEMPOTENCY_HEADER] for r in bank.posts()} == {payment.reference}
    assert all(r.signature == "ok" for r in bank.posts())
    assert len(bank.debits) == 1 and bank.balance == Decimal("1000000.00") - bill.total


def test_a_lost_answer_is_resolved_by_a_status_query_never_a_second_debit(bank, unit):
    _, agent, bill = unit
    bank.server.faults += ["lose", "lose", "lose"]  # the bank debits, every answer is lost

    payment = pay(agent, bill)

    assert payment.status == Payment.Status.REQUESTED
    assert len(bank.debits) == 1
    posts = len(bank.posts())
    # While the answer is outstanding a second payment of the bill is refused.
    with pytest.raises(ValidationError) as caught:
        pay(agent, bill)
    assert caught.value.code == "in_progress"
    assert payments_resolve_requested() == 0  # within the lease
    assert payments_resolve_requested(now=after_the_lease()) == 1

    payment.refresh_from_db()
    bill.refresh_from_db()
    assert payment.status == Payment.Status.DEBITED
    assert payment.bank_reference == bank.debits[payment.reference]["bank_reference"]
    assert bill.status == BillStatus.DEBITED
    assert len(bank.posts()) == posts  # asked, never debited again
    assert len(bank.queries()) == 1 and bank.queries()[0].signature == "ok"
    assert bank.balance == Decimal("1000000.00") - bill.total
    # A resolved debit is not asked about again, and the bill cannot be paid a second time.
    assert payments_resolve_requested(now=after_the_lease()) == 0
    with pytest.raises(ValidationError):
        pay(agent, bill)
    assert len(bank.debits) == 1


def test_a_debit_that_never_arrived_fails_and_the_bill_may_be_paid_again(bank, unit):
    _, agent, bill = unit
    bank.server.faults += ["reset", "reset", "reset"]

    first = pay(agent, bill)
    assert first.status == Payment.Status.REQUESTED and not bank.debits

    assert payments_resolve_requested(now=after_the_lease()) == 1  # 404: never received
    first.refresh_from_db()
    assert (first.status, first.failure_code) == (Payment.Status.FAILED, NOT_RECEIVED)
    bill.refresh_from_db()
    assert bill.status == BillStatus.DEBIT_FAILED

    second = pay(agent, bill)
    assert second.status == Payment.Status.DEBITED
    assert list(bank.debits) == [second.reference]
    assert bank.balance == Decimal("1000000.00") - bill.total


def test_a_failed_debit_keeps_the_banks_reason(bank, unit):
    _, agent, bill = unit
    bank.balance = Decimal("1.00")

    payment = pay(agent, bill)

    assert (payment.status, payment.failure_code) == (Payment.Status.FAILED, "insufficient_funds")
    assert "余额不足" in payment.failure_message  # the portal's own words for a known code
    bill.refresh_from_db()
    assert bill.status == BillStatus.DEBIT_FAILED


def test_a_4xx_refusal_is_recorded_with_its_reason_and_not_retried(bank, unit):
    employer, agent, bill = unit
    employer.bank_account = "6222020200000000"
    employer.save(update_fields=["bank_account"])

    payment = pay(agent, bill)

    assert (payment.status, payment.failure_code) == (Payment.Status.FAILED, "account_frozen")
    assert payment.failure_message == "账户已冻结"
    assert len(bank.posts()) == 1 and not bank.debits
    event = AuditEvent.objects.get(action="payment.debited", object_id=str(payment.pk))
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.details["failure_code"] == "account_frozen"
