"""The review path of a 补缴申请: the pre-checks a clerk sees, approval bills each month as a
补缴 bill (which, once paid, shows in the records), rejection bills nothing and frees the months,
the unit is told by SMS and in its inbox."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ValidationError

from contributions.backpay.services import backpay_compute, backpay_submit
from contributions.models import BackPayApplication, BillKind, BillStatus, MonthlyBill
from contributions.payments.services import bill_confirm, bill_pay, payments_settle_due
from contributions.records.selectors import records_for_agent
from portal.models import InboxMessage, Notification, ReviewState
from portal.review import review_decide, review_precheck
from tests.contributions.backpay.helpers import D, Unit, key, months_ago, pdf
from tests.contributions.bill_helpers import create_bill
from tests.factories import create_clerk

pytestmark = pytest.mark.django_db

MONTHS = [(months_ago(5), D("9000")), (months_ago(4), D("9500"))]


@pytest.fixture
def unit():
    return Unit("补缴审核有限公司")


@pytest.fixture
def clerk():
    return create_clerk("backpay-clerk")


@pytest.fixture
def application(unit):
    lei = unit.late_joiner()
    figures = backpay_compute(
        agent=unit.agent, document_number=lei.person.document_number, months=MONTHS
    )
    return backpay_submit(
        agent=unit.agent,
        idempotency_key=key(),
        document_number=lei.person.document_number,
        months=MONTHS,
        reason="入职后未及时办理参保登记",
        shown_total=figures.total,
        evidence=pdf(),
    )


def checks(item) -> dict:
    review_precheck(model_label=item._meta.label, pk=item.pk)
    item.refresh_from_db()
    return {result["key"]: result for result in item.precheck_results}


def test_prechecks_pass_for_months_before_the_enrolment_with_the_proof(application):
    results = checks(application)
    assert {key: r["passed"] for key, r in results.items()} == {
        "before_enrolment": True,
        "after_employment_start": True,
        "within_window": True,
        "not_billed": True,
        "attachments": True,
    }
    assert application.review_state == ReviewState.PENDING


def test_prechecks_flag_a_month_billed_since_and_a_missing_proof(unit, application):
    create_bill(unit.employer, months_ago(5), [application.enrolment])
    application.attachments.all().delete()
    results = checks(application)
    assert not results["not_billed"]["passed"]
    assert results["not_billed"]["detail"] == f"已有核定记录:{months_ago(5):%Y-%m}"
    assert not results["attachments"]["passed"]


def test_approval_bills_each_month_and_paid_bills_reach_the_records(
    unit, clerk, application, settings
):
    settings.SANDBOX_BANK_DEFAULT_BALANCE = "1000000.00"
    review_decide(
        model=BackPayApplication, pk=application.pk, actor=clerk, decision="approve", comment="同意"
    )
    rows = list(application.months.select_related("bill").order_by("month"))
    bills = [row.bill for row in rows]
    assert [bill.kind for bill in bills] == [BillKind.BACKPAY] * 2
    assert [bill.month for bill in bills] == [month for month, _base in MONTHS]
    for row, bill in zip(rows, bills, strict=True):
        assert bill.late_fee == row.late_fee
        assert bill.employer_total == row.employer_amount
        assert bill.total == row.employer_amount + row.personal_amount + row.late_fee
        assert bill.status == BillStatus.ASSESSED and bill.employer_id == unit.employer.pk
        assert bill.lines.count() == 4  # 养老, 医疗, 失业, 工伤
    assert sum(bill.total for bill in bills) == application.total
    sms = Notification.objects.get(template="backpay_approved")
    assert sms.recipient == unit.employer.contact_phone and "李*" in sms.body
    assert "李雷" not in sms.body and f"{application.total:.2f}" in sms.body
    inbox = InboxMessage.objects.get(template="backpay_approved", employer_id=unit.employer.pk)
    assert "同意" in inbox.body
    # Approving again changes nothing; no second set of bills.
    review_decide(model=BackPayApplication, pk=application.pk, actor=clerk, decision="approve")
    assert MonthlyBill.objects.filter(kind=BillKind.BACKPAY).count() == 2
    # Paid and settled, the months are in the unit's records with the 补缴 bills.
    for bill in bills:
        bill_confirm(agent=unit.agent, bill=bill)
        bill_pay(agent=unit.agent, bill=bill, idempotency_key=uuid.uuid4())
    payments_settle_due(today=months_ago(-2))
    records = records_for_agent(unit.agent, month_from=months_ago(5), month_to=months_ago(4))
    assert {(line.bill.kind, line.bill.status) for line in records} == {
        (BillKind.BACKPAY, BillStatus.SETTLED)
    }
    assert records.count() == 8


def test_approval_is_refused_when_a_month_was_billed_meanwhile(unit, clerk, application):
    create_bill(unit.employer, months_ago(4), [application.enrolment])
    with pytest.raises(ValidationError) as caught:
        review_decide(model=BackPayApplication, pk=application.pk, actor=clerk, decision="approve")
    assert f"{months_ago(4):%Y-%m} 已有核定记录" in caught.value.messages[0]
    application.refresh_from_db()
    assert application.review_state != ReviewState.APPROVED
    assert not MonthlyBill.objects.filter(kind=BillKind.BACKPAY).exists()


def test_rejection_bills_nothing_tells_the_unit_and_frees_the_months(unit, clerk, application):
    review_decide(
        model=BackPayApplication,
        pk=application.pk,
        actor=clerk,
        decision="reject",
        comment="工资发放记录不完整",
    )
    application.refresh_from_db()
    assert application.review_state == ReviewState.REJECTED
    assert not MonthlyBill.objects.filter(kind=BillKind.BACKPAY).exists()
    inbox = InboxMessage.objects.get(template="backpay_rejected", employer_id=unit.employer.pk)
    assert "工资发放记录不完整" in inbox.body
    assert Notification.objects.filter(template="backpay_rejected").exists()
    # The months may be applied for again.
    figures = backpay_compute(
        agent=unit.agent,
        document_number=application.enrolment.person.document_number,
        months=MONTHS,
    )
    assert figures.total == application.total


def test_a_paid_backpay_month_counts_in_the_units_proof_beside_the_regular_bill(
    unit, clerk, application, settings
):
    from contributions.proofs.content import proof_content_unit
    from tests.enrollment.enrolment_helpers import create_enrolment

    settings.SANDBOX_BANK_DEFAULT_BALANCE = "1000000.00"
    colleague = create_enrolment(unit.employer, name="同事", start_month=months_ago(12))
    month = months_ago(5)
    regular = create_bill(unit.employer, month, [colleague])  # 8000 (the filing's wage)
    review_decide(model=BackPayApplication, pk=application.pk, actor=clerk, decision="approve")
    backpay = application.months.get(month=month).bill
    for bill in (regular, backpay):
        bill_confirm(agent=unit.agent, bill=bill)
        bill_pay(agent=unit.agent, bill=bill, idempotency_key=uuid.uuid4())
    payments_settle_due(today=months_ago(-2))
    content = proof_content_unit(employer=unit.employer, month_from=month, month_to=month)
    [pension] = [item for item in content["months"][0]["items"] if item["type"] == "pension"]
    # Two persons: the colleague on the regular bill (base 8000) and 李雷 on the 补缴 bill
    # (9000): base 17000.00; employer 8000 × 16 % + 9000 × 16 % = 1280 + 1440 = 2720.00.
    assert pension["persons"] == 2
    assert (pension["base"], pension["employer"]) == ("17000.00", "2720.00")
