"""The daily 对账: each kind of mismatch is found, listed with its cause, and kept for clerks."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from contributions.collection.adapter import PaymentResult
from contributions.collection.reconcile import (
    AMOUNT_MISMATCH,
    DUPLICATE,
    NO_RESULT,
    RECORDS_MISSING,
    RESULT_WITHOUT_BILL,
    reconcile_collection,
)
from contributions.collection.services import collection_result_record
from contributions.collection.tasks import collection_reconcile_daily
from contributions.models import (
    BillLine,
    BillStatus,
    CollectionMode,
    MonthlyBill,
    ReconciliationReport,
)
from contributions.payments.services import bill_confirm
from tests.contributions.collection.helpers import tax_unit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.SANDBOX_PROVIDERS = True
    settings.SANDBOX_BANK_SETTLEMENT_DAYS = 3
    settings.COLLECTION_ADAPTER = "sandbox"


def confirmed(capture, mode=CollectionMode.TAX_BUREAU):
    _, agent, bill = tax_unit(mode=mode, persons=1)
    with capture(execute=True):
        bill_confirm(agent=agent, bill=bill)
    bill.refresh_from_db()
    return bill


def paid(bill, result_id, *, amount=None, receipt=None):
    collection_result_record(
        idempotency_key=bill.reference,
        result=PaymentResult(
            result_id=result_id,
            paid=True,
            amount=bill.total if amount is None else amount,
            receipt_number=receipt or f"JK{result_id}",
            paid_on=timezone.localdate(),
        ),
        source="poll",
    )


def run(date: datetime.date) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("reconcile_collection", "--date", date.isoformat(), stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_each_kind_of_mismatch_is_found_with_its_cause(django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    today = timezone.localdate()
    # Sent, due (the 28th of August), no result.
    waiting = confirmed(capture)
    # Paid in part.
    partial = confirmed(capture)
    paid(partial, "P1", amount=Decimal("100.00"))
    # Paid in full, but its records are gone.
    no_records = confirmed(capture)
    paid(no_records, "R1")
    BillLine.objects.filter(bill=no_records).delete()
    # Paid in full, yet the bill was not moved on.
    stuck = confirmed(capture)
    paid(stuck, "S1")
    MonthlyBill.objects.filter(pk=stuck.pk).update(status=BillStatus.CONFIRMED)
    # The same payment reported twice under two result numbers.
    twice = confirmed(capture)
    paid(twice, "D1", receipt="JKDUP")
    paid(twice, "D2", receipt="JKDUP")
    # A result for no bill of the portal.
    collection_result_record(
        idempotency_key="HDNOSUCHBILL",
        result=PaymentResult(
            result_id="X1", paid=True, amount=Decimal("9.00"), receipt_number="JKX1", paid_on=today
        ),
        source="callback",
    )
    # A clean one: paid in full, records in place.
    clean = confirmed(capture)
    paid(clean, "C1")

    result = reconcile_collection(date=today)
    found = {(m["kind"], m.get("bill") or m.get("receipt")) for m in result.mismatches}
    assert (NO_RESULT, waiting.reference) in found
    assert (AMOUNT_MISMATCH, partial.reference) in found
    assert (RECORDS_MISSING, no_records.reference) in found
    assert (RECORDS_MISSING, stuck.reference) in found
    assert (DUPLICATE, twice.reference) in found
    assert (DUPLICATE, "JKDUP") in found
    assert (AMOUNT_MISMATCH, twice.reference) in found  # paid twice: more than billed
    assert any(
        m["kind"] == RESULT_WITHOUT_BILL and "HDNOSUCHBILL" in m["cause"] for m in result.mismatches
    )
    assert not any(m.get("bill") == clean.reference for m in result.mismatches)
    causes = {
        m["kind"]: m["cause"] for m in result.mismatches if m.get("bill") == partial.reference
    }
    assert "部分缴款" in causes[AMOUNT_MISMATCH] and "100.00" in causes[AMOUNT_MISMATCH]

    code, out, err = run(today)
    assert code == 1
    for kind in (NO_RESULT, AMOUNT_MISMATCH, RESULT_WITHOUT_BILL, RECORDS_MISSING, DUPLICATE):
        assert kind in out
    assert waiting.reference in out and "差异" in err
    report = ReconciliationReport.objects.get(date=today)
    assert report.mismatch_count == len(result.mismatches) > 0


def test_a_debit_without_bank_answer_is_listed(django_capture_on_commit_callbacks, settings):
    import uuid

    from contributions.payments.services import bill_pay

    settings.CONTRIBUTION_BANK_ADAPTER = "tests.contributions.collection.helpers.LostAnswerBank"
    _, agent, bill = tax_unit(mode=CollectionMode.DIRECT_DEBIT, persons=1)
    bill_confirm(agent=agent, bill=bill)
    payment = bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())
    result = reconcile_collection(date=timezone.localdate())
    assert [(m["kind"], m["bill"]) for m in result.mismatches] == [(NO_RESULT, bill.reference)]
    assert payment.reference in result.mismatches[0]["cause"]


def test_a_day_without_mismatches_exits_zero_and_is_kept():
    day = timezone.localdate() - datetime.timedelta(days=400)
    code, out, _err = run(day)
    assert code == 0 and "差异 0 条" in out
    assert ReconciliationReport.objects.get(date=day).mismatch_count == 0


def test_a_bad_date_is_refused():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="格式不对"):
        call_command("reconcile_collection", "--date", "2026-13-01")


def test_the_beat_task_reconciles_yesterday_each_morning():
    from portal.celery import app

    entry = app.conf.beat_schedule["contributions-collection-reconcile"]
    assert entry["task"] == "contributions.tasks.collection_reconcile_daily"
    assert entry["schedule"].hour == {6}
    assert collection_reconcile_daily.delay().get() == 0
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    assert ReconciliationReport.objects.filter(date=yesterday).exists()


def test_clerks_see_the_reports_in_the_admin(admin_client, django_capture_on_commit_callbacks):
    confirmed(django_capture_on_commit_callbacks)
    collection_reconcile_daily.delay(timezone.localdate().isoformat()).get()
    report = ReconciliationReport.objects.get()
    page = admin_client.get(
        f"/admin/contributions/reconciliationreport/{report.pk}/change/"
    ).content.decode()
    assert "已推送未收到结果" in page and "缴费截止日" in page
