"""税务征收: 应征数据 sent after 核定, the sandbox 电子税务局, callbacks, polls, the bill page."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from contributions.collection.adapter import AssessmentData, collection_adapter
from contributions.collection.sandbox import SandboxTaxBureau
from contributions.collection.services import (
    collection_orders_due,
    collection_poll,
)
from contributions.collection.tasks import collection_poll_due
from contributions.models import (
    BillStatus,
    CollectionMode,
    CollectionOrder,
    CollectionResult,
    Payment,
    SandboxTaxOrder,
)
from contributions.payments.services import bill_confirm, bill_pay, payments_settle_due
from portal.models import AuditEvent
from tests.contributions.collection.helpers import (
    SECRET,
    callback_body,
    signed_headers,
    tax_unit,
)
from tests.contributions.proof_helpers import pdf_text

pytestmark = pytest.mark.django_db

HELPERS = "tests.contributions.collection.helpers"
SANDBOX_TAX = reverse("contributions:collection_sandbox_tax")
CALLBACK = reverse("contributions:collection_callback")


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.SANDBOX_PROVIDERS = True
    settings.SANDBOX_BANK_SETTLEMENT_DAYS = 3
    settings.COLLECTION_ADAPTER = "sandbox"
    settings.COLLECTION_CALLBACK_SECRET = SECRET


@pytest.fixture
def unit():
    return tax_unit()


def detail(bill) -> str:
    return reverse("contributions:bill_detail", kwargs={"bill_reference": bill.reference})


def confirm(agent, bill, capture):
    with capture(execute=True):
        return bill_confirm(agent=agent, bill=bill)


def order_of(bill) -> CollectionOrder:
    return CollectionOrder.objects.get(bill=bill)


# Sending ------------------------------------------------------------------------------------


def test_confirming_sends_the_bill_once_after_commit(unit, django_capture_on_commit_callbacks):
    employer, agent, bill = unit
    with django_capture_on_commit_callbacks() as callbacks:
        bill_confirm(agent=agent, bill=bill)
    order = order_of(bill)
    # Pending in the confirmation's transaction; nothing sent before it commits.
    assert order.status == CollectionOrder.Status.PENDING
    assert order.idempotency_key == bill.reference and order.amount == bill.total
    assert not SandboxTaxOrder.objects.exists()
    for callback in callbacks:
        callback()
    order.refresh_from_db()
    claim = SandboxTaxOrder.objects.get()
    assert order.status == CollectionOrder.Status.SENT
    assert order.voucher_number == claim.voucher_number and order.voucher_number
    assert (claim.amount, claim.submit_count, claim.employer_id) == (bill.total, 1, employer.pk)
    assert AuditEvent.objects.filter(action="collection.sent", object_id=str(order.pk)).exists()
    bill.refresh_from_db()
    assert bill.status == BillStatus.CONFIRMED


def test_the_send_task_again_sends_nothing(unit, django_capture_on_commit_callbacks):
    from contributions.collection.tasks import collection_send

    _, agent, bill = unit
    confirm(agent, bill, django_capture_on_commit_callbacks)
    collection_send.delay(order_of(bill).pk)
    assert SandboxTaxOrder.objects.get().submit_count == 1


def test_the_assessment_data_carry_the_unit_and_the_amounts(unit):
    employer, agent, bill = unit
    bill_confirm(agent=agent, bill=bill)
    from contributions.collection.services import assessment_data

    data = assessment_data(order_of(bill))
    assert isinstance(data, AssessmentData)
    assert (data.uscc, data.bill_reference, data.month, data.amount) == (
        employer.uscc,
        bill.reference,
        bill.month,
        bill.total,
    )
    assert sum(e + p for e, p in data.by_type.values()) == bill.total


def test_direct_debit_region_sends_nothing(django_capture_on_commit_callbacks):
    _, agent, bill = tax_unit(mode=CollectionMode.DIRECT_DEBIT)
    confirm(agent, bill, django_capture_on_commit_callbacks)
    assert not CollectionOrder.objects.exists()


def test_a_tax_bureau_bill_cannot_be_debited_here(unit, django_capture_on_commit_callbacks):
    _, agent, bill = unit
    confirm(agent, bill, django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError) as caught:
        bill_pay(agent=agent, bill=bill, idempotency_key=uuid.uuid4())
    assert caught.value.code == "tax_bureau"
    assert not Payment.objects.exists()


def test_the_adapter_comes_from_the_setting(settings):
    assert isinstance(collection_adapter(), SandboxTaxBureau)
    settings.COLLECTION_ADAPTER = f"{HELPERS}.LostAnswerBureau"
    assert type(collection_adapter()).__name__ == "LostAnswerBureau"


# Lost answers -------------------------------------------------------------------------------


def test_a_lost_answer_is_resolved_by_the_poll_without_a_second_send(
    unit, settings, django_capture_on_commit_callbacks
):
    _, agent, bill = unit
    settings.COLLECTION_ADAPTER = f"{HELPERS}.LostAnswerBureau"
    confirm(agent, bill, django_capture_on_commit_callbacks)
    order = order_of(bill)
    assert order.status == CollectionOrder.Status.SENDING and order.voucher_number == ""
    assert order.last_error == "timeout"
    claim = SandboxTaxOrder.objects.get()

    # Not yet due for the poll within the lease; due after it.
    later = timezone.now() + datetime.timedelta(minutes=3)
    assert order.pk not in collection_orders_due(now=timezone.now())[1]
    assert order.pk in collection_orders_due(now=later)[1]

    with django_capture_on_commit_callbacks(execute=True):
        collection_poll(order_id=order.pk, now=later)
    order.refresh_from_db()
    claim.refresh_from_db()
    assert order.status == CollectionOrder.Status.SENT
    assert order.voucher_number == claim.voucher_number
    assert claim.submit_count == 1  # asked, not sent again
    assert SandboxTaxOrder.objects.count() == 1


def test_a_send_that_never_arrived_is_sent_again_under_the_same_key(
    unit, settings, django_capture_on_commit_callbacks
):
    _, agent, bill = unit
    settings.COLLECTION_ADAPTER = f"{HELPERS}.NeverReachedBureau"
    confirm(agent, bill, django_capture_on_commit_callbacks)
    order = order_of(bill)
    assert order.status == CollectionOrder.Status.SENDING
    settings.COLLECTION_ADAPTER = "sandbox"
    with django_capture_on_commit_callbacks(execute=True):
        collection_poll(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == CollectionOrder.Status.SENT and order.send_attempts == 2
    claim = SandboxTaxOrder.objects.get()
    assert (claim.idempotency_key, claim.submit_count) == (bill.reference, 1)


def test_the_beat_task_polls_and_records_results(unit, django_capture_on_commit_callbacks):
    _, agent, bill = unit
    confirm(agent, bill, django_capture_on_commit_callbacks)
    claim = SandboxTaxOrder.objects.get()
    claim.payments.create(
        result_id="R-BEAT-1",
        paid=True,
        amount=bill.total,
        receipt_number="JK0001",
        paid_on=timezone.localdate(),
    )
    assert collection_poll_due.delay().get() == 1
    bill.refresh_from_db()
    assert bill.status == BillStatus.DEBITED
    result = CollectionResult.objects.get()
    assert (result.source, result.receipt_number) == ("poll", "JK0001")
    # Polled again: the same result is recorded once.
    collection_poll(order_id=order_of(bill).pk)
    assert CollectionResult.objects.count() == 1 and Payment.objects.count() == 1


# The sandbox 电子税务局 ---------------------------------------------------------------------


@pytest.fixture
def sent(unit, client, django_capture_on_commit_callbacks):
    employer, agent, bill = unit
    confirm(agent, bill, django_capture_on_commit_callbacks)
    client.force_login(agent.user)
    return employer, agent, bill, client


def post_sandbox(client, capture, **data):
    with capture(execute=True):
        return client.post(SANDBOX_TAX, data)


def test_sandbox_page_shows_the_units_amounts_to_pay(sent):
    _, _, bill, client = sent
    page = client.get(SANDBOX_TAX).content.decode()
    voucher = order_of(bill).voucher_number
    assert voucher in page and bill.reference in page
    assert f'data-outstanding="{bill.total}"' in page


def test_sandbox_full_payment_makes_the_bill_debited_and_it_settles(
    sent, django_capture_on_commit_callbacks
):
    _, _, bill, client = sent
    order = order_of(bill)
    response = post_sandbox(
        client,
        django_capture_on_commit_callbacks,
        voucher=order.voucher_number,
        action="pay",
        amount="",
        failure="",
    )
    assert response.status_code == 302 and response.url == detail(bill)
    order.refresh_from_db()
    bill.refresh_from_db()
    assert order.status == CollectionOrder.Status.PAID and order.paid_amount == bill.total
    assert bill.status == BillStatus.DEBITED
    payment = Payment.objects.get(bill=bill)
    assert payment.bank_reference == order.receipt_number != ""
    assert payment.status == Payment.Status.DEBITED and payment.amount == bill.total
    page = client.get(detail(bill)).content.decode()
    assert order.receipt_number in page and "电子缴款凭证号" in page
    assert f"缴款日期 {timezone.localdate():%Y-%m-%d}" in page

    # Records arrive as for a bank debit: settled on the expected day.
    assert payments_settle_due(today=payment.expected_settle_on) == 1
    bill.refresh_from_db()
    assert bill.status == BillStatus.SETTLED


def test_sandbox_partial_payment_then_the_rest(sent, django_capture_on_commit_callbacks):
    _, _, bill, client = sent
    order = order_of(bill)
    part = Decimal("1000.00")
    post_sandbox(
        client,
        django_capture_on_commit_callbacks,
        voucher=order.voucher_number,
        action="pay",
        amount=str(part),
        failure="",
    )
    order.refresh_from_db()
    bill.refresh_from_db()
    assert order.status == CollectionOrder.Status.PARTIALLY_PAID and order.paid_amount == part
    assert bill.status == BillStatus.CONFIRMED
    page = client.get(detail(bill)).content.decode()
    assert "data-partial" in page and "已部分缴款 1,000.00 元" in page
    assert f"尚欠 {bill.total - part:,.2f} 元" in page

    post_sandbox(
        client,
        django_capture_on_commit_callbacks,
        voucher=order.voucher_number,
        action="pay",
        amount="",
        failure="",
    )
    order.refresh_from_db()
    bill.refresh_from_db()
    assert order.status == CollectionOrder.Status.PAID and order.paid_amount == bill.total
    assert bill.status == BillStatus.DEBITED
    assert sorted(Payment.objects.filter(bill=bill).values_list("amount", flat=True)) == sorted(
        [part, bill.total - part]
    )


def test_sandbox_failed_payment_is_shown_with_its_reason(sent, django_capture_on_commit_callbacks):
    _, _, bill, client = sent
    order = order_of(bill)
    post_sandbox(
        client,
        django_capture_on_commit_callbacks,
        voucher=order.voucher_number,
        action="fail",
        amount="",
        failure="insufficient_funds",
    )
    order.refresh_from_db()
    bill.refresh_from_db()
    assert order.status == CollectionOrder.Status.FAILED
    assert bill.status == BillStatus.DEBIT_FAILED
    page = client.get(detail(bill)).content.decode()
    assert 'data-failure-code="insufficient_funds"' in page
    assert "三方协议扣款账户余额不足" in page and "请在电子税务局重新缴款" in page
    assert "重新发起扣款" not in page  # nothing to debit from here

    # Paying afterwards at the tax bureau clears it.
    post_sandbox(
        client,
        django_capture_on_commit_callbacks,
        voucher=order.voucher_number,
        action="pay",
        amount="",
        failure="",
    )
    bill.refresh_from_db()
    assert bill.status == BillStatus.DEBITED


def test_sandbox_form_errors_stay_beside_the_field(sent, django_capture_on_commit_callbacks):
    _, _, bill, client = sent
    order = order_of(bill)
    response = post_sandbox(
        client,
        django_capture_on_commit_callbacks,
        voucher=order.voucher_number,
        action="fail",
        amount="12.34",
        failure="",
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_failure_error"' in page and "请选择失败原因" in page
    assert 'value="12.34"' in page
    response = post_sandbox(
        client,
        django_capture_on_commit_callbacks,
        voucher=order.voucher_number,
        action="pay",
        amount=str(bill.total + 1),
        failure="",
    )
    page = response.content.decode()
    assert 'id="id_amount_error"' in page and "不能超过未缴金额" in page
    assert not CollectionResult.objects.exists()


def test_sandbox_page_is_404_without_sandboxes(sent, settings):
    _, _, _, client = sent
    settings.SANDBOX_PROVIDERS = False
    assert client.get(SANDBOX_TAX).status_code == 404


def test_sandbox_cannot_pay_another_units_claim(sent, django_capture_on_commit_callbacks):
    _, _, bill, client = sent
    _, other_agent, other_bill = tax_unit()
    confirm(other_agent, other_bill, django_capture_on_commit_callbacks)
    other_voucher = order_of(other_bill).voucher_number
    response = post_sandbox(
        client,
        django_capture_on_commit_callbacks,
        voucher=other_voucher,
        action="pay",
        amount="",
        failure="",
    )
    assert response.status_code == 200 and "未找到该应征凭证" in response.content.decode()
    assert other_voucher not in client.get(SANDBOX_TAX).content.decode()
    assert not CollectionResult.objects.exists()


# Callback -----------------------------------------------------------------------------------


def paid_callback(bill, **overrides):
    fields = {
        "idempotency_key": bill.reference,
        "result_id": "CB-0001",
        "paid": True,
        "amount": str(bill.total),
        "receipt_number": "JK2026080100001",
        "paid_on": "2026-08-20",
    }
    fields.update(overrides)
    return callback_body(**fields)


def test_signed_callback_records_the_payment_once(sent):
    from django.test import Client

    _, _, bill, _agent_client = sent
    client = Client(enforce_csrf_checks=True)  # the collection system: no login, no CSRF token
    body = paid_callback(bill)
    now = int(timezone.now().timestamp())
    for _attempt in range(2):
        response = client.post(
            CALLBACK, body, content_type="application/json", **signed_headers(body, timestamp=now)
        )
        assert response.status_code == 200 and response.json() == {"ok": True, "matched": True}
    bill.refresh_from_db()
    order = order_of(bill)
    assert bill.status == BillStatus.DEBITED
    assert (order.receipt_number, order.paid_on) == ("JK2026080100001", datetime.date(2026, 8, 20))
    assert Payment.objects.filter(bill=bill).count() == 1
    assert CollectionResult.objects.get().source == "callback"
    assert timezone.localdate(bill.debited_at) == datetime.date(2026, 8, 20)


def test_callback_with_a_bad_signature_is_refused(sent):
    _, _, bill, client = sent
    body = paid_callback(bill)
    now = int(timezone.now().timestamp())
    headers = signed_headers(body, timestamp=now, secret="someone-else's-secret")
    response = client.post(CALLBACK, body, content_type="application/json", **headers)
    assert response.status_code == 403 and response.json()["code"] == "bad_signature"
    # The body changed after signing.
    headers = signed_headers(body, timestamp=now)
    tampered = paid_callback(bill, amount="1.00")
    response = client.post(CALLBACK, tampered, content_type="application/json", **headers)
    assert response.status_code == 403
    assert not CollectionResult.objects.exists() and not Payment.objects.exists()
    assert AuditEvent.objects.filter(action="collection.callback_rejected").count() == 2


def test_callback_replayed_later_is_refused(sent):
    _, _, bill, client = sent
    body = paid_callback(bill)
    old = int((timezone.now() - datetime.timedelta(minutes=10)).timestamp())
    response = client.post(
        CALLBACK, body, content_type="application/json", **signed_headers(body, timestamp=old)
    )
    assert response.status_code == 403 and response.json()["code"] == "stale"


def test_callback_is_refused_while_no_secret_is_set(sent, settings):
    _, _, bill, client = sent
    settings.COLLECTION_CALLBACK_SECRET = ""
    body = paid_callback(bill)
    now = int(timezone.now().timestamp())
    response = client.post(
        CALLBACK, body, content_type="application/json", **signed_headers(body, timestamp=now)
    )
    assert response.status_code == 403


def test_malformed_callback_is_refused(sent):
    _, _, bill, client = sent
    body = paid_callback(bill, amount="lots")
    now = int(timezone.now().timestamp())
    response = client.post(
        CALLBACK, body, content_type="application/json", **signed_headers(body, timestamp=now)
    )
    assert response.status_code == 400 and response.json()["code"] == "malformed"


def test_callback_for_no_bill_is_kept_for_reconciliation(sent):
    _, _, _, client = sent
    body = callback_body(
        idempotency_key="HDUNKNOWN",
        result_id="CB-ORPHAN",
        paid=True,
        amount="10.00",
        receipt_number="JK-ORPHAN",
        paid_on="2026-08-20",
    )
    now = int(timezone.now().timestamp())
    response = client.post(
        CALLBACK, body, content_type="application/json", **signed_headers(body, timestamp=now)
    )
    assert response.json() == {"ok": True, "matched": False}
    result = CollectionResult.objects.get()
    assert result.bill_id is None and result.payment_id is None


# The bill page and its PDF ------------------------------------------------------------------


def test_bill_page_shows_voucher_and_how_to_pay(sent):
    _, _, bill, client = sent
    order = order_of(bill)
    page = client.get(detail(bill)).content.decode()
    assert "应征凭证序号" in page and order.voucher_number in page
    assert "电子税务局" in page and "三方协议" in page
    assert f"缴费截止日 {bill.due_on:%Y年%m月%d日}" in page
    assert 'data-collection="sent"' in page
    assert reverse("contributions:bill_notice_pdf", args=[bill.reference]) in page
    assert "发起扣款</button>" not in page


def test_assessed_bill_page_says_the_data_go_out_after_confirmation(unit, client):
    _, agent, bill = unit
    client.force_login(agent.user)
    page = client.get(detail(bill)).content.decode()
    assert "确认核定单后，应征数据将推送税务部门" in page
    assert 'data-collection="none"' in page


def test_direct_debit_bill_page_has_no_tax_section(client):
    _, agent, bill = tax_unit(mode=CollectionMode.DIRECT_DEBIT)
    client.force_login(agent.user)
    page = client.get(detail(bill)).content.decode()
    assert "data-collection" not in page and "应征凭证序号" not in page


def test_notice_pdf_states_the_bill_and_how_to_pay(sent):
    employer, _, bill, client = sent
    response = client.get(reverse("contributions:bill_notice_pdf", args=[bill.reference]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    text = pdf_text(response.content)
    compact = "".join(text.split())
    assert "社会保险费缴费通知单" in compact and "核定单" in compact
    assert employer.name in compact and bill.reference in compact
    assert order_of(bill).voucher_number in compact
    assert f"{bill.total:,.2f}" in compact
    assert "电子税务局" in compact and "三方协议" in compact
    assert "养老保险" in compact
    assert AuditEvent.objects.filter(action="bill.notice_printed").count() == 1


def test_direct_debit_notice_says_to_debit_here(client):
    _, agent, bill = tax_unit(mode=CollectionMode.DIRECT_DEBIT)
    client.force_login(agent.user)
    response = client.get(reverse("contributions:bill_notice_pdf", args=[bill.reference]))
    compact = "".join(pdf_text(response.content).split())
    assert "发起扣款" in compact and "应征凭证序号:" not in compact


def test_another_units_notice_is_404(sent):
    _, _, _, client = sent
    _, _, other_bill = tax_unit()
    response = client.get(reverse("contributions:bill_notice_pdf", args=[other_bill.reference]))
    assert response.status_code == 404


def test_confirming_on_the_page_says_to_pay_at_the_tax_bureau(unit, client):
    _, agent, bill = unit
    client.force_login(agent.user)
    response = client.post(
        reverse("contributions:bill_confirm", args=[bill.reference]), follow=True
    )
    page = response.content.decode()
    assert "应征数据正推送税务部门" in page and "电子税务局缴款" in page


def test_missing_record_cause_of_a_failed_tax_payment_says_pay_at_the_tax_bureau(
    sent, django_capture_on_commit_callbacks
):
    from contributions.records.causes import _bill_records_cause

    _, _, bill, client = sent
    post_sandbox(
        client,
        django_capture_on_commit_callbacks,
        voucher=order_of(bill).voucher_number,
        action="fail",
        amount="",
        failure="agreement_invalid",
    )
    bill.refresh_from_db()
    cause = _bill_records_cause([bill], bill.month)
    text = " ".join(cause.details)
    assert "三方协议未生效" in text and "电子税务局" in text and "重新发起扣款" not in text


def test_a_result_that_overtakes_the_send_answer_keeps_the_voucher(
    unit, settings, django_capture_on_commit_callbacks
):
    _, agent, bill = unit
    settings.COLLECTION_ADAPTER = f"{HELPERS}.LostAnswerBureau"
    confirm(agent, bill, django_capture_on_commit_callbacks)
    settings.COLLECTION_ADAPTER = "sandbox"
    claim = SandboxTaxOrder.objects.get()
    claim.payments.create(
        result_id="R-EARLY",
        paid=True,
        amount=bill.total,
        receipt_number="JKEARLY",
        paid_on=timezone.localdate(),
    )
    order = order_of(bill)
    from contributions.collection.adapter import PaymentResult
    from contributions.collection.services import collection_result_record

    collection_result_record(
        idempotency_key=bill.reference,
        result=PaymentResult(
            result_id="R-EARLY",
            paid=True,
            amount=bill.total,
            receipt_number="JKEARLY",
            paid_on=timezone.localdate(),
        ),
        source="callback",
    )
    order.refresh_from_db()
    assert order.status == CollectionOrder.Status.PAID and order.voucher_number == ""
    collection_poll(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == CollectionOrder.Status.PAID
    assert order.voucher_number == claim.voucher_number
    assert Payment.objects.filter(bill=bill).count() == 1
