"""工伤认定申请 and 工伤待遇申领: the lateness rule, the own wage and lump sum shown (arithmetic by
hand), the receipts totalled, and each bad input."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from contributions.benefits.services import (
    Receipt,
    injury_claim_submit,
    injury_recognition_submit,
)
from contributions.models import BenefitAttachment, InjuryClaim, InjuryRecognition
from portal.models import ReviewState
from tests.contributions.benefits.helpers import Unit, jpg, month_before, pdf

pytestmark = pytest.mark.django_db

RECOGNITION = reverse("contributions:benefit_recognition")
D = Decimal


@pytest.fixture
def unit():
    return Unit()


@pytest.fixture
def agent_client(client, unit):
    client.force_login(unit.agent.user)
    return client


def accident(days_ago: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days_ago)


def recognition_post(enrolment, days_ago: int = 3, **overrides) -> dict:
    day = timezone.localdate(accident(days_ago))
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "document_number": enrolment.person.document_number,
        "accident_date": day.isoformat(),
        "accident_time": "09:30",
        "place": "二号车间冲压线",
        "description": "操作冲床时右手被压伤",
        "late_reason": "",
        "diagnosis": jpg(),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def approved_recognition(unit, enrolment, days_ago: int = 40) -> InjuryRecognition:
    recognition = injury_recognition_submit(
        agent=unit.agent,
        idempotency_key=uuid.uuid4(),
        document_number=enrolment.person.document_number,
        accident_at=accident(days_ago),
        place="仓库",
        description="搬运货物时被货架砸伤",
        late_reason="职工住院治疗,单位未及时获知" if days_ago > 30 else "",
        diagnosis=pdf("诊断证明.pdf"),
    )
    InjuryRecognition.objects.filter(pk=recognition.pk).update(review_state=ReviewState.APPROVED)
    recognition.refresh_from_db()
    return recognition


# 工伤认定申请 -------------------------------------------------------------------------------------


def test_an_application_in_time_is_filed_for_review_with_its_diagnosis(agent_client, unit):
    worker = unit.employee("张伟", "8000", female=False)
    response = agent_client.post(RECOGNITION, recognition_post(worker))
    recognition = InjuryRecognition.objects.get()
    assert response["Location"] == recognition.get_absolute_url()
    assert recognition.enrolment_id == worker.pk and not recognition.filed_late
    assert recognition.review_state == ReviewState.SUBMITTED
    assert timezone.localtime(recognition.accident_at).strftime("%H:%M") == "09:30"
    assert [a.kind for a in recognition.attachments.all()] == [
        BenefitAttachment.Kind.INJURY_DIAGNOSIS
    ]
    detail = agent_client.get(recognition.get_absolute_url()).content.decode()
    assert "二号车间冲压线" in detail and "初次诊断证明" not in detail  # the kind's own name
    assert "工伤医疗诊断证明" in detail


def test_a_late_application_says_why_it_is_late_and_needs_a_reason(agent_client, unit):
    worker = unit.employee("张伟", "8000", female=False)
    response = agent_client.post(RECOGNITION, recognition_post(worker, days_ago=40))
    assert InjuryRecognition.objects.count() == 0
    [error] = response.context["form"].errors["late_reason"]
    # 40 days after the accident: 10 days past the 30 the employer has (条例 art. 17).
    assert "距今 40 天" in error and "逾期 10 天" in error and "第十七条" in error
    body = response.content.decode()
    assert "data-late" in body and "逾期 10 天" in body
    # What was typed stays (the file must be chosen again: the page says so).
    assert response.context["form"]["place"].value() == "二号车间冲压线"
    assert "重新选择附件" in body

    agent_client.post(
        RECOGNITION, recognition_post(worker, days_ago=40, late_reason="职工住院,家属未及时告知")
    )
    recognition = InjuryRecognition.objects.get()
    assert recognition.filed_late and recognition.late_reason == "职工住院,家属未及时告知"


def test_on_day_30_no_reason_is_needed(unit):
    worker = unit.employee("张伟", "8000", female=False)
    recognition = injury_recognition_submit(
        agent=unit.agent,
        idempotency_key=uuid.uuid4(),
        document_number=worker.person.document_number,
        accident_at=accident(30),
        place="仓库",
        description="扭伤",
        diagnosis=pdf(),
    )
    assert not recognition.filed_late


def test_a_person_without_work_injury_insurance_is_a_field_error(agent_client, unit):
    worker = unit.employee("张伟", "8000", female=False, insurance_codes=("110", "310"))
    response = agent_client.post(RECOGNITION, recognition_post(worker))
    assert response.context["form"].errors["document_number"] == [
        f"该人员在 {timezone.localdate(accident(3)).isoformat()} 未在本单位参加工伤保险,不能申领。"
    ]


def test_an_application_without_diagnosis_is_an_error_next_to_the_field(agent_client, unit):
    worker = unit.employee("张伟", "8000", female=False)
    response = agent_client.post(RECOGNITION, recognition_post(worker, diagnosis=None))
    assert response.context["form"].errors["diagnosis"] == ["请选择要上传的文件。"]
    with pytest.raises(ValidationError) as caught:
        injury_recognition_submit(
            agent=unit.agent,
            idempotency_key=uuid.uuid4(),
            document_number=worker.person.document_number,
            accident_at=accident(3),
            place="仓库",
            description="扭伤",
        )
    assert "初次诊断证明" in caught.value.message_dict["diagnosis"][0]


def test_a_file_that_is_not_what_it_claims_is_refused(agent_client, unit):
    from django.core.files.uploadedfile import SimpleUploadedFile

    worker = unit.employee("张伟", "8000", female=False)
    fake = SimpleUploadedFile(
        "诊断证明.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"
    )
    response = agent_client.post(RECOGNITION, recognition_post(worker, diagnosis=fake))
    assert "可执行程序" in response.context["form"].errors["diagnosis"][0]


# 工伤待遇 -----------------------------------------------------------------------------------------


def claim_url(recognition) -> str:
    return reverse("contributions:benefit_injury_claim", args=[recognition.reference])


def claim_post(level="7", receipts=(), **overrides) -> dict:
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "disability_level": level,
        "assessment": pdf("鉴定结论书.pdf"),
        "receipts_scan": pdf("票据.pdf"),
        "receipts-TOTAL_FORMS": "4",
        "receipts-INITIAL_FORMS": "0",
        "receipts-MIN_NUM_FORMS": "0",
        "receipts-MAX_NUM_FORMS": "20",
    }
    for index, (number, issued_on, amount) in enumerate(receipts):
        data[f"receipts-{index}-number"] = number
        data[f"receipts-{index}-issued_on"] = issued_on
        data[f"receipts-{index}-amount"] = amount
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def low_paid(unit):
    """A worker on 6000, billed the 3 months before the accident's month; the region's
    average wage of the accident's year is 12000."""
    worker = unit.employee("张伟", "6000", female=False)
    recognition = approved_recognition(unit, worker)
    injury_day = timezone.localdate(recognition.accident_at)
    unit.bills([month_before(n, injury_day) for n in (3, 2, 1)], [worker])
    unit.regional_wage(injury_day.year, "12000")
    return worker, recognition


def test_the_claim_page_shows_and_explains_the_own_wage_and_the_lump_sums(agent_client, low_paid):
    _worker, recognition = low_paid
    page = agent_client.get(claim_url(recognition))
    basis = page.context["basis"]
    # Own wage: (6000 + 6000 + 6000) ÷ 3 months = 6000.00. The floor is 60 % of 12000 = 7200,
    # so 7200 is used; level 7 is 13 months: 13 × 7200 = 93600.00; level 1: 27 × 7200 = 194400.
    assert (basis.own.amount, basis.own.months, basis.bounded_wage) == (
        D("6000.00"),
        3,
        D("7200.00"),
    )
    assert dict((level, amount) for level, _m, amount in basis.lump_sums)[7] == D("93600.00")
    body = page.content.decode()
    assert "<strong data-own-wage>6000.00</strong>" in body
    assert "有工伤保险缴费记录的 3 个月" in body and "按60%计" in body
    assert '<tr data-level="1"><td>1 级</td><td>27</td><td class="text-end">194400.00</td>' in body


def test_a_high_wage_is_capped_at_three_times_the_regions_wage(unit):
    worker = unit.employee("钱多", "40000", female=False)
    recognition = approved_recognition(unit, worker)
    injury_day = timezone.localdate(recognition.accident_at)
    # The bill caps the base at the period's upper bound 35811 (make_period).
    unit.bills([month_before(1, injury_day)], [worker])
    unit.regional_wage(injury_day.year, "10000")
    claim = injury_claim_submit(
        agent=unit.agent,
        idempotency_key=uuid.uuid4(),
        recognition=recognition,
        disability_level=10,
        assessment=pdf(),
    )
    # Own wage 35811.00 > 300 % of 10000 = 30000; level 10 is 7 months: 7 × 30000 = 210000.00.
    assert (claim.own_wage, claim.bounded_wage, claim.lump_sum) == (
        D("35811.00"),
        D("30000.00"),
        D("210000.00"),
    )


def test_filing_totals_the_receipts_and_keeps_the_figures(agent_client, low_paid):
    _worker, recognition = low_paid
    today = timezone.localdate()
    receipts = [
        ("MZ20260001", today.isoformat(), "1200.50"),
        ("ZY20260002", today.isoformat(), "399.50"),
    ]
    response = agent_client.post(claim_url(recognition), claim_post("7", receipts))
    claim = InjuryClaim.objects.get()
    assert response["Location"] == claim.get_absolute_url()
    # Medical: 1200.50 + 399.50 = 1600.00; with the lump sum 93600.00: 95200.00.
    assert (claim.lump_sum, claim.medical_total, claim.amount) == (
        D("93600.00"),
        D("1600.00"),
        D("95200.00"),
    )
    assert claim.own_wage_months == 3 and claim.wage_year == recognition.accident_at.year
    assert sorted(a.kind for a in claim.attachments.all()) == ["assessment", "receipts"]
    assert [r.number for r in claim.receipts.all()] == ["MZ20260001", "ZY20260002"]
    detail = agent_client.get(claim.get_absolute_url()).content.decode()
    assert "1600.00" in detail and "95200.00" in detail
    # The recognition now leads to its claim, and offers no second one.
    page = agent_client.get(recognition.get_absolute_url()).content.decode()
    assert claim.reference in page
    assert agent_client.get(claim_url(recognition)).context["basis"].refusal


@pytest.mark.parametrize("level", ["0", "11"])
def test_a_level_outside_1_to_10_is_refused_by_the_rule(agent_client, low_paid, level):
    _worker, recognition = low_paid
    response = agent_client.post(claim_url(recognition), claim_post(level))
    assert response.context["form"].errors["disability_level"] == ["伤残等级应为1至10级。"]
    assert InjuryClaim.objects.count() == 0


def test_no_regional_average_wage_for_the_injury_year_is_refused_clearly(agent_client, unit):
    worker = unit.employee("张伟", "8000", female=False)
    recognition = approved_recognition(unit, worker)
    year = timezone.localdate(recognition.accident_at).year
    unit.regional_wage(year - 1, "11000")  # last year's is not this year's
    message = f"统筹区尚未公布 {year} 年度职工月平均工资,暂时无法计算一次性伤残补助金。"
    page = agent_client.get(claim_url(recognition))
    assert message in page.content.decode() and "data-lump-sums" not in page.content.decode()
    with pytest.raises(ValidationError) as caught:
        injury_claim_submit(
            agent=unit.agent,
            idempotency_key=uuid.uuid4(),
            recognition=recognition,
            disability_level=5,
            assessment=pdf(),
        )
    assert message in caught.value.messages[0]


def test_a_claim_without_assessment_or_receipts_scan_is_an_error_next_to_the_field(
    agent_client, low_paid
):
    _worker, recognition = low_paid
    today = timezone.localdate().isoformat()
    response = agent_client.post(claim_url(recognition), claim_post("7", assessment=None))
    assert response.context["form"].errors["assessment"] == ["请选择要上传的文件。"]
    response = agent_client.post(
        claim_url(recognition),
        claim_post("7", [("MZ1", today, "100")], receipts_scan=None),
    )
    assert response.context["form"].errors["receipts_scan"] == [
        "申报了医疗费,请上传医疗费票据扫描件。"
    ]
    assert "重新选择附件" in response.content.decode()
    assert InjuryClaim.objects.count() == 0


def test_a_half_filled_receipt_row_is_an_error_next_to_its_field(agent_client, low_paid):
    _worker, recognition = low_paid
    response = agent_client.post(claim_url(recognition), claim_post("7", [("MZ1", "", "abc")]))
    row = response.context["formset"].forms[0]
    assert row.errors["issued_on"] == ["请填写此项。"]
    assert row.errors["amount"] == ["请填写金额,如 8000 或 8000.50。"]
    assert InjuryClaim.objects.count() == 0


def test_a_receipt_dated_before_the_injury_is_refused(unit, low_paid):
    _worker, recognition = low_paid
    before = timezone.localdate(recognition.accident_at) - datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as caught:
        injury_claim_submit(
            agent=unit.agent,
            idempotency_key=uuid.uuid4(),
            recognition=recognition,
            disability_level=7,
            receipts=[Receipt("MZ1", before, D("100"))],
            assessment=pdf(),
            receipts_scan=pdf(),
        )
    assert "开票日期" in caught.value.message_dict["receipts"][0]


def test_a_recognition_not_yet_approved_cannot_be_claimed_for(agent_client, unit):
    worker = unit.employee("张伟", "8000", female=False)
    pending = injury_recognition_submit(
        agent=unit.agent,
        idempotency_key=uuid.uuid4(),
        document_number=worker.person.document_number,
        accident_at=accident(3),
        place="仓库",
        description="扭伤",
        diagnosis=pdf(),
    )
    page = agent_client.get(claim_url(pending)).content.decode()
    assert "尚未认定为工伤" in page and "data-lump-sums" not in page
