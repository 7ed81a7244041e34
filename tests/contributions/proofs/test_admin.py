"""The clerk's read-only screen of issued 参保缴费证明."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from contributions.models import ContributionProof
from contributions.proofs.codes import proof_code_display
from contributions.proofs.services import proof_issue
from portal.models import AuditEvent, Region
from tests.conftest import otp_verify
from tests.contributions.proof_helpers import (
    PERSON_MASKED_NAME,
    PERSON_NAME,
    PERSON_NUMBER,
    proof_unit,
)
from tests.factories import create_clerk

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:contributions_contributionproof_changelist")


@pytest.fixture
def proof():
    unit = proof_unit()
    return proof_issue(
        agent=unit.agent,
        kind=ContributionProof.Kind.PERSON,
        person=unit.person.person,
        month_from=datetime.date(2026, 7, 1),
        month_to=datetime.date(2026, 8, 1),
    )


@pytest.fixture
def clerk_client(client):
    return otp_verify(client, create_clerk())


def body(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_clerk_sees_proofs_masked_and_cannot_change_them(clerk_client, proof):
    page = body(clerk_client.get(CHANGELIST))
    assert proof_code_display(proof.code) in page and PERSON_MASKED_NAME in page
    assert PERSON_NAME not in page and PERSON_NUMBER not in page
    change = reverse("admin:contributions_contributionproof_change", args=[proof.pk])
    page = body(clerk_client.get(change))
    # What the proof states, as the public check page shows it: no raw JSON.
    assert "1,280.00" in page and PERSON_NAME not in page
    assert '"kind":' not in page and "养老保险" in page
    assert 'name="_save"' not in page
    assert clerk_client.post(change, {}).status_code == 403
    add = reverse("admin:contributions_contributionproof_add")
    assert clerk_client.get(add).status_code == 403


def test_clerk_finds_a_proof_by_its_code_as_typed(clerk_client, proof):
    typed = proof_code_display(proof.code).lower()
    response = clerk_client.get(CHANGELIST, {"q": typed})
    assert response.context["cl"].result_count == 1


def test_clerk_downloads_the_pdf_audited(clerk_client, proof):
    url = reverse("admin:contributions_contributionproof_pdf", args=[proof.pk])
    response = clerk_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert AuditEvent.objects.filter(
        action="contributions.proof_viewed_by_clerk", object_id=str(proof.pk)
    ).exists()


def test_a_clerk_of_another_region_does_not_see_the_proof(client, proof):
    elsewhere = Region.objects.create(code="310000", name="上海市(测试)")
    otp_verify(client, create_clerk("sh-clerk", regions=[elsewhere]))
    assert client.get(CHANGELIST).context["cl"].result_count == 0
    url = reverse("admin:contributions_contributionproof_pdf", args=[proof.pk])
    assert client.get(url).status_code == 404
