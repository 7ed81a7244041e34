"""月度核定 and 缴费确认 pages: list, generate, detail, confirm, pay, sandbox bank."""

from __future__ import annotations

import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contributions.common import TYPE_ORDER
from contributions.models import (
    BillKind,
    BillStatus,
    InsuranceType,
    MonthlyBill,
    Payment,
    SandboxBankAccount,
)
from contributions.payments.selectors import bill_expected_settlement
from employers.models import Role
from portal.models import AuditEvent
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.factories import create_agent

pytestmark = pytest.mark.django_db

D = datetime.date
AUGUST = D(2026, 8, 1)
LIST = reverse("contributions:bill_list")
AWAITING = reverse("contributions:bill_awaiting")
SANDBOX = reverse("contributions:bill_sandbox_bank")


def detail(bill):
    return reverse("contributions:bill_detail", kwargs={"bill_reference": bill.reference})


def confirm_url(bill):
    return reverse("contributions:bill_confirm", kwargs={"bill_reference": bill.reference})


def pay_url(bill):
    return reverse("contributions:bill_pay", kwargs={"bill_reference": bill.reference})


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.SANDBOX_PROVIDERS = True
    settings.SANDBOX_BANK_SETTLEMENT_DAYS = 3
    settings.SANDBOX_BANK_DEFAULT_BALANCE = "1000000.00"


@pytest.fixture
def unit():
    employer, agent, period, enrolments = create_unit_with_staff(
        2, roles=(Role.CONTRIBUTIONS.value,)
    )
    return employer, agent, period, enrolments


@pytest.fixture
def bill(unit):
    employer, _, _, enrolments = unit
    return create_bill(employer, AUGUST, enrolments)


@pytest.fixture
def agent_client(client, unit):
    client.force_login(unit[1].user)
    return client


def body(response) -> str:
    return response.content.decode()


def pay_key(response) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f-]+)"', body(response)).group(1)


# The list --------------------------------------------------------------------------------------


def test_list_shows_the_units_bills_with_figures(agent_client, bill, unit):
    response = agent_client.get(LIST)
    text = body(response)
    assert response.status_code == 200
    assert "2026-08" in text and "正常应缴" in text
    assert "5,920.00" in text and "4,240.00" in text and "1,680.00" in text
    assert "已核定" in text and "2026-08-28" in text
    assert detail(bill) in text


def test_list_shows_no_bill_of_another_unit(agent_client, bill):
    other, _, _, staff = create_unit_with_staff(1, period=bill.period)
    foreign = create_bill(other, D(2026, 9, 1), staff)
    text = body(agent_client.get(LIST))
    assert foreign.reference not in text and "2026-09" not in text


def test_awaiting_lists_only_bills_still_to_pay(agent_client, unit, bill):
    employer, _, _, enrolments = unit
    paid = create_bill(employer, D(2026, 7, 1), enrolments, status=BillStatus.SETTLED)
    failed = create_bill(employer, D(2026, 9, 1), enrolments, status=BillStatus.DEBIT_FAILED)
    response = agent_client.get(AWAITING)
    text = body(response)
    assert response.status_code == 200
    assert detail(bill) in text and detail(failed) in text
    assert detail(paid) not in text
    assert 'name="month"' not in text  # the generate form is on 月度核定 only


def test_menu_links_to_both_pages(agent_client, bill):
    text = body(agent_client.get(LIST))
    assert f'href="{LIST}"' in text and f'href="{AWAITING}"' in text


def count_queries(client, url) -> int:
    client.get(url)  # the first request of a session also writes the session: not counted
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_does_not_grow_with_bills(agent_client, unit):
    employer, _, _, enrolments = unit
    create_bill(employer, D(2026, 7, 1), enrolments[:1])
    few = count_queries(agent_client, LIST)
    for month in (8, 9, 10, 11):
        create_bill(employer, D(2026, month, 1), enrolments[:1])
    for sequence in (1, 2, 3):
        create_bill(
            employer, D(2026, 7, 1), enrolments[:1], kind=BillKind.SUPPLEMENT, sequence=sequence
        )
    assert count_queries(agent_client, LIST) == few
    assert count_queries(agent_client, AWAITING) == few


def test_list_pages_more_bills_than_a_page_with_the_same_queries(agent_client, unit):
    employer, _, _, enrolments = unit
    create_bill(employer, D(2026, 7, 1), enrolments[:1])
    one = count_queries(agent_client, LIST)
    for sequence in range(1, 26):  # 26 bills: pages of 24 and 2
        create_bill(
            employer, D(2026, 7, 1), enrolments[:1], kind=BillKind.SUPPLEMENT, sequence=sequence
        )
    assert count_queries(agent_client, LIST) == one + 1  # and a COUNT
    assert count_queries(agent_client, LIST + "?page=2") == one + 1
    first = agent_client.get(LIST).context["page"]
    last = agent_client.get(LIST + "?page=9").context["page"]
    assert (first.paginator.count, first.paginator.num_pages) == (26, 2)
    assert [bill.sequence for bill in first.object_list] == [0, *range(1, 24)]
    assert last.number == 2
    assert [bill.sequence for bill in last.object_list] == [24, 25]
    assert "共 26 张核定单" in body(agent_client.get(LIST))


# Generate --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "请填写费款所属期"),
        ("abc", "不是有效的年月"),
        ("2026-13", "不是有效的年月"),
        ("2099-01", "不能核定未来月份的费款"),
        ("1999-12", "费款所属期不能早于 2000-01"),
    ],
)
def test_bad_month_is_refused_next_to_the_field(agent_client, unit, typed, message, monkeypatch):
    from contributions.billing import tasks as billing_tasks

    calls = []
    monkeypatch.setattr(billing_tasks.bill_generate_unit, "delay", lambda *a: calls.append(a))
    response = agent_client.post(LIST, {"month": typed})
    text = body(response)
    assert response.status_code == 200
    assert message in text
    assert 'id="id_month_error"' in text
    assert f'value="{typed}"' in text  # what was typed is kept
    assert calls == []
    assert not MonthlyBill.objects.exists()
    assert not AuditEvent.objects.filter(action="bill.generate_requested").exists()


def test_generate_enqueues_the_task_on_commit_and_says_to_refresh(
    agent_client, unit, django_capture_on_commit_callbacks
):
    employer, agent, _, _ = unit
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = agent_client.post(LIST, {"month": "2026-08"}, follow=True)
    # Inside a test's transaction the task runs at commit, after the page answered.
    assert len(callbacks) == 1
    assert "正在核定,请稍后刷新" in body(response)
    event = AuditEvent.objects.get(action="bill.generate_requested")
    assert event.employer_id == employer.pk and event.details == {"month": "2026-08"}
    # The billing task (billing.engine) ran at commit: the refreshed list shows the bill.
    bill = MonthlyBill.objects.get(employer=employer, month=AUGUST)
    assert bill.total == Decimal("5920.00")
    assert detail(bill) in body(agent_client.get(LIST))


@pytest.mark.django_db(transaction=True)
def test_generate_shows_the_result_when_the_task_runs_at_once(client):
    # Outside a test transaction on_commit runs at once and eager Celery runs the task here.
    employer, agent, _, _ = create_unit_with_staff(2, roles=(Role.CONTRIBUTIONS.value,))
    client.force_login(agent.user)
    response = client.post(LIST, {"month": "2026-08"}, follow=True)
    bill = MonthlyBill.objects.get(employer=employer, month=AUGUST)
    text = body(response)
    assert response.redirect_chain[-1][0] == detail(bill)
    assert "2026-08 核定结果:正常应缴,2 人,应缴合计 5,920.00 元" in text

    # A month without a published policy: the policy's own message beside the field.
    response = client.post(LIST, {"month": "2026-06"})
    assert response.status_code == 200
    assert 'id="id_month_error"' in body(response)
    assert not MonthlyBill.objects.filter(month=D(2026, 6, 1)).exists()


def test_generate_needs_the_monthly_permission(client, unit):
    employer = unit[0]
    reader = create_agent(employer, roles=[Role.QUERIES])
    client.force_login(reader.user)
    assert client.post(LIST, {"month": "2026-08"}).status_code == 403
    assert not AuditEvent.objects.filter(action="bill.generate_requested").exists()


# Detail ----------------------------------------------------------------------------------------


def test_detail_shows_totals_per_type_lines_masked_and_timeline(agent_client, unit, bill):
    _, _, _, enrolments = unit
    response = agent_client.get(detail(bill))
    text = body(response)
    assert response.status_code == 200
    totals = {row.insurance_type: row for row in response.context["type_totals"]}
    # Two persons at 8,000: pension 2 × 1280 / 2 × 640, medical 2 × 784 / 2 × 160, ...
    assert (totals["pension"].employer, totals["pension"].personal) == (
        Decimal("2560.00"),
        Decimal("1280.00"),
    )
    assert (totals["medical"].employer, totals["medical"].personal) == (
        Decimal("1568.00"),
        Decimal("320.00"),
    )
    assert (totals["unemployment"].employer, totals["unemployment"].personal) == (
        Decimal("80.00"),
        Decimal("80.00"),
    )
    assert (totals["work_injury"].employer, totals["work_injury"].personal) == (
        Decimal("32.00"),
        Decimal("0.00"),
    )
    assert list(totals) == ["pension", "medical", "unemployment", "work_injury"]
    for enrolment in enrolments:
        person = enrolment.person
        assert person.name in text
        assert person.masked_document_number in text
        assert person.document_number not in text
    for label in ("已核定", "已确认", "已扣款", "已到账"):
        assert label in text
    assert "确认核定单" in text


def test_detail_query_count_does_not_grow_with_persons(client, unit):
    employer, agent, period, enrolments = unit
    client.force_login(agent.user)
    small = create_bill(employer, D(2026, 7, 1), enrolments[:1])
    from tests.enrollment.enrolment_helpers import create_enrolment

    many = [create_enrolment(employer, name=f"员工{index:02d}") for index in range(30)]
    large = create_bill(employer, D(2026, 9, 1), many)  # 120 lines: two pages
    few = count_queries(client, detail(small))
    assert count_queries(client, detail(large)) == few
    assert count_queries(client, detail(large) + "?page=2") == few
    page = client.get(detail(large)).context["lines"]
    assert page.paginator.count == 120 and page.paginator.num_pages == 2


def test_detail_lines_run_by_name_then_type_across_pages(client, unit):
    employer, agent, _, _ = unit
    client.force_login(agent.user)
    from tests.enrollment.enrolment_helpers import create_enrolment

    names = [f"员工{index:02d}" for index in range(30)]
    many = [create_enrolment(employer, name=name) for name in reversed(names)]
    large = create_bill(employer, D(2026, 9, 1), many)  # 120 lines: 100 on page 1, 20 on page 2
    with CaptureQueriesContext(connection) as ctx:
        first = client.get(detail(large)).context["lines"]
    assert not any("COUNT(" in query["sql"] for query in ctx.captured_queries)  # type_totals
    second = client.get(detail(large) + "?page=2").context["lines"]
    rows = list(first.object_list) + list(second.object_list)
    types = [str(InsuranceType(kind).label) for kind in TYPE_ORDER]
    assert [row.name for row in rows] == [name for name in names for _ in types]
    assert [row.type_label for row in rows] == types * 30
    assert (first.paginator.count, first.paginator.num_pages, len(second.object_list)) == (
        120,
        2,
        20,
    )
    # A bill without per-type totals counts its lines.
    MonthlyBill.objects.filter(pk=large.pk).update(type_totals={})
    again = client.get(detail(large) + "?page=2").context["lines"]
    assert again.paginator.count == 120 and list(again.object_list) == list(second.object_list)


def test_detail_shows_the_accruing_late_fee(agent_client, bill):
    # Due 2026-08-28 and not paid: the fee grows daily from the day after.
    response = agent_client.get(detail(bill))
    fee = response.context["late_fee"]
    assert fee is not None and not fee.paid
    assert fee.amount == (Decimal("5920.00") * Decimal("0.0005") * fee.days).quantize(
        Decimal("0.01")
    )
    assert "滞纳金" in body(response) and "第八十六条" in body(response)


# Confirm and pay ---------------------------------------------------------------------------------


def test_confirm_then_pay_then_settle_through_the_pages(agent_client, unit, bill):
    from contributions.payments.services import payments_settle_due

    employer = unit[0]
    response = agent_client.post(confirm_url(bill), follow=True)
    bill.refresh_from_db()
    assert bill.status == BillStatus.CONFIRMED
    assert "核定单已确认" in body(response)
    # Confirming again (a double click) is harmless.
    agent_client.post(confirm_url(bill))
    assert AuditEvent.objects.filter(action="bill.confirmed").count() == 1

    key = pay_key(response)
    response = agent_client.post(pay_url(bill), {"idempotency_key": key}, follow=True)
    bill.refresh_from_db()
    payment = Payment.objects.get(bill=bill)
    assert bill.status == BillStatus.DEBITED
    text = body(response)
    assert "扣款成功" in text and payment.bank_reference in text
    assert f"{payment.expected_settle_on:%Y-%m-%d}" in text
    assert SandboxBankAccount.objects.get(employer=employer).balance == Decimal("994080.00")

    payments_settle_due(today=payment.expected_settle_on)
    text = body(agent_client.get(detail(bill)))
    bill.refresh_from_db()
    assert bill.status == BillStatus.SETTLED
    assert 'data-bill-status="settled"' in text


def test_debited_detail_says_when_the_money_arrives_from_the_payments_it_lists(agent_client, bill):
    agent_client.post(confirm_url(bill))
    key = pay_key(agent_client.get(detail(bill)))
    agent_client.post(pay_url(bill), {"idempotency_key": key})
    bill.refresh_from_db()
    payment = Payment.objects.get(bill=bill)
    assert bill.status == BillStatus.DEBITED
    with CaptureQueriesContext(connection) as ctx:
        text = body(agent_client.get(detail(bill)))
    assert f"（款项预计 {payment.expected_settle_on:%Y-%m-%d} 到账）" in text
    assert sum('"expected_settle_on" FROM' in query["sql"] for query in ctx.captured_queries) == 0
    assert bill_expected_settlement(bill) == payment.expected_settle_on  # without the list


def test_double_click_on_pay_makes_one_payment(agent_client, unit, bill):
    employer = unit[0]
    agent_client.post(confirm_url(bill))
    key = pay_key(agent_client.get(detail(bill)))
    agent_client.post(pay_url(bill), {"idempotency_key": key})
    agent_client.post(pay_url(bill), {"idempotency_key": key})
    assert Payment.objects.filter(bill=bill).count() == 1
    assert SandboxBankAccount.objects.get(employer=employer).balance == Decimal("994080.00")
    # A stale page with another key is refused: the bill is already debited.
    response = agent_client.post(pay_url(bill), {"idempotency_key": str(uuid.uuid4())}, follow=True)
    assert "无需重复缴费" in body(response)
    assert Payment.objects.filter(bill=bill).count() == 1


def test_pay_without_a_key_is_refused(agent_client, bill):
    agent_client.post(confirm_url(bill))
    response = agent_client.post(pay_url(bill), {"idempotency_key": "x"}, follow=True)
    assert "请刷新页面后重新发起扣款" in body(response)
    assert not Payment.objects.exists()


def test_insufficient_funds_is_shown_with_what_to_do_and_retry_after_top_up(
    agent_client, unit, bill
):
    employer = unit[0]
    SandboxBankAccount.objects.create(employer=employer, balance=Decimal("100.00"))
    agent_client.post(confirm_url(bill))
    key = pay_key(agent_client.get(detail(bill)))
    response = agent_client.post(pay_url(bill), {"idempotency_key": key}, follow=True)
    text = body(response)
    bill.refresh_from_db()
    assert bill.status == BillStatus.DEBIT_FAILED
    assert "余额不足" in text and "重新发起扣款" in text and "滞纳金" in text
    assert 'data-failure-code="insufficient_funds"' in text
    assert SandboxBankAccount.objects.get(employer=employer).balance == Decimal("100.00")
    assert f"{SANDBOX}?bill={bill.reference}" in text  # the sandbox link to top up
    page = agent_client.get(f"{SANDBOX}?bill={bill.reference}")  # following the link
    assert page.status_code == 200
    assert f'name="bill" value="{bill.reference}"' in body(page)

    response = agent_client.post(
        SANDBOX + f"?bill={bill.reference}",
        {"amount": "10000", "mode": "deposit", "bill": bill.reference},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == detail(bill)
    assert SandboxBankAccount.objects.get(employer=employer).balance == Decimal("10100.00")

    response = agent_client.post(pay_url(bill), {"idempotency_key": pay_key(response)}, follow=True)
    bill.refresh_from_db()
    assert bill.status == BillStatus.DEBITED
    assert SandboxBankAccount.objects.get(employer=employer).balance == Decimal("4180.00")
    statuses = sorted(Payment.objects.filter(bill=bill).values_list("status", flat=True))
    assert statuses == ["debited", "failed"]


def test_credit_supplement_page_explains_and_settles_without_debit(agent_client, unit, bill):
    employer, _, _, enrolments = unit
    credit = create_bill(
        employer,
        AUGUST,
        enrolments[:1],
        kind=BillKind.SUPPLEMENT,
        sequence=1,
        status=BillStatus.CONFIRMED,
    )
    MonthlyBill.objects.filter(pk=credit.pk).update(total=Decimal("-42.50"))
    response = agent_client.get(detail(credit))
    text = body(response)
    assert "无需银行扣款" in text and "确认结算" in text
    response = agent_client.post(pay_url(credit), {"idempotency_key": pay_key(response)})
    credit.refresh_from_db()
    assert credit.status == BillStatus.SETTLED
    assert Payment.objects.get(bill=credit).status == Payment.Status.SETTLED
    assert not SandboxBankAccount.objects.filter(employer=employer).exists()


# Isolation and permissions ---------------------------------------------------------------------


def test_another_units_bill_is_404_for_view_confirm_and_pay(agent_client, bill):
    other, _, _, staff = create_unit_with_staff(1, period=bill.period)
    foreign = create_bill(other, D(2026, 9, 1), staff, status=BillStatus.ASSESSED)
    assert agent_client.get(detail(foreign)).status_code == 404
    assert agent_client.post(confirm_url(foreign)).status_code == 404
    assert (
        agent_client.post(pay_url(foreign), {"idempotency_key": str(uuid.uuid4())}).status_code
        == 404
    )
    foreign.refresh_from_db()
    assert foreign.status == BillStatus.ASSESSED
    assert not Payment.objects.exists()
    # A missing bill answers the same.
    assert agent_client.get(detail(foreign).replace(foreign.reference, "HD0")).status_code == 404


def test_queries_only_agent_can_neither_see_nor_pay(client, unit, bill):
    reader = create_agent(unit[0], roles=[Role.QUERIES])
    client.force_login(reader.user)
    assert client.get(LIST).status_code == 403
    assert client.get(AWAITING).status_code == 403
    assert client.get(detail(bill)).status_code == 403
    assert client.post(confirm_url(bill)).status_code == 403
    response = client.post(pay_url(bill), {"idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 403
    bill.refresh_from_db()
    assert bill.status == BillStatus.ASSESSED
    assert not Payment.objects.exists()


# Sandbox bank page --------------------------------------------------------------------------------


def test_sandbox_page_shows_the_default_balance_and_changes_it(agent_client, unit):
    employer = unit[0]
    response = agent_client.get(SANDBOX)
    assert response.status_code == 200
    assert 'data-sandbox-balance="1000000.00"' in body(response)
    agent_client.post(SANDBOX, {"amount": "0", "mode": "set"})
    assert SandboxBankAccount.objects.get(employer=employer).balance == Decimal("0.00")
    event = AuditEvent.objects.get(action="sandbox_bank.balance_changed")
    assert event.details == {"mode": "set", "before": "1000000.00", "after": "0.00"}


@pytest.mark.parametrize(
    ("typed", "message"),
    [("", "请填写金额"), ("abc", "以元为单位"), ("-5", "不能为负数"), ("1.234", "两位小数")],
)
def test_sandbox_refuses_bad_amounts(agent_client, unit, typed, message):
    response = agent_client.post(SANDBOX, {"amount": typed, "mode": "deposit"})
    assert response.status_code == 200
    assert message in body(response)
    assert not SandboxBankAccount.objects.exists()


def test_sandbox_page_is_absent_without_sandboxes(agent_client, settings):
    settings.SANDBOX_PROVIDERS = False
    settings.DEBUG = False
    assert agent_client.get(SANDBOX).status_code == 404
    settings.SANDBOX_PROVIDERS = True
    settings.CONTRIBUTION_BANK_ADAPTER = "tests.contributions.billing.test_views.RealBank"
    assert agent_client.get(SANDBOX).status_code == 404


class RealBank:
    name = "real"
    is_sandbox = False


def test_sandbox_page_is_scoped_to_the_agents_unit(agent_client, unit):
    other, _, _, _ = create_unit_with_staff(0, period=unit[2])
    SandboxBankAccount.objects.create(employer=other, balance=Decimal("12345.67"))
    text = body(agent_client.get(SANDBOX))
    assert "12345.67" not in text
    agent_client.post(SANDBOX, {"amount": "1", "mode": "deposit"})
    assert SandboxBankAccount.objects.get(employer=other).balance == Decimal("12345.67")
