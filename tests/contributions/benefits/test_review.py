"""Each claim's review path through portal.review: the pre-checks a clerk sees, approval records
the approved amounts (shown on the agent's page), rejection records none, the unit is told by
SMS and in its inbox."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from contributions.benefits.services import (
    injury_claim_submit,
    injury_recognition_submit,
    maternity_claim_submit,
)
from contributions.models import InjuryClaim, InjuryRecognition, MaternityClaim
from enrollment.models import Person
from portal.models import InboxMessage, Notification, ReviewState
from portal.review import review_decide, review_precheck
from tests.contributions.benefits.helpers import Unit, maternity_facts, month_before, pdf
from tests.factories import create_clerk

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def unit():
    return Unit("审核测试有限公司")


@pytest.fixture
def clerk():
    return create_clerk("benefit-clerk")


@pytest.fixture
def maternity(unit):
    wang = unit.employee("王芳", "8000")
    unit.bills([month_before(n) for n in range(12, 0, -1)], [wang])
    # 8000 ÷ 30 × 98 = 26133.33 (see test_maternity).
    return maternity_claim_submit(
        agent=unit.agent,
        idempotency_key=uuid.uuid4(),
        shown_amount=D("26133.33"),
        certificate=pdf(),
        **maternity_facts(wang),
    )


def recognise(unit, worker, days_ago=5, **extra):
    return injury_recognition_submit(
        agent=unit.agent,
        idempotency_key=uuid.uuid4(),
        document_number=worker.person.document_number,
        accident_at=timezone.now() - datetime.timedelta(days=days_ago),
        place="仓库",
        description="搬运货物时扭伤腰部",
        diagnosis=pdf("诊断证明.pdf"),
        **extra,
    )


@pytest.fixture
def injury(unit, clerk):
    worker = unit.employee("张伟", "8000", female=False)
    recognition = recognise(unit, worker)
    review_decide(model=InjuryRecognition, pk=recognition.pk, actor=clerk, decision="approve")
    unit.regional_wage(timezone.localdate(recognition.accident_at).year, "10000")
    # No bills before the injury: the enrolment's 月缴费工资 8000 is the own wage.
    # Level 8 is 11 months: 11 × 8000 = 88000.00; receipts 300.00 + 200.00 = 500.00.
    from contributions.benefits.services import Receipt

    today = timezone.localdate()
    return injury_claim_submit(
        agent=unit.agent,
        idempotency_key=uuid.uuid4(),
        recognition=recognition,
        disability_level=8,
        receipts=[Receipt("MZ1", today, D("300.00")), Receipt("MZ2", today, D("200.00"))],
        assessment=pdf("鉴定结论书.pdf"),
        receipts_scan=pdf("票据.pdf"),
    )


def checks(item) -> dict:
    review_precheck(model_label=item._meta.label, pk=item.pk)
    item.refresh_from_db()
    return {result["key"]: result for result in item.precheck_results}


def told(unit, template) -> tuple[Notification, InboxMessage]:
    sms = Notification.objects.get(template=template)
    inbox = InboxMessage.objects.get(template=template, employer_id=unit.employer.pk)
    return sms, inbox


# 生育津贴 -----------------------------------------------------------------------------------------


def test_maternity_prechecks_pass_for_an_insured_woman_with_her_certificate(maternity):
    results = checks(maternity)
    assert {key: r["passed"] for key, r in results.items()} == {
        "insured_at_event": True,
        "attachments": True,
        "within_a_year": True,
        "female": True,
    }
    assert maternity.review_state == ReviewState.PENDING


def test_maternity_prechecks_flag_a_man_and_a_missing_certificate(maternity):
    Person.objects.filter(pk=maternity.enrolment.person_id).update(sex=Person.Sex.MALE)
    maternity.attachments.all().delete()
    results = checks(maternity)
    assert not results["female"]["passed"] and not results["attachments"]["passed"]
    assert results["attachments"]["detail"] == "缺少:出生医学证明"


def test_approving_a_maternity_claim_records_the_amount_and_tells_the_unit(
    client, unit, clerk, maternity
):
    review_decide(
        model=MaternityClaim, pk=maternity.pk, actor=clerk, decision="approve", comment="材料齐全"
    )
    maternity.refresh_from_db()
    assert maternity.review_state == ReviewState.APPROVED
    assert maternity.approved_amount == D("26133.33")
    sms, inbox = told(unit, "maternity_claim_approved")
    assert sms.recipient == unit.employer.contact_phone and sms.employer_id == unit.employer.pk
    assert "王*" in sms.body and "26133.33" in sms.body and "王芳" not in sms.body
    assert inbox.title == f"生育津贴申领已审核通过（编号{maternity.reference}）"
    assert "产假98天" in inbox.body and "材料齐全" in inbox.body
    client.force_login(unit.agent.user)
    page = client.get(maternity.get_absolute_url()).content.decode()
    assert "审核通过,核定生育津贴 26133.33 元。" in page


def test_rejecting_a_maternity_claim_records_no_amount(unit, clerk, maternity):
    review_decide(
        model=MaternityClaim,
        pk=maternity.pk,
        actor=clerk,
        decision="reject",
        comment="出生医学证明不清晰",
    )
    maternity.refresh_from_db()
    assert maternity.review_state == ReviewState.REJECTED and maternity.approved_amount is None
    _sms, inbox = told(unit, "maternity_claim_rejected")
    assert "出生医学证明不清晰" in inbox.body and "不核定金额" in inbox.body


# 工伤认定 -----------------------------------------------------------------------------------------


def test_a_late_recognition_fails_its_deadline_check_with_the_reason_for_the_clerk(unit):
    worker = unit.employee("张伟", "8000", female=False)
    recognition = recognise(unit, worker, days_ago=45, late_reason="职工住院,单位未及时获知")
    results = checks(recognition)
    assert results["insured_at_accident"]["passed"] and results["attachments"]["passed"]
    assert not results["within_deadline"]["passed"]
    assert (
        results["within_deadline"]["detail"] == "逾期 15 天,单位说明的原因:职工住院,单位未及时获知"
    )


def test_approving_a_recognition_means_it_is_a_work_injury_and_opens_the_claim(client, unit, clerk):
    worker = unit.employee("张伟", "8000", female=False)
    recognition = recognise(unit, worker)
    review_decide(model=InjuryRecognition, pk=recognition.pk, actor=clerk, decision="approve")
    _sms, inbox = told(unit, "injury_recognition_approved")
    assert "认定为工伤" in inbox.body
    client.force_login(unit.agent.user)
    page = client.get(recognition.get_absolute_url()).content.decode()
    assert "已认定为工伤" in page and "申领工伤待遇" in page


def test_rejecting_a_recognition_leaves_nothing_to_claim(client, unit, clerk):
    worker = unit.employee("张伟", "8000", female=False)
    recognition = recognise(unit, worker)
    review_decide(
        model=InjuryRecognition,
        pk=recognition.pk,
        actor=clerk,
        decision="reject",
        comment="非因工作原因受伤",
    )
    _sms, inbox = told(unit, "injury_recognition_rejected")
    assert "非因工作原因受伤" in inbox.body
    client.force_login(unit.agent.user)
    listing = client.get("/contributions/benefits/injury-claims/")
    assert listing.context["claimable"] == []


# 工伤待遇 -----------------------------------------------------------------------------------------


def test_injury_claim_prechecks(injury):
    results = checks(injury)
    assert all(result["passed"] for result in results.values()), results


def test_approving_an_injury_claim_records_the_lump_sum_and_the_medical_expenses(
    client, unit, clerk, injury
):
    assert (injury.lump_sum, injury.medical_total) == (D("88000.00"), D("500.00"))
    review_decide(model=InjuryClaim, pk=injury.pk, actor=clerk, decision="approve")
    injury.refresh_from_db()
    assert (injury.approved_lump_sum, injury.approved_medical_total) == (
        D("88000.00"),
        D("500.00"),
    )
    assert injury.approved_amount == D("88500.00")
    sms, inbox = told(unit, "injury_claim_approved")
    assert "88500.00" in sms.body
    assert "一次性伤残补助金88000.00元、医疗费500.00元，合计88500.00元" in inbox.body
    client.force_login(unit.agent.user)
    page = client.get(injury.get_absolute_url()).content.decode()
    assert "核定一次性伤残补助金 88000.00 元、医疗费 500.00 元,合计 88500.00 元" in page


def test_rejecting_an_injury_claim_records_nothing_and_it_may_be_claimed_again(
    client, unit, clerk, injury
):
    review_decide(
        model=InjuryClaim, pk=injury.pk, actor=clerk, decision="reject", comment="等级不符"
    )
    injury.refresh_from_db()
    assert injury.approved_lump_sum is None and injury.approved_medical_total is None
    assert injury.approved_amount is None
    told(unit, "injury_claim_rejected")
    client.force_login(unit.agent.user)
    listing = client.get("/contributions/benefits/injury-claims/")
    assert [r.pk for r in listing.context["claimable"]] == [injury.recognition_id]
