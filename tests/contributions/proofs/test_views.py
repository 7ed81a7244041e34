"""打印证明 pages for agents: issue, list, detail, PDF download, revoke; roles and other units."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contributions.common import add_months
from contributions.models import ContributionProof
from contributions.proofs.codes import proof_code_display
from contributions.proofs.services import proof_issue
from employers.models import Role
from portal.models import AuditEvent
from tests.contributions.proof_helpers import (
    PERSON_MASKED_NUMBER,
    PERSON_NAME,
    PERSON_NUMBER,
    pdf_link_uris,
    pdf_text,
    proof_unit,
)
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

LIST = reverse("contributions:proof_list")
ISSUE = reverse("contributions:proof_issue")


@pytest.fixture
def unit():
    return proof_unit()


@pytest.fixture
def agent_client(client, unit):
    client.force_login(unit.agent.user)
    return client


def post_issue(client, **data):
    form = {"kind": "person", "month_from": "2026-07", "month_to": "2026-10"}
    form.update(data)
    return client.post(ISSUE, form)


def detail_url(proof):
    return reverse("contributions:proof_detail", args=[proof.pk])


def pdf_url(proof):
    return reverse("contributions:proof_pdf", args=[proof.pk])


def body(response) -> str:
    return response.content.decode()


# Roles ---------------------------------------------------------------------------------------


def test_a_queries_only_agent_issues_and_downloads_a_unit_proof(agent_client, unit):
    assert agent_client.get(ISSUE).status_code == 200
    response = post_issue(agent_client, kind="unit")
    proof = ContributionProof.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(proof)
    assert proof.kind == "unit" and proof.employer == unit.employer
    assert proof.created_by == unit.agent
    page = body(agent_client.get(detail_url(proof)))
    assert proof_code_display(proof.code) in page
    assert f"http://testserver/proof/{proof.code}/" in page
    assert "12,720.00" in page and "未缴费/未到账" in page
    download = agent_client.get(pdf_url(proof))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert "no-store" in download["Cache-Control"]
    data = b"".join(download.streaming_content)
    assert unit.employer.name in pdf_text(data)
    # Issued through a page, the QR code holds the address the agent reached the portal at.
    assert pdf_link_uris(data) == [f"http://testserver/proof/{proof.code}/"]
    assert AuditEvent.objects.filter(
        action="contributions.proof_downloaded", object_id=str(proof.pk)
    ).exists()


def test_an_enrolment_only_agent_is_refused_every_proof_page(client, unit):
    proof = proof_issue(
        agent=unit.agent,
        kind="unit",
        month_from=datetime.date(2026, 7, 1),
        month_to=datetime.date(2026, 8, 1),
    )
    enrolment_agent = create_agent(unit.employer, roles=[Role.ENROLMENT], name="增减员经办人")
    client.force_login(enrolment_agent.user)
    for url in (LIST, ISSUE, detail_url(proof), pdf_url(proof)):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "信息查询员" in body(response)
    response = client.post(reverse("contributions:proof_revoke", args=[proof.pk]))
    assert response.status_code == 403
    assert post_issue(client, kind="unit").status_code == 403
    proof.refresh_from_db()
    assert proof.revoked_at is None and ContributionProof.objects.count() == 1


def test_a_visitor_is_sent_to_the_login_page(client):
    response = client.get(LIST)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_menu_links_to_the_proof_list(agent_client):
    page = body(agent_client.get(reverse("home")))
    assert f'href="{LIST}"' in page


# Person proofs -------------------------------------------------------------------------------


def test_a_person_is_found_by_the_full_document_number_in_lower_case(agent_client, unit):
    response = post_issue(agent_client, person_query=PERSON_NUMBER.lower())
    assert response.status_code == 302
    proof = ContributionProof.objects.get()
    assert proof.person == unit.person.person and proof.kind == "person"
    page = body(agent_client.get(detail_url(proof)))
    assert PERSON_NAME in page and PERSON_MASKED_NUMBER in page
    assert PERSON_NUMBER not in page


def test_a_person_is_found_by_a_unique_name(agent_client, unit):
    assert post_issue(agent_client, person_query="欧阳明月").status_code == 302
    assert ContributionProof.objects.get().person == unit.person.person


def test_several_matches_ask_to_choose_then_the_choice_is_issued(agent_client, unit):
    twin = create_enrolment(unit.employer, name="欧阳明")
    response = post_issue(agent_client, person_query="欧阳")
    page = body(response)
    assert response.status_code == 200
    assert "找到 2 名符合条件的人员" in page
    assert f'value="{twin.person.pk}"' in page and f'value="{unit.person.person.pk}"' in page
    assert twin.person.masked_document_number in page
    assert not ContributionProof.objects.exists()
    response = post_issue(agent_client, person_query="欧阳", person=twin.person.pk)
    assert response.status_code == 302
    assert ContributionProof.objects.get().person == twin.person


def test_another_units_person_is_not_found_and_nothing_is_issued(agent_client):
    stranger = create_enrolment(create_employer(), name="外单位人")
    for query in (stranger.person.document_number, "外单位人"):
        response = post_issue(agent_client, person_query=query)
        assert response.status_code == 200
        assert "本单位没有找到该人员的参保登记" in body(response)
    # A person id of another unit sent with a query of the unit's own person is ignored.
    response = post_issue(agent_client, person_query="欧阳明月", person=stranger.person.pk)
    assert ContributionProof.objects.get().person.name == PERSON_NAME
    assert response.status_code == 302


def test_a_person_proof_needs_a_person(agent_client):
    response = post_issue(agent_client, person_query="")
    assert "请填写要开具证明的人员的姓名或完整证件号码" in body(response)
    assert not ContributionProof.objects.exists()


# Bad months ----------------------------------------------------------------------------------


def test_a_future_month_is_refused_next_to_the_field_with_the_input_kept(agent_client):
    future = f"{add_months(timezone.localdate().replace(day=1), 1):%Y-%m}"
    response = post_issue(agent_client, kind="unit", month_to=future)
    page = body(response)
    assert response.status_code == 200
    assert "不能选择未来的月份" in page
    assert 'id="error_1_id_month_to"' in page or "invalid-feedback" in page
    assert f'value="{future}"' in page and 'value="2026-07"' in page
    assert not ContributionProof.objects.exists()


def test_a_start_after_the_end_is_refused(agent_client):
    response = post_issue(agent_client, kind="unit", month_from="2026-10", month_to="2026-07")
    assert "起始年月不能晚于截止年月" in body(response)
    assert not ContributionProof.objects.exists()


def test_a_month_that_is_not_a_month_is_refused_and_kept(agent_client):
    response = post_issue(agent_client, kind="unit", month_from="abc")
    page = body(response)
    assert "请按“年-月”填写" in page and 'value="abc"' in page
    assert not ContributionProof.objects.exists()


# Another unit's proofs -----------------------------------------------------------------------


def test_another_units_proof_is_404_by_url(agent_client, unit):
    other = proof_unit(staff=0, period=unit.period)
    proof = proof_issue(
        agent=other.agent,
        kind="unit",
        month_from=datetime.date(2026, 7, 1),
        month_to=datetime.date(2026, 8, 1),
    )
    assert agent_client.get(detail_url(proof)).status_code == 404
    assert agent_client.get(pdf_url(proof)).status_code == 404
    revoke = reverse("contributions:proof_revoke", args=[proof.pk])
    assert agent_client.post(revoke).status_code == 404
    assert agent_client.get(revoke).status_code == 404
    proof.refresh_from_db()
    assert proof.revoked_at is None
    assert other.employer.name not in body(agent_client.get(LIST))


# Revoke --------------------------------------------------------------------------------------


def test_revoke_marks_the_proof_and_stops_downloads(agent_client, unit):
    post_issue(agent_client, kind="unit")
    proof = ContributionProof.objects.get()
    revoke = reverse("contributions:proof_revoke", args=[proof.pk])
    shown = agent_client.get(revoke)
    assert shown.status_code == 302 and shown["Location"] == detail_url(proof)
    proof.refresh_from_db()
    assert proof.revoked_at is None
    response = agent_client.post(revoke, follow=True)
    assert "证明已作废" in body(response)
    proof.refresh_from_db()
    assert proof.revoked_at is not None
    response = agent_client.get(pdf_url(proof), follow=True)
    assert "该证明已作废,不再提供下载" in body(response)
    again = agent_client.post(revoke, follow=True)
    assert "作废" in body(again)
    assert AuditEvent.objects.filter(action="contributions.proof_revoked").count() == 1
    assert "已作废" in body(agent_client.get(LIST))


# The list ------------------------------------------------------------------------------------


def issue_many(unit, count):
    for _ in range(count):
        proof_issue(
            agent=unit.agent,
            kind="person",
            person=unit.person.person,
            month_from=datetime.date(2026, 7, 1),
            month_to=datetime.date(2026, 7, 1),
        )


def test_the_list_shows_the_units_proofs_in_constant_queries(agent_client, unit):
    issue_many(unit, 2)
    agent_client.get(LIST)  # the session's activity stamp is refreshed now, not measured below
    with CaptureQueriesContext(connection) as few:
        response = agent_client.get(LIST)
    assert body(response).count(PERSON_NAME) == 2
    issue_many(unit, 6)
    agent_client.get(LIST)
    with CaptureQueriesContext(connection) as many:
        response = agent_client.get(LIST)
    assert body(response).count(PERSON_NAME) == 8
    assert len(many) == len(few)


def test_the_list_has_download_links(agent_client, unit):
    issue_many(unit, 1)
    proof = ContributionProof.objects.get()
    assert f'href="{pdf_url(proof)}"' in body(agent_client.get(LIST))
