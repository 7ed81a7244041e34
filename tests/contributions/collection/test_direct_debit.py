"""Direct debit: the bank is called after the pending payment commits; a lost answer is
resolved by a status query, never by a second debit."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contributions.models import BillStatus, CollectionMode, Payment, SandboxBankAccount
from contributions.payments.services import (
    bill_confirm,
    bill_pay,
    payments_resolve_requested,
)
from tests.contributions.collection.helpers import tax_unit

pytestmark = pytest.mark.django_db

HELPERS = "tests.contributions.collection.helpers"
BALANCE = Decimal("1000000.00")


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.SANDBOX_BANK_SETTLEMENT_DAYS = 3
    settings.SANDBOX_BANK_DEFAULT_BALANCE = str(BALANCE)


@pytest.fixture
def unit():
    employer, agent, bill = tax_unit(mode=CollectionMode.DIRECT_DEBIT)
    bill_confirm(agent=agent, bill=bill)
    return employer, agent, bill


def later():
    return timezone.now() + datetime.timedelta(minutes=3)


def test_a_lost_bank_answer_is_resolved_by_status_query_without_a_second_debit(unit, settings):
    employer, agent, bill = unit
    settings.CONTRIBUTION_BANK_ADAPTER = f"{HELPERS}.LostAnswerBank"
    payment = bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())
    assert payment.status == Payment.Status.REQUESTED
    debited_once = BALANCE - bill.total
    assert SandboxBankAccount.objects.get(employer=employer).balance == debited_once
    # While the answer is outstanding, a second payment of the bill is refused.
    with pytest.raises(ValidationError) as caught:
        bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())
    assert caught.value.code == "in_progress"
    # Not asked within the lease; asked after it.
    assert payments_resolve_requested() == 0
    assert payments_resolve_requested(now=later()) == 1
    payment.refresh_from_db()
    bill.refresh_from_db()
    assert payment.status == Payment.Status.DEBITED and payment.bank_reference
    assert bill.status == BillStatus.DEBITED
    assert SandboxBankAccount.objects.get(employer=employer).balance == debited_once


def test_a_debit_the_bank_never_received_fails_and_may_be_paid_again(unit, settings):
    employer, agent, bill = unit
    settings.CONTRIBUTION_BANK_ADAPTER = f"{HELPERS}.NeverReachedBank"
    payment = bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())
    assert payments_resolve_requested(now=later()) == 1
    payment.refresh_from_db()
    bill.refresh_from_db()
    assert (payment.status, payment.failure_code) == (Payment.Status.FAILED, "not_received")
    assert bill.status == BillStatus.DEBIT_FAILED
    settings.CONTRIBUTION_BANK_ADAPTER = "sandbox"
    again = bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())
    assert again.status == Payment.Status.DEBITED
    assert SandboxBankAccount.objects.get(employer=employer).balance == BALANCE - bill.total


def test_the_sandbox_bank_debits_a_reference_once(unit):
    from contributions.payments.bank import contribution_bank

    employer, _, bill = unit
    bank = contribution_bank()
    first = bank.debit(employer=employer, amount=bill.total, reference="JFTEST0001")
    second = bank.debit(employer=employer, amount=bill.total, reference="JFTEST0001")
    assert first == second and first.ok
    assert SandboxBankAccount.objects.get(employer=employer).balance == BALANCE - bill.total
    assert bank.debit_status(reference="JFTEST0001") == first
    assert bank.debit_status(reference="JFNEVER") is None


def test_the_bank_is_called_outside_the_payment_transaction(unit, settings, monkeypatch):
    from django.db import connection

    from contributions.payments.bank import SandboxContributionBank

    _, agent, bill = unit
    depth = []
    original = SandboxContributionBank.debit

    def spy(self, **kwargs):
        # The test's own transaction is the only one left open around the call.
        depth.append(len(connection.savepoint_ids))
        return original(self, **kwargs)

    monkeypatch.setattr(SandboxContributionBank, "debit", spy)
    bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())
    assert depth == [0]
