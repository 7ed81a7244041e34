"""The clerk's 增员 queue: columns, search, evidence with attachment and PDF links, decisions."""

import pytest
from django.urls import reverse

from enrollment.add.services import add_employee_filing_submit
from enrollment.models import Enrolment
from portal.models import Region
from tests.conftest import otp_verify
from tests.enrollment.add_helpers import service_fields, unit_with_agent
from tests.factories import create_clerk

pytestmark = pytest.mark.django_db


@pytest.fixture
def filing():
    _employer, agent = unit_with_agent()
    return add_employee_filing_submit(agent=agent, **service_fields(name="赵六"))


@pytest.fixture
def clerk_client(client):
    return otp_verify(client, create_clerk())


def test_queue_lists_and_searches_filings(clerk_client, filing):
    url = reverse("admin:enrollment_addemployeefiling_changelist")
    page = clerk_client.get(url).content.decode()
    assert filing.reference in page and "赵六" in page
    for term in (filing.reference, filing.employer.uscc, filing.employer.ss_number):
        assert filing.reference in clerk_client.get(url, {"q": term}).content.decode()
    assert filing.reference not in clerk_client.get(url, {"q": "不存在的单位"}).content.decode()


def test_detail_shows_evidence_with_masked_number_and_file_links(clerk_client, filing):
    url = reverse("admin:enrollment_addemployeefiling_change", args=[filing.pk])
    page = clerk_client.get(url).content.decode()
    person = filing.enrolment.person
    assert person.masked_document_number in page
    assert person.document_number not in page
    attachment = filing.attachments.first()
    attachment_url = reverse(
        "admin:enrollment_addemployeefiling_attachment", args=[filing.pk, attachment.pk]
    )
    pdf_url = reverse("admin:enrollment_addemployeefiling_form", args=[filing.pk])
    assert attachment_url in page and pdf_url in page
    assert clerk_client.get(attachment_url).status_code == 200
    pdf = clerk_client.get(pdf_url)
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF-")


def test_clerk_of_another_region_cannot_open_the_files(client, filing):
    other = Region.objects.create(code="310000", name="上海市(测试)")
    otp_verify(client, create_clerk(username="sh_clerk", regions=[other]))
    attachment = filing.attachments.first()
    urls = [
        reverse("admin:enrollment_addemployeefiling_attachment", args=[filing.pk, attachment.pk]),
        reverse("admin:enrollment_addemployeefiling_form", args=[filing.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404


def test_agent_cannot_reach_the_admin_file_views(client, filing):
    client.force_login(filing.submitted_by.user)
    url = reverse("admin:enrollment_addemployeefiling_form", args=[filing.pk])
    assert client.get(url).status_code == 302  # to the admin login


def test_approval_in_admin_makes_enrolment_active(clerk_client, filing):
    url = reverse("admin:enrollment_addemployeefiling_decide", args=[filing.pk])
    clerk_client.post(url, {"approve": "1"})
    filing.refresh_from_db()
    assert filing.review_state == "approved"
    assert filing.enrolment.status == Enrolment.Status.ACTIVE


def test_person_and_enrolment_admin_are_read_only_and_masked(clerk_client, admin_user, filing):
    from tests.conftest import otp_verify as verify

    client = verify(clerk_client, admin_user)
    person = filing.enrolment.person
    page = client.get(reverse("admin:enrollment_person_changelist")).content.decode()
    assert person.masked_document_number in page and person.document_number not in page
    page = client.get(reverse("admin:enrollment_enrolment_change", args=[filing.enrolment_id]))
    assert page.status_code == 200 and person.document_number not in page.content.decode()
    assert client.get(reverse("admin:enrollment_person_add")).status_code == 403


def test_reference_data_is_editable(admin_client):
    for name in ("employmentform", "couplingrule", "regionenrolmentsettings"):
        assert admin_client.get(reverse(f"admin:enrollment_{name}_add")).status_code == 200
