"""The 缴费通知单 / 核定单 is an official document: Chinese in any page language, the agency's
name under its seal, and a PAdES signature that pyHanko validates."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from pyhanko.sign.validation.status import SignatureCoverageLevel

from contributions.payments.services import bill_confirm
from portal.pdf_signing import DEV_SIGNER_NAME
from tests.contributions.collection.helpers import tax_unit
from tests.contributions.proof_helpers import pdf_text
from tests.portal.pdf_signing_helpers import pdf_images, red_share, signature_status

pytestmark = pytest.mark.django_db

ISSUER = "演示市社会保险事业管理中心"


@pytest.fixture
def notice(client, settings, django_capture_on_commit_callbacks):
    settings.COLLECTION_ADAPTER = "sandbox"
    settings.PROOF_ISSUER_NAME = ISSUER
    employer, agent, bill = tax_unit()
    with django_capture_on_commit_callbacks(execute=True):
        bill_confirm(agent=agent, bill=bill)
    client.force_login(agent.user)

    def download(**headers) -> bytes:
        url = reverse("contributions:bill_notice_pdf", args=[bill.reference])
        response = client.get(url, **headers)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        return response.content

    return employer, bill, client, download


def test_the_notice_is_signed_by_the_agency_and_validates_with_pyhanko(notice):
    _, _, _, download = notice
    data = download()

    status = signature_status(data)

    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.signing_cert.subject.native["common_name"] == DEV_SIGNER_NAME
    # Any change after signing breaks it.
    tampered = data.replace(b"/Title", b"/Titlf", 1)
    assert tampered != data
    assert not signature_status(tampered).bottom_line


def test_the_notice_carries_the_issuer_under_its_seal(notice):
    employer, bill, _, download = notice
    data = download()

    compact = "".join(pdf_text(data).split())
    assert f"出具机构:{ISSUER}" in compact and "打印日期" in compact
    assert bill.reference in compact and employer.name in compact
    seals = [image for image in pdf_images(data) if image.width >= 500]
    assert len(seals) == 1 and red_share(seals[0]) > 0.05


def test_the_notice_is_chinese_when_the_agent_browses_in_english(notice):
    _, _, client, download = notice
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("contributions:bill_list")).content.decode()
    assert 'lang="en"' in page  # the page does follow the agent's language

    compact = "".join(pdf_text(download()).split())

    assert "养老保险" in compact and "Pension" not in compact  # an insurance type's label
    assert "已确认" in compact and "Confirmed" not in compact  # the bill's status
    assert "待缴款" in compact  # the collection order's status
    assert signature_status(download()).bottom_line
