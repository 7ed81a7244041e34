"""Payments: confirm, debit through the sandbox bank, settle in working days; late fees."""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contributions.models import BillKind, BillStatus, MonthlyBill, Payment, SandboxBankAccount
from contributions.payments.bank import (
    INSUFFICIENT_FUNDS,
    SandboxContributionBank,
    contribution_bank,
    sandbox_account_for_update,
)
from contributions.payments.services import (
    bill_confirm,
    bill_late_fee,
    bill_pay,
    late_fee,
    payments_settle_due,
)
from contributions.payments.tasks import payments_settle_due as settle_task
from portal.models import AuditEvent, WorkdayOverride
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff

pytestmark = pytest.mark.django_db

D = datetime.date
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
AUGUST = D(2026, 8, 1)
# Base 8,000 for each of two persons: 养老 1280 + 640, 医疗 784 + 160, 失业 40 + 40, 工伤 16
# (class 1, 0.2 %) = 2,960.00 a person.
TWO_PERSONS_TOTAL = Decimal("5920.00")
THURSDAY = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _three_settlement_days(settings):
    settings.SANDBOX_BANK_SETTLEMENT_DAYS = 3
    settings.SANDBOX_BANK_DEFAULT_BALANCE = "1000000.00"


@pytest.fixture
def unit():
    employer, agent, period, enrolments = create_unit_with_staff(2)
    bill = create_bill(employer, AUGUST, enrolments)
    return employer, agent, bill


def set_balance(employer, amount: str):
    SandboxBankAccount.objects.update_or_create(
        employer=employer, defaults={"balance": Decimal(amount)}
    )


def balance(employer) -> Decimal:
    return SandboxBankAccount.objects.get(employer=employer).balance


# Confirm --------------------------------------------------------------------------------------


def test_confirm_moves_assessed_to_confirmed_with_who_and_when(unit):
    employer, agent, bill = unit
    assert bill.total == TWO_PERSONS_TOTAL
    bill = bill_confirm(agent=agent, bill=bill)
    bill.refresh_from_db()
    assert bill.status == BillStatus.CONFIRMED
    assert bill.confirmed_by == agent
    assert bill.confirmed_at is not None
    event = AuditEvent.objects.get(action="bill.confirmed")
    assert event.employer_id == employer.pk
    assert event.details["total"] == "5920.00"


def test_confirming_twice_changes_nothing_the_second_time(unit):
    _, agent, bill = unit
    first = bill_confirm(agent=agent, bill=bill)
    second = bill_confirm(agent=agent, bill=bill)
    assert second.confirmed_at == first.confirmed_at
    assert AuditEvent.objects.filter(action="bill.confirmed").count() == 1


def test_another_units_agent_cannot_confirm(unit):
    _, _, bill = unit
    _, stranger, _, _ = create_unit_with_staff(0, period=bill.period)
    with pytest.raises(MonthlyBill.DoesNotExist):
        bill_confirm(agent=stranger, bill=bill)
    bill.refresh_from_db()
    assert bill.status == BillStatus.ASSESSED


# Pay, settle --------------------------------------------------------------------------------


def test_whole_flow_with_a_holiday_in_the_settlement_days(unit):
    employer, agent, bill = unit
    set_balance(employer, "10000.00")
    # Monday 2026-12-07 made a holiday: 3 working days after Thursday 12-03 are Fri 12-04,
    # Tue 12-08 and Wed 12-09 (without the holiday it would be Tue 12-08).
    WorkdayOverride.objects.create(date=D(2026, 12, 7), is_working_day=False, name="测试假日")
    bill_confirm(agent=agent, bill=bill)

    payment = bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4(), now=THURSDAY)
    bill.refresh_from_db()
    assert payment.status == Payment.Status.DEBITED
    assert payment.amount == TWO_PERSONS_TOTAL
    assert payment.bank_reference.startswith("SBXD")
    assert payment.expected_settle_on == D(2026, 12, 9)
    assert bill.status == BillStatus.DEBITED
    assert bill.debited_at == THURSDAY
    assert balance(employer) == Decimal("10000.00") - TWO_PERSONS_TOTAL  # 4,080.00

    assert payments_settle_due(today=D(2026, 12, 8)) == 0
    bill.refresh_from_db()
    assert bill.status == BillStatus.DEBITED

    assert payments_settle_due(today=D(2026, 12, 9)) == 1
    bill.refresh_from_db()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SETTLED
    assert bill.status == BillStatus.SETTLED
    assert bill.settled_at is not None and payment.settled_at == bill.settled_at
    actions = list(
        AuditEvent.objects.filter(employer_id=employer.pk, action__regex=r"^(bill|payment)\.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["bill.confirmed", "payment.debited", "payment.settled"]
    assert payments_settle_due(today=D(2026, 12, 31)) == 0  # nothing twice


def test_without_the_holiday_three_working_days_end_on_tuesday(unit):
    employer, agent, bill = unit
    bill_confirm(agent=agent, bill=bill)
    payment = bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4(), now=THURSDAY)
    assert payment.expected_settle_on == D(2026, 12, 8)


def test_sandbox_settles_in_three_to_five_working_days(settings):
    settings.SANDBOX_BANK_SETTLEMENT_DAYS = None
    sandbox = SandboxContributionBank()
    # From Thursday 2026-12-03: 3, 4 or 5 working days are 12-08, 12-09 and 12-10.
    seen = {sandbox.estimate_settlement(D(2026, 12, 3)) for _ in range(60)}
    assert seen <= {D(2026, 12, 8), D(2026, 12, 9), D(2026, 12, 10)}
    assert len(seen) >= 2


def test_insufficient_funds_fails_debits_nothing_and_retry_after_top_up_succeeds(unit):
    employer, agent, bill = unit
    set_balance(employer, "5919.99")  # one cent short
    bill_confirm(agent=agent, bill=bill)

    failed = bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())
    bill.refresh_from_db()
    assert failed.status == Payment.Status.FAILED
    assert failed.failure_code == INSUFFICIENT_FUNDS
    assert "余额不足" in failed.failure_message and "重新发起扣款" in failed.failure_message
    assert failed.bank_reference == "" and failed.expected_settle_on is None
    assert bill.status == BillStatus.DEBIT_FAILED and bill.debited_at is None
    assert balance(employer) == Decimal("5919.99")
    event = AuditEvent.objects.get(action="payment.debited")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.details["failure_code"] == INSUFFICIENT_FUNDS

    set_balance(employer, "6000.00")
    retried = bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())
    bill.refresh_from_db()
    assert retried.pk != failed.pk
    assert retried.status == Payment.Status.DEBITED
    assert bill.status == BillStatus.DEBITED
    assert balance(employer) == Decimal("80.00")
    assert Payment.objects.filter(bill=bill).count() == 2


def test_the_same_key_pays_once(unit):
    employer, agent, bill = unit
    bill_confirm(agent=agent, bill=bill)
    key = uuid.uuid4()
    first = bill_pay(agent=agent, bill=bill, idempotency_key=key)
    second = bill_pay(agent=agent, bill=bill, idempotency_key=key)
    assert first.pk == second.pk
    assert Payment.objects.filter(bill=bill).count() == 1
    assert balance(employer) == Decimal("1000000.00") - TWO_PERSONS_TOTAL


def test_a_second_key_after_success_is_refused(unit):
    employer, agent, bill = unit
    bill_confirm(agent=agent, bill=bill)
    bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())
    with pytest.raises(ValidationError) as exc:
        bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())
    assert exc.value.code == "already_paid"
    assert Payment.objects.filter(bill=bill).count() == 1
    assert balance(employer) == Decimal("1000000.00") - TWO_PERSONS_TOTAL


def test_an_unconfirmed_bill_cannot_be_paid(unit):
    employer, agent, bill = unit
    with pytest.raises(ValidationError) as exc:
        bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())
    assert exc.value.code == "not_confirmed"
    assert not Payment.objects.exists()
    assert not SandboxBankAccount.objects.filter(employer=employer).exists()


def test_first_debit_opens_the_sandbox_account_with_the_default_balance(unit, settings):
    employer, agent, bill = unit
    settings.SANDBOX_BANK_DEFAULT_BALANCE = "6000.00"
    bill_confirm(agent=agent, bill=bill)
    bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())
    assert balance(employer) == Decimal("80.00")


def test_credit_supplement_is_settled_without_a_debit(unit):
    employer, agent, regular = unit
    enrolments = [line.enrolment for line in regular.lines.all()[:1]]
    credit = create_bill(
        employer,
        AUGUST,
        enrolments,
        kind=BillKind.SUPPLEMENT,
        sequence=1,
        status=BillStatus.CONFIRMED,
    )
    MonthlyBill.objects.filter(pk=credit.pk).update(
        employer_total=Decimal("-30.00"), personal_total=Decimal("-12.50"), total=Decimal("-42.50")
    )
    credit.refresh_from_db()
    payment = bill_pay(agent=agent, bill=credit, idempotency_key=uuid.uuid4())
    credit.refresh_from_db()
    assert payment.status == Payment.Status.SETTLED
    assert payment.amount == Decimal("-42.50")
    assert payment.bank_reference == "" and payment.debited_at is None
    assert credit.status == BillStatus.SETTLED and credit.settled_at is not None
    assert not SandboxBankAccount.objects.filter(employer=employer).exists()  # no bank call
    assert AuditEvent.objects.filter(action="payment.settled_without_debit").count() == 1


def test_settlement_is_set_based(unit):
    employer, agent, bill = unit
    bills = [bill] + [
        create_bill(employer, D(2026, month, 1), [line.enrolment for line in bill.lines.all()[:1]])
        for month in (9, 10, 11)
    ]
    for each in bills:
        bill_confirm(agent=agent, bill=each)
        bill_pay(agent=agent, bill=each, idempotency_key=uuid.uuid4(), now=THURSDAY)

    def settle_queries(today):
        with CaptureQueriesContext(connection) as ctx:
            payments_settle_due(today=today)
        return len(ctx.captured_queries)

    one = settle_queries(D(2026, 12, 7))  # nothing due: select only
    many = settle_queries(D(2026, 12, 8))  # four payments due
    assert many <= one + 4
    assert MonthlyBill.objects.filter(status=BillStatus.SETTLED).count() == 4
    assert AuditEvent.objects.filter(action="payment.settled").count() == 4


def test_the_beat_task_settles_what_is_due_today(unit, monkeypatch):
    employer, agent, bill = unit
    bill_confirm(agent=agent, bill=bill)
    bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4(), now=THURSDAY)
    monkeypatch.setattr(timezone, "localdate", lambda value=None: D(2026, 12, 8))
    assert settle_task.delay().get() == 1
    bill.refresh_from_db()
    assert bill.status == BillStatus.SETTLED


def test_the_beat_schedule_runs_the_settlement_task():
    from portal.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "contributions.tasks.payments_settle_due" in tasks
    assert "contributions.tasks.payments_settle_due" in app.tasks


def test_audit_rows_hold_no_personal_data(unit):
    employer, agent, bill = unit
    bill_confirm(agent=agent, bill=bill)
    bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4(), now=THURSDAY)
    payments_settle_due(today=D(2026, 12, 31))
    people = [(line.person.name, line.person.document_number) for line in bill.lines.all()]
    text = str(list(AuditEvent.objects.values_list("details", flat=True)))
    for name, number in people:
        assert name not in text and number not in text


# Adapter choice ---------------------------------------------------------------------------------


def test_the_adapter_comes_from_the_setting(settings):
    settings.CONTRIBUTION_BANK_ADAPTER = "sandbox"
    assert isinstance(contribution_bank(), SandboxContributionBank)
    settings.CONTRIBUTION_BANK_ADAPTER = "contributions.payments.bank.SandboxContributionBank"
    assert isinstance(contribution_bank(), SandboxContributionBank)
    settings.CONTRIBUTION_BANK_ADAPTER = "no.such.Bank"
    with pytest.raises(ImproperlyConfigured):
        contribution_bank()


def test_opening_the_sandbox_account_twice_keeps_one_row(unit):
    employer, _, _ = unit
    first = sandbox_account_for_update(employer)
    second = sandbox_account_for_update(employer)
    assert first.pk == second.pk
    assert SandboxBankAccount.objects.filter(employer=employer).count() == 1


# Late fee ---------------------------------------------------------------------------------------


def test_late_fee_figures():
    due = D(2026, 9, 15)
    # 5,920.00 × 0.0005 × 10 days = 29.60
    fee = late_fee(total=Decimal("5920.00"), due_on=due, paid_on=D(2026, 9, 25))
    assert (fee.days, fee.amount) == (10, Decimal("29.60"))
    # Paid on the due date: nothing; the day after: one day.
    assert late_fee(total=Decimal("5920.00"), due_on=due, paid_on=due).amount == 0
    assert late_fee(total=Decimal("5920.00"), due_on=due, paid_on=D(2026, 9, 16)).amount == (
        Decimal("2.96")
    )
    # Half a cent rounds up: 1.00 × 0.0005 × 10 = 0.005 → 0.01; 0.0049 → 0.00.
    assert late_fee(total=Decimal("1.00"), due_on=due, paid_on=D(2026, 9, 25)).amount == (
        Decimal("0.01")
    )
    assert late_fee(total=Decimal("0.98"), due_on=due, paid_on=D(2026, 9, 25)).amount == (
        Decimal("0.00")
    )
    # A credit accrues nothing.
    credit = late_fee(total=Decimal("-42.50"), due_on=due, paid_on=D(2026, 12, 1))
    assert (credit.days, credit.amount) == (0, Decimal("0.00"))


def test_bill_late_fee_counts_to_the_debit_or_accrues_to_today(unit):
    _, agent, bill = unit  # due 2026-08-28
    accruing = bill_late_fee(bill, today=D(2026, 9, 7))
    assert (accruing.days, accruing.amount, accruing.paid) == (10, Decimal("29.60"), False)
    bill_confirm(agent=agent, bill=bill)
    bill_pay(
        agent=agent,
        bill=bill,
        idempotency_key=uuid.uuid4(),
        now=datetime.datetime(2026, 9, 2, 9, 0, tzinfo=SHANGHAI),
    )
    bill.refresh_from_db()
    paid = bill_late_fee(bill, today=D(2026, 12, 31))
    # 5 days late: 5,920.00 × 0.0005 × 5 = 14.80
    assert (paid.days, paid.amount, paid.paid) == (5, Decimal("14.80"), True)
    assert bill_late_fee(bill, today=D(2026, 8, 1)).amount == Decimal("14.80")


def test_bill_paid_on_time_has_no_late_fee(unit):
    _, _, bill = unit
    assert bill_late_fee(bill, today=D(2026, 8, 28)) is None


# Admin ------------------------------------------------------------------------------------------


def test_clerks_see_payments_read_only(unit, admin_client):
    employer, agent, bill = unit
    bill_confirm(agent=agent, bill=bill)
    payment = bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())
    listing = admin_client.get("/admin/contributions/payment/")
    assert listing.status_code == 200
    text = listing.content.decode()
    assert payment.reference in text and employer.name in text and "2026-08" in text
    page = admin_client.get(f"/admin/contributions/payment/{payment.pk}/change/")
    assert page.status_code == 200
    assert 'name="amount"' not in page.content.decode()  # nothing editable
    assert admin_client.get("/admin/contributions/payment/add/").status_code == 403
    response = admin_client.post(
        f"/admin/contributions/payment/{payment.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert Payment.objects.filter(pk=payment.pk).exists()


def test_the_bank_is_called_by_a_task_not_in_the_request_and_a_redelivered_task_debits_once(
    unit, monkeypatch
):
    """bill_pay only queues the debit: the page answers 扣款请求已发出 at once, whatever the
    bank's speed; the worker's task records the answer, and the same task run twice (a
    redelivery) neither debits twice nor records twice."""
    from contributions.payments import tasks
    from contributions.payments.services import payment_debit_send

    employer, agent, bill = unit
    set_balance(employer, "10000.00")
    bill_confirm(agent=agent, bill=bill)
    queued = []
    monkeypatch.setattr(tasks.payment_debit_send, "delay", lambda *args: queued.append(args))

    payment = bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4(), now=THURSDAY)
    assert payment.status == Payment.Status.REQUESTED
    assert balance(employer) == Decimal("10000.00")  # nothing debited by the request
    assert queued == [(payment.pk, THURSDAY.isoformat())]

    assert payment_debit_send(payment_id=payment.pk, at=queued[0][1]) == "recorded"
    assert payment_debit_send(payment_id=payment.pk, at=queued[0][1]) == "done"
    payment.refresh_from_db()
    bill.refresh_from_db()
    assert payment.status == Payment.Status.DEBITED
    assert bill.status == BillStatus.DEBITED
    assert balance(employer) == Decimal("10000.00") - TWO_PERSONS_TOTAL
    assert AuditEvent.objects.filter(action="payment.debited").count() == 1


def test_a_debit_whose_task_was_never_queued_waits_for_the_status_query(unit, monkeypatch):
    """Broker down when paying: the payment stays REQUESTED (the page says the bank has not
    answered) and nothing is debited; payments_resolve_requested settles it later."""
    from contributions.payments import tasks

    employer, agent, bill = unit
    set_balance(employer, "10000.00")
    bill_confirm(agent=agent, bill=bill)

    def broker_down(*args):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.payment_debit_send, "delay", broker_down)
    payment = bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4(), now=THURSDAY)
    assert payment.status == Payment.Status.REQUESTED
    assert balance(employer) == Decimal("10000.00")
