"""参保人员查询: search by name or full ID number, the person's page with 个人权益记录, its PDF;
roles, other units, query counts."""

from __future__ import annotations

import datetime
from urllib.parse import unquote

import pytest
from django.urls import reverse
from django.utils import timezone
from pyhanko.sign.validation.status import SignatureCoverageLevel

from contributions.models import BillStatus, ContributionBase
from employers.models import Role
from enrollment.models import Enrolment
from portal.models import AuditEvent
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.contributions.proof_helpers import pdf_text
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent
from tests.portal.pdf_signing_helpers import pdf_images, red_share, signature_status
from tests.portal.test_csp import inline_code

pytestmark = pytest.mark.django_db

SEARCH = reverse("contributions:person_search")
JUL, AUG, SEP, OCT = (datetime.date(2026, month, 1) for month in (7, 8, 9, 10))
NUMBER = "11010519491231002X"  # GB 11643's own example
MASKED = "110105********002X"


@pytest.fixture
def unit():
    """周明 enrolled from 2026-08 (July settled for the others only; August and September
    settled, October assessed); 周明桂 and 王周明 in the same unit; 周明 of another unit."""
    employer, admin, period, staff = create_unit_with_staff(1, base="8000.00")
    zhou = create_enrolment(
        employer, name="周明", document_number=NUMBER, start_month=datetime.date(2026, 8, 1)
    )
    ContributionBase.objects.create(enrolment=zhou, period=period, base="8000.00")
    create_bill(employer, JUL, staff, status=BillStatus.SETTLED)
    create_bill(employer, AUG, [*staff, zhou], status=BillStatus.SETTLED)
    create_bill(employer, SEP, [*staff, zhou], status=BillStatus.SETTLED)
    create_bill(employer, OCT, [*staff, zhou], status=BillStatus.ASSESSED)
    gui = create_enrolment(employer, name="周明桂")
    create_enrolment(employer, name="王周明")
    other, _other_admin, _p, _staff = create_unit_with_staff(0, period=period)
    stranger = create_enrolment(other, name="周明")
    return {
        "employer": employer,
        "admin": admin,
        "agent": create_agent(employer, roles=[Role.QUERIES], name="查询员"),
        "zhou": zhou.person,
        "gui": gui.person,
        "stranger": stranger.person,
    }


@pytest.fixture
def agent_client(client, unit):
    client.force_login(unit["agent"].user)
    return client


def detail_url(person, **query):
    url = reverse("contributions:person_detail", args=[person.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def pdf_url(person, **query):
    url = reverse("contributions:person_rights_pdf", args=[person.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def search(client, q):
    """POST the search; return (the redirect's Location, the results page)."""
    response = client.post(SEARCH, {"q": q})
    assert response.status_code == 302
    return response["Location"], client.get(response["Location"])


def found_ids(response) -> list[int]:
    return [match.person.pk for match in response.context["result"].matches]


# Roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["queries", "unit_admin"])
def test_the_queries_agent_and_the_unit_admin_see_every_page(client, unit, who):
    agent = unit["agent"] if who == "queries" else unit["admin"]
    client.force_login(agent.user)
    person = unit["zhou"]
    for url in (SEARCH, detail_url(person)):
        response = client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response.content.decode()) == []
    assert client.get(pdf_url(person)).status_code == 200


@pytest.mark.parametrize("role", [Role.ENROLMENT, Role.CONTRIBUTIONS])
def test_other_roles_are_refused_every_page(client, unit, role):
    agent = create_agent(unit["employer"], roles=[role], name="其他经办人")
    client.force_login(agent.user)
    person = unit["zhou"]
    for url in (SEARCH, detail_url(person), pdf_url(person)):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "信息查询员" in response.content.decode()
    assert client.post(SEARCH, {"q": "周明"}).status_code == 403
    assert not AuditEvent.objects.filter(action="contributions.person_rights_printed").exists()


def test_the_menu_of_queries_links_to_the_search(agent_client):
    page = agent_client.get(reverse("contributions:record_list")).content.decode()
    assert f'href="{SEARCH}"' in page


# Search --------------------------------------------------------------------------------------


def test_an_empty_search_shows_the_form_and_a_hint(agent_client):
    response = agent_client.get(SEARCH)
    page = response.content.decode()
    assert response.context["result"] is None
    assert "data-hint" in page and "<table" not in page


def test_a_name_lists_every_person_of_the_unit_it_begins(agent_client, unit):
    location, response = search(agent_client, "周明")
    assert "?s=" in location and "周明" not in unquote(location)
    # 周明 and 周明桂 (in name order), not 王周明 (contains it) nor the other unit's 周明.
    assert found_ids(response) == [unit["zhou"].pk, unit["gui"].pk]
    page = response.content.decode()
    assert MASKED in page and NUMBER not in page
    assert detail_url(unit["zhou"]) in page and detail_url(unit["gui"]) in page
    assert "请选择要查看的人员" in page


def test_a_full_name_finds_that_person(agent_client, unit):
    _location, response = search(agent_client, "周明桂")
    assert found_ids(response) == [unit["gui"].pk]


def test_a_full_id_number_finds_the_person_and_stays_out_of_the_address(agent_client, unit):
    location, response = search(agent_client, NUMBER.lower())
    assert "?s=" in location
    assert NUMBER not in location.upper() and "1949" not in location
    assert found_ids(response) == [unit["zhou"].pk]
    match = response.context["result"].matches[0]
    assert match.enrolment.status == Enrolment.Status.ACTIVE
    assert match.enrolment.start_month == AUG


def test_nothing_found_says_so(agent_client, unit):
    _location, response = search(agent_client, "李四")
    assert found_ids(response) == []
    assert "本单位没有姓名为“李四”或以“李四”开头的参保人员" in response.content.decode()
    # Part of a number, and another unit's person's full number: the same answer, nothing more.
    for number in ("110105", unit["stranger"].document_number):
        _location, response = search(agent_client, number)
        assert found_ids(response) == []
        assert "本单位没有证件号码为所输入号码的参保人员" in response.content.decode()


@pytest.mark.parametrize("count", [1, 20])
def test_the_result_list_takes_the_same_queries_for_1_or_20_persons(
    agent_client, unit, count, django_assert_num_queries
):
    for index in range(count):
        create_enrolment(unit["employer"], name=f"赵云{index:02d}")
    location, _response = search(agent_client, "赵云")
    # Session, user, agent with unit; the persons; their enrolments with the unit; the header's
    # unread messages.
    with django_assert_num_queries(6):
        response = agent_client.get(location)
    assert len(found_ids(response)) == count


# The person's page ---------------------------------------------------------------------------


def test_the_page_shows_the_person_and_the_enrolment_in_this_unit(agent_client, unit):
    response = agent_client.get(detail_url(unit["zhou"], year=2026))
    page = response.content.decode()
    assert "周明" in page and MASKED in page and NUMBER not in page
    assert "1990-01" in page and "本市城镇" in page
    rights = response.context["rights"]
    [row] = rights.enrolments
    assert row.enrolment.start_month == AUG and row.end_month is None
    assert "110 企业职工基本养老保险" in row.insurance_labels


def test_months_per_type_count_the_settled_lines_of_the_unit_only(agent_client, unit):
    rights = agent_client.get(detail_url(unit["zhou"], year=2026)).context["rights"]
    summary = {item.insurance_type: item for item in rights.summary}
    assert set(summary) == {"pension", "medical", "unemployment", "work_injury"}
    for item in summary.values():
        # August and September settled; October only assessed.
        assert (item.months, item.first, item.last) == (2, AUG, SEP)


def test_months_before_the_enrolment_are_not_unpaid(agent_client, unit):
    rights = agent_client.get(detail_url(unit["zhou"], year=2026)).context["rights"]
    states = {row.month: {cell.state for cell in row.cells} for row in rights.months}
    for month in range(1, 8):
        assert states[datetime.date(2026, month, 1)] == {"not_insured"}
    assert states[AUG] == states[SEP] == {"paid"}
    assert states[OCT] == {"unpaid"}


def test_an_ended_enrolment_is_not_unpaid_after_its_last_month(agent_client, unit):
    enrolment = Enrolment.objects.get(person=unit["zhou"])
    enrolment.status = Enrolment.Status.TERMINATED
    enrolment.last_contribution_month = SEP
    enrolment.save()
    rights = agent_client.get(detail_url(unit["zhou"], year=2026)).context["rights"]
    states = {row.month: {cell.state for cell in row.cells} for row in rights.months}
    assert states[SEP] == {"paid"} and states[OCT] == {"not_insured"}
    assert rights.enrolments[0].end_month == SEP


def test_the_default_year_is_this_year(agent_client, unit):
    rights = agent_client.get(detail_url(unit["zhou"])).context["rights"]
    assert rights.year == timezone.localdate().year
    # A wrong year is no year.
    rights = agent_client.get(detail_url(unit["zhou"], year="x")).context["rights"]
    assert rights.year == timezone.localdate().year


def test_another_units_person_and_a_missing_one_are_not_found(agent_client, unit):
    for person_id in (unit["stranger"].pk, 999999):
        for name in ("contributions:person_detail", "contributions:person_rights_pdf"):
            assert agent_client.get(reverse(name, args=[person_id])).status_code == 404
    assert not AuditEvent.objects.filter(action="contributions.person_rights_printed").exists()


# The PDF -------------------------------------------------------------------------------------


def test_the_pdf_holds_the_record_and_the_print_is_audited(agent_client, unit):
    person = unit["zhou"]
    response = agent_client.get(pdf_url(person, year=2026))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    disposition = unquote(response["Content-Disposition"])
    today = timezone.localdate().strftime("%Y%m%d")
    assert disposition.startswith("attachment;")
    assert f"个人权益记录-{person.pk}-{today}.pdf" in disposition
    text = pdf_text(response.content)
    assert "个人权益记录" in text and "周明" in text and MASKED in text
    assert NUMBER not in text and unit["employer"].name in text
    assert "2026年逐月缴费情况" in text
    event = AuditEvent.objects.get(action="contributions.person_rights_printed")
    assert event.object_id == str(person.pk) and event.employer_id == unit["employer"].pk
    assert event.actor == unit["agent"].user and event.details == {"year": 2026}


def test_the_pdf_is_sealed_and_signed_by_the_agency(agent_client, unit, settings):
    region = unit["employer"].region.code
    settings.PROOF_ISSUER_NAMES = {region: "演示市某区社会保险事业管理中心"}

    data = agent_client.get(pdf_url(unit["zhou"], year=2026)).content

    assert "出具机构:演示市某区社会保险事业管理中心" in pdf_text(data)
    seals = [image for image in pdf_images(data) if image.width >= 500]
    assert len(seals) == 1 and red_share(seals[0]) > 0.05
    status = signature_status(data)
    assert status.bottom_line and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
