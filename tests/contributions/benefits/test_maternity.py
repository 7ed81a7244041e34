"""生育津贴申领: the figures shown before submitting (arithmetic by hand), the submission, and
each bad input, through the pages and the service."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from contributions.benefits.services import (
    AMOUNT_CHANGED,
    maternity_claim_compute,
    maternity_claim_submit,
)
from contributions.models import (
    BenefitAttachment,
    MaternityClaim,
    RegionBenefitSettings,
    UnitWageSource,
)
from portal.models import AuditEvent, ReviewState
from tests.contributions.benefits.helpers import (
    Unit,
    event_date,
    maternity_facts,
    maternity_post,
    month_before,
    pdf,
)

pytestmark = pytest.mark.django_db

STEP1 = reverse("contributions:benefit_maternity")
CONFIRM = reverse("contributions:benefit_maternity_confirm")
D = Decimal


@pytest.fixture
def unit():
    return Unit()


@pytest.fixture
def staff(unit):
    """Three employees; only 王芳 gives birth. Bills of the 14 months around the window."""
    wang = unit.employee("王芳", "8000")
    li = unit.employee("李娜", "10000")
    zhao = unit.employee("赵敏", "12000", female=False)
    # Months 12 to 9 before the event's month: 王芳 and 李娜; months 8 to 1: all three.
    unit.bills([month_before(n) for n in (12, 11, 10, 9)], [wang, li])
    unit.bills([month_before(n) for n in range(8, 0, -1)], [wang, li, zhao])
    # Outside the window (the event's month, 13 months before): must not count.
    unit.bills([month_before(0), month_before(13)], [wang, li, zhao])
    return wang, li, zhao


@pytest.fixture
def flat(unit):
    """One employee on 8000 billed the 12 months before the event."""
    wang = unit.employee("王芳", "8000")
    unit.bills([month_before(n) for n in range(12, 0, -1)], [wang])
    return wang


@pytest.fixture
def agent_client(client, unit):
    client.force_login(unit.agent.user)
    return client


def confirm_data(enrolment, page, **overrides):
    """The confirmation page's form as the browser posts it."""
    form = page.context["form"]
    data = {field.name: field.value() for field in form.fact_fields()}
    data["difficult_birth"] = "True" if data.get("difficult_birth") else "False"
    data.update(
        idempotency_key=str(form.initial["idempotency_key"]),
        shown_amount=str(form.initial["shown_amount"]),
        certificate=pdf(),
    )
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# The figures shown before submitting --------------------------------------------------------


def test_the_confirmation_shows_the_days_and_the_amount_before_anything_is_filed(
    agent_client, staff
):
    wang, _li, _zhao = staff
    page = agent_client.post(STEP1, maternity_post(wang))

    assert page.status_code == 200
    assert page.templates[0].name == "contributions/benefits/maternity_confirm.html"
    body = page.content.decode()
    # Unit average wage: months 12–9 bill 8000 + 10000 = 18000 a month, 4 × 18000 = 72000 over
    # 4 × 2 = 8 person-months; months 8–1 bill 8000 + 10000 + 12000 = 30000, 8 × 30000 = 240000
    # over 8 × 3 = 24 person-months. (72000 + 240000) ÷ (8 + 24) = 312000 ÷ 32 = 9750.00.
    # The event's month and the 13th month before are outside the window.
    # Birth: 98 days. Allowance 9750 ÷ 30 × 98 = 955500 ÷ 30 = 31850.00.
    assert "<span data-wage>9750.00</span>" in body
    assert "<strong data-days>98</strong>" in body
    assert '<strong class="fs-5" data-amount>31850.00</strong>' in body
    assert "12 个月共 32 人次" in body
    assert "9750.00 ÷ 30 × 98" in body
    assert wang.person.masked_document_number in body
    assert MaternityClaim.objects.count() == 0
    # The facts travel as hidden inputs; the certificate is chosen here.
    assert 'type="hidden" name="document_number"' in body
    assert 'name="certificate"' in body and "重新选择附件" in body


def test_a_flat_base_gives_the_textbook_figure(unit, flat):
    figures = maternity_claim_compute(agent=unit.agent, **maternity_facts(flat))
    # 8000 on each of the 12 months: average 8000; 8000 ÷ 30 × 98 = 784000 ÷ 30 = 26133.33
    # (26133.333… rounded half up to the cent once, at the end).
    assert (figures.wage, figures.days, figures.amount) == (D("8000.00"), 98, D("26133.33"))
    assert figures.wage_figure.months == 12 and figures.wage_figure.person_months == 12


def test_the_regions_divisor_and_extra_days_apply_to_a_birth_only(agent_client, unit, flat):
    RegionBenefitSettings.objects.create(
        region=unit.region, maternity_divisor=D("30.4"), maternity_extra_days=30
    )
    twins = maternity_claim_compute(
        agent=unit.agent, **maternity_facts(flat, babies=2, difficult_birth=True)
    )
    # 98 + 15 (one more baby) + 15 (difficult birth) + 30 (the region) = 158 days;
    # 8000 ÷ 30.4 × 158 = 1264000 ÷ 30.4 = 41578.947… → 41578.95.
    assert (twins.days, twins.amount) == (158, D("41578.95"))
    page = agent_client.post(STEP1, maternity_post(flat, babies="2", difficult_birth="on"))
    assert "= 8000.00 ÷ 30.4 × 158" in page.content.decode()
    assert "含本统筹区增加的 30 天" in page.content.decode()
    miscarriage = maternity_claim_compute(
        agent=unit.agent,
        **maternity_facts(flat, kind="miscarriage_under_4_months", babies=3, difficult_birth=True),
    )
    # 15 days, no extras: 8000 ÷ 30.4 × 15 = 120000 ÷ 30.4 = 3947.368… → 3947.37.
    assert (miscarriage.days, miscarriage.babies, miscarriage.amount) == (15, 1, D("3947.37"))


def test_a_region_where_the_unit_declares_its_wage_asks_for_it(agent_client, unit, flat):
    RegionBenefitSettings.objects.create(
        region=unit.region, unit_wage_source=UnitWageSource.DECLARED
    )
    missing = agent_client.post(STEP1, maternity_post(flat))
    assert missing.context["form"].errors["unit_average_wage"] == ["请填写此项。"]
    page = agent_client.post(STEP1, maternity_post(flat, unit_average_wage="6500"))
    # Declared 6500: 6500 ÷ 30 × 98 = 637000 ÷ 30 = 21233.33.
    assert page.context["figures"].amount == D("21233.33")
    assert "由单位申报" in page.content.decode()


# Filing ---------------------------------------------------------------------------------------


def test_confirming_with_the_certificate_files_the_claim_for_review(agent_client, unit, staff):
    wang = staff[0]
    page = agent_client.post(STEP1, maternity_post(wang))
    response = agent_client.post(CONFIRM, confirm_data(wang, page))

    claim = MaternityClaim.objects.get()
    assert response.status_code == 302 and response["Location"] == claim.get_absolute_url()
    assert (claim.enrolment_id, claim.days, claim.amount) == (wang.pk, 98, D("31850.00"))
    assert claim.unit_average_wage == D("9750.00") and claim.wage_months == 12
    assert claim.review_state == ReviewState.SUBMITTED
    assert claim.review_region_id == unit.region.pk and claim.approved_amount is None
    [attachment] = claim.attachments.all()
    assert attachment.kind == BenefitAttachment.Kind.BIRTH_CERTIFICATE
    assert attachment.employer_id == unit.employer.pk
    assert AuditEvent.objects.filter(action="benefits.maternity_submit").count() == 1
    detail = agent_client.get(claim.get_absolute_url()).content.decode()
    assert claim.reference in detail and "31850.00" in detail and "出生医学证明" in detail


def test_the_same_confirmation_submitted_twice_files_once(agent_client, staff):
    wang = staff[0]
    page = agent_client.post(STEP1, maternity_post(wang))
    data = confirm_data(wang, page)
    first = agent_client.post(CONFIRM, data)
    data["certificate"] = pdf()
    second = agent_client.post(CONFIRM, data)
    assert MaternityClaim.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_a_second_claim_for_the_same_birth_is_refused(unit, staff):
    wang = staff[0]
    facts = maternity_facts(wang)
    first = maternity_claim_submit(
        agent=unit.agent,
        idempotency_key=uuid.uuid4(),
        shown_amount=D("31850.00"),
        certificate=pdf(),
        **facts,
    )
    with pytest.raises(ValidationError) as caught:
        maternity_claim_compute(agent=unit.agent, **facts)
    assert first.reference in caught.value.messages[0]


def test_an_amount_changed_since_it_was_shown_is_shown_again_not_filed(agent_client, staff):
    wang = staff[0]
    page = agent_client.post(STEP1, maternity_post(wang))
    response = agent_client.post(CONFIRM, confirm_data(wang, page, shown_amount="30000.00"))
    assert MaternityClaim.objects.count() == 0
    assert response.status_code == 200
    assert "计算结果已变化" in response.content.decode()
    assert response.context["form"].initial["shown_amount"] == D("31850.00")


def test_back_from_the_confirmation_keeps_what_was_typed(agent_client, staff):
    wang = staff[0]
    page = agent_client.post(STEP1, maternity_post(wang, babies="2", difficult_birth="on"))
    data = confirm_data(wang, page, certificate=None)
    back = agent_client.post(STEP1, {**data, "edit": "1"})
    assert back.templates[0].name == "contributions/benefits/maternity_form.html"
    form = back.context["form"]
    assert form["babies"].value() == "2" and form["difficult_birth"].value() is True
    assert form["document_number"].value() == wang.person.document_number


# Bad input --------------------------------------------------------------------------------------


def test_no_certificate_is_an_error_next_to_the_field_and_the_figures_stay(agent_client, staff):
    wang = staff[0]
    page = agent_client.post(STEP1, maternity_post(wang))
    response = agent_client.post(CONFIRM, confirm_data(wang, page, certificate=None))
    assert response.status_code == 200
    assert response.context["form"].errors["certificate"] == ["请选择要上传的文件。"]
    body = response.content.decode()
    assert "31850.00" in body and "重新选择附件" in body
    assert MaternityClaim.objects.count() == 0


def test_the_service_refuses_a_claim_without_certificate(unit, staff):
    with pytest.raises(ValidationError) as caught:
        maternity_claim_submit(
            agent=unit.agent,
            idempotency_key=uuid.uuid4(),
            shown_amount=D("31850.00"),
            certificate=None,
            **maternity_facts(staff[0]),
        )
    assert caught.value.message_dict["certificate"] == ["请上传出生医学证明。"]


def test_an_employee_not_insured_at_the_birth_is_a_field_error(agent_client, unit, staff):
    # Enrolled in the unit, but only from next month on.
    late = unit.employee("孙丽", "8000", start_month=month_before(-1))
    response = agent_client.post(STEP1, maternity_post(late))
    errors = response.context["form"].errors["document_number"]
    assert errors == [
        f"该人员在 {event_date().isoformat()} 未在本单位参加职工基本医疗(生育)保险,不能申领。"
    ]
    # Ended before the birth (末次缴费年月 two months before).
    left = unit.employee("周婷", "8000", status="terminated")
    left.last_contribution_month = month_before(2)
    left.ended_on = month_before(1) - datetime.timedelta(days=1)
    left.save()
    response = agent_client.post(STEP1, maternity_post(left))
    assert "未在本单位参加" in response.context["form"].errors["document_number"][0]


def test_a_person_of_another_unit_is_unknown_here(agent_client, staff):
    other = Unit("别的单位")
    stranger = other.employee("陈静", "8000")
    response = agent_client.post(STEP1, maternity_post(stranger))
    assert response.context["form"].errors["document_number"] == [
        "本单位没有该证件号码的参保人员,请核对证件号码。"
    ]
    assert "别的单位" not in response.content.decode()


@pytest.mark.parametrize(
    ("days_ago", "message"),
    [(-1, "不能晚于今天"), (400, "1年内申领")],
)
def test_a_birth_in_the_future_or_over_a_year_ago_is_refused(agent_client, flat, days_ago, message):
    from django.utils import timezone

    day = timezone.localdate() - datetime.timedelta(days=days_ago)
    response = agent_client.post(STEP1, maternity_post(flat, event_date=day.isoformat()))
    assert message in response.context["form"].errors["event_date"][0]


def test_a_unit_without_bills_before_the_birth_is_told_why(agent_client, unit):
    wang = unit.employee("王芳", "8000")
    response = agent_client.post(STEP1, maternity_post(wang))
    assert "没有核定的缴费记录" in response.context["form"].non_field_errors()[0]


def test_bad_field_values_are_chinese_errors_next_to_the_fields(agent_client, flat):
    response = agent_client.post(
        STEP1, maternity_post(flat, event_date="2026-13-01", kind="twins", babies="0")
    )
    errors = response.context["form"].errors
    assert errors["event_date"] == ["请按“年-月-日”填写日期,如 2026-05-01。"]
    assert errors["kind"] == ["请从列表中选择生育类别。"]
    assert errors["babies"] == ["请从列表中选择胎儿数。"]
    assert response.context["form"]["event_date"].value() == "2026-13-01"


def test_the_amount_changed_code_is_what_the_view_looks_for(unit, staff):
    with pytest.raises(ValidationError) as caught:
        maternity_claim_submit(
            agent=unit.agent,
            idempotency_key=uuid.uuid4(),
            shown_amount=D("1.00"),
            certificate=pdf(),
            **maternity_facts(staff[0]),
        )
    assert caught.value.code == AMOUNT_CHANGED


def test_facts_refused_at_the_confirmation_go_back_to_the_first_step(agent_client, staff):
    wang = staff[0]
    page = agent_client.post(STEP1, maternity_post(wang))
    stranger = Unit("别的单位").employee("陈静", "8000")
    data = confirm_data(wang, page, document_number=stranger.person.document_number)
    response = agent_client.post(CONFIRM, data)
    assert response.templates[0].name == "contributions/benefits/maternity_form.html"
    assert "本单位没有该证件号码" in response.context["form"].errors["document_number"][0]
    assert MaternityClaim.objects.count() == 0
    assert agent_client.get(CONFIRM)["Location"] == STEP1
