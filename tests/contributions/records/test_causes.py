"""为什么没有缴费记录: one test per cause (a)–(g), checked against the data, and the pages."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest

from contributions.models import (
    BaseDeclaration,
    BaseDeclarationLine,
    BillStatus,
    Payment,
)
from contributions.records.causes import (
    CAUSE_BASE_NOT_DECLARED,
    CAUSE_BILL_NOT_GENERATED,
    CAUSE_BILL_NOT_PAID,
    CAUSE_ENROLMENT_PENDING,
    CAUSE_NO_ENROLMENT,
    CAUSE_SETTLED,
    CAUSE_SETTLING,
    CAUSE_UNKNOWN,
    missing_record_cause,
)
from employers.models import Role
from enrollment.models import AddEmployeeFiling, Enrolment
from portal.models import AuditEvent, ReviewState
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent

pytestmark = pytest.mark.django_db

AUG = datetime.date(2026, 8, 1)
WHY = "/contributions/records/why/"
RECORDS = "/contributions/records/"


@pytest.fixture
def unit():
    employer, agent, period, enrolments = create_unit_with_staff(2)
    return {"employer": employer, "agent": agent, "period": period, "enrolments": enrolments}


def cause_of(unit, person, month=AUG):
    return missing_record_cause(agent=unit["agent"], person=person, month=month)


def add_filing(unit, enrolment, state, comment=""):
    return AddEmployeeFiling.objects.create(
        reference=f"ZY2026{uuid.uuid4().hex[:8].upper()}",
        employer=unit["employer"],
        enrolment=enrolment,
        submitted_by=unit["agent"],
        idempotency_key=uuid.uuid4(),
        review_state=state,
        review_comment=comment,
    )


def payment(unit, bill, status, **fields):
    return Payment.objects.create(
        reference=f"JF{uuid.uuid4().hex[:10].upper()}",
        bill=bill,
        employer=unit["employer"],
        amount=bill.total,
        status=status,
        requested_by=unit["agent"],
        idempotency_key=uuid.uuid4(),
        **fields,
    )


# (a) ------------------------------------------------------------------------------------------


def test_a_no_enrolment_covering_the_month(unit):
    later = create_enrolment(
        unit["employer"], name="九月入职", start_month=datetime.date(2026, 9, 1)
    )
    cause = cause_of(unit, later.person)
    assert cause.code == CAUSE_NO_ENROLMENT
    assert cause.message == "该人员在本单位该月无参保登记"
    assert cause.details == []


def test_a_terminated_before_the_month(unit):
    left = create_enrolment(unit["employer"], name="七月离职", status=Enrolment.Status.TERMINATED)
    Enrolment.objects.filter(pk=left.pk).update(last_contribution_month=datetime.date(2026, 7, 1))
    assert cause_of(unit, left.person).code == CAUSE_NO_ENROLMENT


def test_a_rejected_add_filing_is_named_with_the_comment(unit):
    cancelled = create_enrolment(unit["employer"], name="被驳回", status=Enrolment.Status.CANCELLED)
    filing = add_filing(unit, cancelled, ReviewState.REJECTED, comment="劳动合同未签字")
    cause = cause_of(unit, cancelled.person)
    assert cause.code == CAUSE_NO_ENROLMENT
    assert cause.details == [
        f"增员申请(业务编号 {filing.reference})审核未通过,审核意见:劳动合同未签字"
    ]


def test_a_names_a_pending_filing_for_a_later_month(unit):
    later = create_enrolment(
        unit["employer"],
        name="九月待审",
        status=Enrolment.Status.PENDING,
        start_month=datetime.date(2026, 9, 1),
    )
    filing = add_filing(unit, later, ReviewState.PENDING)
    cause = cause_of(unit, later.person)
    assert cause.code == CAUSE_NO_ENROLMENT
    assert cause.details == [
        f"增员申请(业务编号 {filing.reference})正在审核中,状态:待审核,参保起始年月 2026-09"
    ]


# (b) ------------------------------------------------------------------------------------------


def test_b_enrolment_pending_with_the_filings_state(unit):
    pending = create_enrolment(unit["employer"], name="待审核", status=Enrolment.Status.PENDING)
    filing = add_filing(unit, pending, ReviewState.PRECHECKED)
    cause = cause_of(unit, pending.person)
    assert cause.code == CAUSE_ENROLMENT_PENDING
    assert cause.message == f"增员申请(业务编号 {filing.reference})正在审核中,状态:已预审"


# (c) ------------------------------------------------------------------------------------------


def test_c_base_not_declared_for_the_year(unit):
    # Enrolled since 2024, so the 2026-07 → 2027-06 base was due; none exists.
    undeclared = create_enrolment(unit["employer"], name="未申报")
    cause = cause_of(unit, undeclared.person)
    assert cause.code == CAUSE_BASE_NOT_DECLARED
    assert cause.message == "2026-07 至 2027-06 年度的缴费基数尚未申报"
    assert "缴费基数申报" in cause.details[0]


def test_c_with_the_declaration_in_review(unit):
    undeclared = create_enrolment(unit["employer"], name="申报审核中")
    declaration = BaseDeclaration.objects.create(
        reference="SB2026112500000001",
        employer=unit["employer"],
        period=unit["period"],
        submitted_by=unit["agent"],
        source=BaseDeclaration.Source.SCREEN,
        idempotency_key=uuid.uuid4(),
        review_state=ReviewState.PENDING,
    )
    BaseDeclarationLine.objects.create(
        declaration=declaration,
        enrolment=undeclared,
        declared_base=Decimal("9000.00"),
        wage=Decimal("9000.00"),
    )
    cause = cause_of(unit, undeclared.person)
    assert cause.code == CAUSE_BASE_NOT_DECLARED
    assert cause.details == ["缴费基数申报(业务编号 SB2026112500000001)正在审核中,状态:待审核"]


def test_c_does_not_apply_to_a_person_who_joined_in_the_period(unit):
    # Joined in 2026-08: the filing's base applies, no yearly declaration was due.
    joiner = create_enrolment(unit["employer"], name="新入职", start_month=AUG)
    assert cause_of(unit, joiner.person).code == CAUSE_BILL_NOT_GENERATED


# (d) ------------------------------------------------------------------------------------------


def test_d_bill_not_generated(unit):
    cause = cause_of(unit, unit["enrolments"][0].person)
    assert cause.code == CAUSE_BILL_NOT_GENERATED
    assert cause.message == "本月费款尚未核定"


# (e) ------------------------------------------------------------------------------------------


def test_e_bill_assessed_but_not_paid(unit):
    bill = create_bill(unit["employer"], AUG, unit["enrolments"], status=BillStatus.ASSESSED)
    cause = cause_of(unit, unit["enrolments"][0].person)
    assert cause.code == CAUSE_BILL_NOT_PAID
    assert cause.message == "费款已核定但尚未缴纳"
    assert cause.details[0] == f"核定单号 {bill.reference},状态:已核定,缴费截止日 2026-08-28"


def test_e_failed_debit_shows_the_banks_message(unit):
    bill = create_bill(unit["employer"], AUG, unit["enrolments"], status=BillStatus.DEBIT_FAILED)
    payment(
        unit,
        bill,
        Payment.Status.FAILED,
        failure_code="INSUFFICIENT_FUNDS",
        failure_message="账户余额不足",
    )
    cause = cause_of(unit, unit["enrolments"][0].person)
    assert cause.code == CAUSE_BILL_NOT_PAID
    assert "状态:扣款失败" in cause.details[0]
    assert "扣款失败原因:账户余额不足" in cause.details


# (f) ------------------------------------------------------------------------------------------


def test_f_payment_settling_with_the_expected_date(unit):
    bill = create_bill(unit["employer"], AUG, unit["enrolments"], status=BillStatus.DEBITED)
    payment(unit, bill, Payment.Status.DEBITED, expected_settle_on=datetime.date(2026, 9, 4))
    cause = cause_of(unit, unit["enrolments"][0].person)
    assert cause.code == CAUSE_SETTLING
    assert cause.message == "银行扣款已完成,预计 2026-09-04 到账"


def test_a_settled_record_has_nothing_missing(unit):
    create_bill(unit["employer"], AUG, unit["enrolments"], status=BillStatus.SETTLED)
    assert cause_of(unit, unit["enrolments"][0].person).code == CAUSE_SETTLED


def test_an_unpaid_supplement_counts_even_when_the_regular_bill_settled(unit):
    create_bill(unit["employer"], AUG, unit["enrolments"], status=BillStatus.SETTLED)
    create_bill(
        unit["employer"],
        AUG,
        unit["enrolments"],
        status=BillStatus.ASSESSED,
        kind="supplement",
        sequence=1,
    )
    assert cause_of(unit, unit["enrolments"][0].person).code == CAUSE_BILL_NOT_PAID


# (g) ------------------------------------------------------------------------------------------


def test_g_none_of_these(unit):
    # The bill was made for the first employee only: nothing in the data explains the second.
    create_bill(unit["employer"], AUG, unit["enrolments"][:1], status=BillStatus.SETTLED)
    cause = cause_of(unit, unit["enrolments"][1].person)
    assert cause.code == CAUSE_UNKNOWN
    assert cause.message == "未发现原因,请拨打 12333 咨询"


# The pages ------------------------------------------------------------------------------------


@pytest.fixture
def agent_client(client, unit):
    client.force_login(create_agent(unit["employer"], roles=[Role.QUERIES]).user)
    return client


def test_why_page_by_id_number(agent_client, unit):
    person = unit["enrolments"][0].person
    response = agent_client.post(
        WHY, {"q": person.document_number, "month": "2026-08"}, follow=True
    )
    body = response.content.decode()
    assert response.context["cause"].code == CAUSE_BILL_NOT_GENERATED
    assert "本月费款尚未核定" in body
    assert f"({person.name},{person.masked_document_number})" in body


def test_why_page_for_a_person_of_another_unit_says_no_more_than_for_a_stranger(agent_client, unit):
    other_employer, _a, _p, others = create_unit_with_staff(1, period=unit["period"])
    create_bill(other_employer, AUG, others, status=BillStatus.SETTLED)
    person = others[0].person
    response = agent_client.post(
        WHY, {"q": person.document_number, "month": "2026-08"}, follow=True
    )
    assert response.context["cause"].code == CAUSE_NO_ENROLMENT
    assert person.name not in response.content.decode()
    # By id, another unit's person is not found at all.
    response = agent_client.post(WHY, {"person": person.pk, "month": "2026-08"}, follow=True)
    assert response.status_code == 404


def test_why_page_refuses_a_future_month_and_a_bad_month(agent_client, unit):
    person = unit["enrolments"][0].person
    events = AuditEvent.objects.count()
    response = agent_client.post(WHY, {"q": person.document_number, "month": "2099-01"})
    assert response.status_code == 200  # the form again, with the message; nothing kept
    assert response.context["form"].errors["month"] == ["不能查询未来月份"]
    assert "cause" not in response.context
    response = agent_client.post(WHY, {"q": person.document_number, "month": "abc"})
    assert response.context["form"].errors["month"] == ["请按“年-月”格式填写,如 2026-07"]
    assert AuditEvent.objects.count() == events


def test_why_page_lists_the_persons_to_choose_from_when_a_name_is_ambiguous(agent_client, unit):
    response = agent_client.post(WHY, {"q": "职工", "month": "2026-08"}, follow=True)
    errors = response.context["form"].errors["q"]
    assert errors == ["本单位有多位人员的姓名包含“职工”,请在下方选择一位,或输入完整证件号码。"]
    candidates = response.context["candidates"]
    assert {p.pk for p in candidates} == {e.person.pk for e in unit["enrolments"]}
    chosen = candidates[0]
    body = response.content.decode()
    assert f'data-candidate="{chosen.pk}"' in body and chosen.masked_document_number in body
    # Choosing one answers for that person.
    response = agent_client.post(WHY, {"person": chosen.pk, "month": "2026-08"}, follow=True)
    assert response.context["person"] == chosen and response.context["cause"] is not None


def test_a_full_name_wins_over_a_longer_name_it_begins(agent_client, unit):
    short = create_enrolment(unit["employer"], name="周明").person
    create_enrolment(unit["employer"], name="周明桂")
    response = agent_client.post(WHY, {"q": "周明", "month": "2026-08"}, follow=True)
    assert response.context["person"] == short


def test_records_page_explains_a_missing_month_for_one_person(agent_client, unit):
    person = unit["enrolments"][0].person
    bill = create_bill(unit["employer"], AUG, unit["enrolments"], status=BillStatus.DEBITED)
    payment(unit, bill, Payment.Status.DEBITED, expected_settle_on=datetime.date(2026, 9, 4))
    response = agent_client.post(
        RECORDS,
        {"q": person.document_number, "month_from": "2026-08", "month_to": "2026-08"},
        follow=True,
    )
    assert response.context["totals"].rows == 4
    assert "银行扣款已完成,预计 2026-09-04 到账" in response.content.decode()
    response = agent_client.post(
        RECORDS,
        {"q": person.document_number, "month_from": "2026-09", "month_to": "2026-09"},
        follow=True,
    )
    assert response.context["totals"].rows == 0
    assert "本月费款尚未核定" in response.content.decode()
