"""Proofs a third party can trust offline: the agency's name and seal, and a PAdES signature."""

from __future__ import annotations

import pytest
from django.urls import reverse
from pyhanko.sign.validation.status import SignatureCoverageLevel

from contributions.models import ContributionProof
from contributions.proofs.services import proof_issue
from portal.pdf_signing import DEV_SIGNER_NAME
from tests.contributions.proof_helpers import JUL, OCT, PERSON_NAME, pdf_text, proof_unit
from tests.portal.pdf_signing_helpers import pdf_images, red_share, signature_status

pytestmark = pytest.mark.django_db

ISSUER = "演示市社会保险事业管理中心"


@pytest.fixture
def unit():
    return proof_unit()


def issue(unit, kind=ContributionProof.Kind.PERSON) -> ContributionProof:
    person = unit.person.person if kind == ContributionProof.Kind.PERSON else None
    return proof_issue(agent=unit.agent, kind=kind, month_from=JUL, month_to=OCT, person=person)


def stored_pdf(proof) -> bytes:
    with proof.pdf.open("rb") as handle:
        return handle.read()


@pytest.mark.parametrize("kind", list(ContributionProof.Kind))
def test_issued_proof_is_signed_by_the_agency_over_the_whole_stored_file(unit, kind):
    data = stored_pdf(issue(unit, kind))

    status = signature_status(data)

    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.signing_cert.subject.native["common_name"] == DEV_SIGNER_NAME


def test_a_tampered_proof_fails_validation(unit):
    data = stored_pdf(issue(unit))
    # Change a figure the proof states, keeping the length (the file stays readable).
    at = data.index(b"/CreationDate (D:") + len(b"/CreationDate (D:2")
    tampered = data[:at] + (b"1" if data[at : at + 1] != b"1" else b"2") + data[at + 1 :]

    assert not signature_status(tampered).bottom_line


def test_proof_carries_the_agency_name_and_seal_and_its_text_extracts(unit):
    proof = issue(unit)
    data = stored_pdf(proof)

    text = pdf_text(data)
    assert f"出具机构:{ISSUER}" in text
    assert "参保缴费证明" in text and PERSON_NAME in text and unit.employer.name in text
    seals = [image for image in pdf_images(data) if image.width >= 500]
    assert len(seals) == 1 and red_share(seals[0]) > 0.05
    assert proof.content["issuer"] == {"name": ISSUER, "region": unit.employer.region.code}


def test_the_region_s_own_agency_issues_its_units_proofs(unit, settings):
    region = unit.employer.region.code
    settings.PROOF_ISSUER_NAMES = {region: "演示市某区社会保险事业管理中心"}

    proof = issue(unit)

    assert proof.content["issuer"]["name"] == "演示市某区社会保险事业管理中心"
    assert "出具机构:演示市某区社会保险事业管理中心" in pdf_text(stored_pdf(proof))


def test_public_check_page_shows_the_issuing_agency(client, unit):
    proof = issue(unit)

    response = client.get(reverse("proof_public:check", args=[proof.code]))

    assert response.status_code == 200
    assert ISSUER in response.content.decode()


def test_the_downloaded_proof_is_the_signed_file_byte_for_byte(client, unit):
    proof = issue(unit)
    client.force_login(unit.agent.user)

    response = client.get(reverse("contributions:proof_pdf", args=[proof.pk]))

    assert b"".join(response.streaming_content) == stored_pdf(proof)
