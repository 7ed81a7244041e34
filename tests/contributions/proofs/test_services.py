"""参保缴费证明: codes, what a proof states, the PDF with its QR code, issuing and revoking."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contributions.common import add_months
from contributions.models import BillKind, BillStatus, ContributionProof
from contributions.proofs.codes import (
    CODE_ALPHABET,
    proof_code_display,
    proof_code_new,
    proof_code_normalise,
)
from contributions.proofs.content import proof_content_unit
from contributions.proofs.services import proof_issue, proof_revoke
from enrollment.models import Enrolment
from portal.identifiers import mask_name
from portal.models import AuditEvent
from tests.contributions.bill_helpers import create_bill
from tests.contributions.proof_helpers import (
    AUG,
    JUL,
    OCT,
    PERSON_MASKED_NAME,
    PERSON_MASKED_NUMBER,
    PERSON_NAME,
    PERSON_NUMBER,
    SEP,
    pdf_link_uris,
    pdf_qr_modules,
    pdf_text,
    proof_unit,
    qr_expected_modules,
)
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_employer

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit():
    return proof_unit()


def issue_person(unit, **kwargs):
    options = {"month_from": JUL, "month_to": OCT, "person": unit.person.person}
    options.update(kwargs)
    return proof_issue(agent=unit.agent, kind=ContributionProof.Kind.PERSON, **options)


def issue_unit(unit, **kwargs):
    options = {"month_from": JUL, "month_to": OCT}
    options.update(kwargs)
    return proof_issue(agent=unit.agent, kind=ContributionProof.Kind.UNIT, **options)


def read_pdf(proof) -> bytes:
    with proof.pdf.open("rb") as handle:
        return handle.read()


# Codes and masking -----------------------------------------------------------------------------


def test_codes_are_16_characters_without_look_alikes_and_differ():
    codes = {proof_code_new() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 16 and set(code) <= set(CODE_ALPHABET)
    assert not set("01ILO") & set(CODE_ALPHABET)


def test_code_input_is_normalised_and_displayed_in_groups():
    assert proof_code_normalise(" abcd-efgh jkmn\u2014pqrs \n") == "ABCDEFGHJKMNPQRS"
    assert proof_code_display("ABCDEFGHJKMNPQRS") == "ABCD-EFGH-JKMN-PQRS"


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("张小三", "张*三"), ("欧阳明月", "欧**月"), ("王", "*"), ("", "")],
)
def test_names_are_masked_keeping_the_first_and_last_character(name, masked):
    assert mask_name(name) == masked


# What a person's proof states ------------------------------------------------------------------


def test_person_proof_states_settled_months_with_hand_checked_figures(unit):
    proof = issue_person(unit)
    content = proof.content
    assert content["unit"] == {"name": unit.employer.name, "ss_number": unit.employer.ss_number}
    assert content["person"] == {
        "name": PERSON_MASKED_NAME,
        "document_type": "居民身份证",
        "document_number": PERSON_MASKED_NUMBER,
    }
    assert content["enrolments"] == [
        {
            "start_month": "2024-01",
            "end_month": "",
            "status": "正常",
            "insurance": [
                "110 企业职工基本养老保险",
                "210 失业保险",
                "310 职工基本医疗保险",
                "410 工伤保险",
            ],
        }
    ]
    months = {row["month"]: row for row in content["months"]}
    assert list(months) == ["2026-07", "2026-08", "2026-09", "2026-10"]
    july = months["2026-07"]
    assert july["paid"] is True
    assert [(i["label"], i["base"], i["employer"], i["personal"]) for i in july["items"]] == [
        ("养老保险", "8000.00", "1280.00", "640.00"),
        ("医疗保险(含生育)", "8000.00", "784.00", "160.00"),
        ("失业保险", "8000.00", "40.00", "40.00"),
        ("工伤保险", "8000.00", "16.00", "0.00"),
    ]
    assert (july["employer"], july["personal"], july["total"]) == ("2120.00", "840.00", "2960.00")
    # September's bill is only 已核定 and October has none: neither is stated as paid.
    for month in ("2026-09", "2026-10"):
        assert months[month] == {"month": month, "paid": False, "note": "未缴费/未到账"}
    assert (content["paid_months"], content["unpaid_months"]) == (2, 2)
    totals = content["totals"]
    assert (totals["employer"], totals["personal"], totals["total"]) == (
        "4240.00",
        "1680.00",
        "5920.00",
    )
    assert totals["by_type"][0] == {
        "type": "pension",
        "label": "养老保险",
        "employer": "2560.00",
        "personal": "1280.00",
        "total": "3840.00",
    }
    assert PERSON_NAME not in str(content) and PERSON_NUMBER not in str(content)


def test_a_settled_supplement_adds_its_amounts_and_keeps_the_regular_base(unit):
    create_bill(
        unit.employer,
        AUG,
        [unit.person],
        status=BillStatus.SETTLED,
        kind=BillKind.SUPPLEMENT,
        sequence=1,
    )
    months = {row["month"]: row for row in issue_person(unit).content["months"]}
    pension = months["2026-08"]["items"][0]
    assert (pension["base"], pension["employer"], pension["personal"]) == (
        "8000.00",
        "2560.00",
        "1280.00",
    )
    assert months["2026-08"]["total"] == "5920.00"


def test_a_former_employee_can_be_proven_with_the_end_of_the_enrolment(unit):
    leaver = create_enrolment(
        unit.employer,
        name="李离职",
        status=Enrolment.Status.TERMINATED,
        start_month=datetime.date(2023, 3, 1),
    )
    leaver.last_contribution_month = datetime.date(2026, 6, 1)
    leaver.save()
    proof = issue_person(unit, person=leaver.person)
    assert proof.content["enrolments"][0]["end_month"] == "2026-06"
    assert proof.content["enrolments"][0]["status"] == "终止"
    assert proof.content["paid_months"] == 0


def test_a_person_of_another_unit_is_refused_and_nothing_is_written(unit):
    stranger = create_enrolment(create_employer(), name="外单位人")
    with pytest.raises(ValidationError) as caught:
        issue_person(unit, person=stranger.person)
    assert "本单位没有找到该人员的参保登记" in str(caught.value.message_dict["person_query"])
    assert not ContributionProof.objects.exists()


def test_a_pending_enrolment_is_not_proven(unit):
    pending = create_enrolment(unit.employer, name="待审核", status=Enrolment.Status.PENDING)
    with pytest.raises(ValidationError):
        issue_person(unit, person=pending.person)


def test_another_units_settled_bills_are_not_stated(unit):
    """The person's contributions through another unit are that unit's to prove."""
    other = create_employer()
    earlier = Enrolment.objects.create(
        person=unit.person.person,
        employer=other,
        employment_form=unit.person.employment_form,
        insurance_codes=["110"],
        start_month=datetime.date(2020, 1, 1),
        contribution_base=unit.person.contribution_base,
        status=Enrolment.Status.TERMINATED,
    )
    create_bill(other, JUL, [earlier], status=BillStatus.SETTLED)
    content = issue_person(unit).content
    assert content["months"][0]["items"][0]["employer"] == "1280.00"
    assert len(content["enrolments"]) == 1
    assert issue_unit(unit).content["months"][0]["items"][0]["persons"] == 3


# What a unit's proof states --------------------------------------------------------------------


def test_unit_proof_sums_the_units_settled_lines(unit):
    content = issue_unit(unit).content
    assert content["unit"]["insured_now"] == 3
    assert "person" not in content
    july = content["months"][0]
    assert july["month"] == "2026-07" and july["paid"]
    assert [
        (i["label"], i["persons"], i["base"], i["employer"], i["personal"]) for i in july["items"]
    ] == [
        ("养老保险", 3, "24000.00", "3840.00", "1920.00"),
        ("医疗保险(含生育)", 3, "24000.00", "2352.00", "480.00"),
        ("失业保险", 3, "24000.00", "120.00", "120.00"),
        ("工伤保险", 3, "24000.00", "48.00", "0.00"),
    ]
    assert (july["employer"], july["personal"], july["total"]) == ("6360.00", "2520.00", "8880.00")
    assert [m["paid"] for m in content["months"]] == [True, True, False, False]
    totals = content["totals"]
    assert (totals["employer"], totals["personal"], totals["total"]) == (
        "12720.00",
        "5040.00",
        "17760.00",
    )


def test_unit_content_takes_a_constant_number_of_queries(unit, django_assert_num_queries):
    with django_assert_num_queries(2):
        proof_content_unit(employer=unit.employer, month_from=JUL, month_to=OCT)
    create_bill(unit.employer, OCT, unit.staff[:1], status=BillStatus.SETTLED)
    with django_assert_num_queries(2):
        content = proof_content_unit(
            employer=unit.employer, month_from=add_months(JUL, -12), month_to=OCT
        )
    assert content["paid_months"] == 3


# Months ----------------------------------------------------------------------------------------


def this_month():
    return timezone.localdate().replace(day=1)


def test_a_future_month_is_refused(unit):
    with pytest.raises(ValidationError) as caught:
        issue_unit(unit, month_to=add_months(this_month(), 1))
    assert "不能选择未来的月份" in caught.value.message_dict["month_to"][0]
    assert not ContributionProof.objects.exists()


def test_the_current_month_is_allowed(unit):
    proof = issue_unit(unit, month_to=this_month())
    assert proof.content["month_to"] == f"{this_month():%Y-%m}"


def test_a_start_after_the_end_is_refused(unit):
    with pytest.raises(ValidationError) as caught:
        issue_unit(unit, month_from=SEP, month_to=JUL)
    assert caught.value.message_dict["month_from"] == ["起始年月不能晚于截止年月。"]


def test_a_range_over_ten_years_is_refused(unit):
    with pytest.raises(ValidationError) as caught:
        issue_unit(unit, month_from=add_months(JUL, -120), month_to=JUL)
    assert "最多包含 120 个月" in caught.value.message_dict["month_to"][0]
    assert (
        issue_unit(unit, month_from=add_months(JUL, -119), month_to=JUL).content["unpaid_months"]
        == 119
    )


# The PDF ---------------------------------------------------------------------------------------


def test_person_pdf_states_the_proof_with_full_name_and_masked_number(unit):
    proof = issue_person(unit)
    text = pdf_text(read_pdf(proof))
    assert "参保缴费证明" in text
    assert unit.employer.name in text and unit.employer.ss_number in text
    assert proof_code_display(proof.code) in text
    assert PERSON_NAME in text and PERSON_MASKED_NUMBER in text
    assert PERSON_NUMBER not in text
    for figure in ("8,000.00", "1,280.00", "1,920.00", "4,240.00", "1,680.00", "5,920.00"):
        assert figure in text, figure
    assert text.count("未缴费/未到账") >= 2
    assert "本证明可通过扫描二维码或访问" in text and "输入验证码核验真伪" in text
    issued = timezone.localtime(proof.created_at).strftime("%Y年%m月%d日 %H:%M")
    assert issued in text


def test_unit_pdf_states_the_units_figures(unit):
    proof = issue_unit(unit)
    text = pdf_text(read_pdf(proof))
    assert "参保缴费证明" in text and unit.employer.name in text
    assert proof_code_display(proof.code) in text
    for figure in ("24,000.00", "3,840.00", "6,360.00", "12,720.00", "17,760.00"):
        assert figure in text, figure


def test_pdf_qr_code_holds_the_check_address_of_the_code(unit, settings):
    settings.PORTAL_PUBLIC_BASE_URL = "https://sbwt.example.gov.cn"
    proof = issue_person(unit)
    data = read_pdf(proof)
    url = f"https://sbwt.example.gov.cn/proof/{proof.code}/"
    assert pdf_link_uris(data) == [url]
    modules = pdf_qr_modules(data)
    assert len(modules) > 300
    assert modules == qr_expected_modules(url)
    assert "https://sbwt.example.gov.cn/proof/" in pdf_text(data)


def test_pdf_is_stored_under_a_random_name_not_the_code(unit):
    proof = issue_person(unit)
    assert proof.pdf.name.startswith(f"proofs/{proof.created_at:%Y}/")
    assert proof.code not in proof.pdf.name and PERSON_NAME not in proof.pdf.name


# Issue and revoke: audited ---------------------------------------------------------------------


def test_issue_and_revoke_are_audited_without_the_code(unit):
    proof = issue_person(unit)
    proof_revoke(agent=unit.agent, proof_id=proof.pk)
    events = list(
        AuditEvent.objects.filter(
            object_type="contributions.ContributionProof", object_id=str(proof.pk)
        )
        .order_by("pk")
        .values_list("action", "employer_id", "details")
    )
    assert [e[0] for e in events] == ["contributions.proof_issued", "contributions.proof_revoked"]
    assert all(e[1] == unit.employer.pk for e in events)
    assert proof.code not in str(events) and PERSON_NAME not in str(events)
    proof.refresh_from_db()
    assert proof.revoked_at is not None


def test_revoking_twice_says_when_and_changes_nothing(unit):
    proof = issue_unit(unit)
    first = proof_revoke(agent=unit.agent, proof_id=proof.pk).revoked_at
    with pytest.raises(ValidationError) as caught:
        proof_revoke(agent=unit.agent, proof_id=proof.pk)
    assert "已于" in caught.value.messages[0] and "作废" in caught.value.messages[0]
    proof.refresh_from_db()
    assert proof.revoked_at == first
    assert AuditEvent.objects.filter(action="contributions.proof_revoked").count() == 1


def test_another_unit_cannot_revoke(unit):
    from django.http import Http404

    proof = issue_unit(unit)
    other = proof_unit(staff=0, period=unit.period)
    with pytest.raises(Http404):
        proof_revoke(agent=other.agent, proof_id=proof.pk)
    proof.refresh_from_db()
    assert proof.revoked_at is None


def test_issuing_reads_the_unit_agent_and_person_once(unit):
    """full_clean does not read again the rows proof_issue loaded (the unit, the agent, the
    person) nor the code it found unused: the content's queries, the code check, the region,
    then the insert and its audit row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    unit.agent.employer.region  # noqa: B018 — loaded, as the request's agent has it
    with CaptureQueriesContext(connection) as issued:
        proof = issue_unit(unit)
    tables = [query["sql"] for query in issued.captured_queries]
    assert proof.pk and len(tables) == 7
    assert not any('FROM "employers_employer"' in sql for sql in tables)
    assert not any('FROM "employers_agent"' in sql for sql in tables)
    assert sum('FROM "contributions_contributionproof"' in sql for sql in tables) == 1
