"""How the proof PDF is made faster than reportlab makes it, with reportlab's own results."""

from __future__ import annotations

import random
import string

import pytest
from reportlab import rl_config
from reportlab.graphics.barcode import qrencoder
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.platypus import Paragraph

from contributions.models import ContributionProof
from contributions.proofs import pdf as proof_pdf_module
from contributions.proofs.pdf import _create_data, _mask_penalty, _QRCode, proof_pdf
from contributions.proofs.services import proof_issue
from portal import pdf as portal_pdf
from tests.contributions.proof_helpers import JUL, OCT, PERSON_NAME, proof_unit

LEVEL_M = qrencoder.QRErrorCorrectLevel.M


def test_qr_masks_are_scored_and_chosen_as_reportlab_does():
    """For addresses of every QR version a proof's address can take (1 to 10), each mask's
    penalty is reportlab's getLostPoint and the code is the one reportlab's encoder makes."""
    rng = random.Random(13)
    chosen, versions = set(), set()
    for length in range(0, 206, 10):
        url = "https://" + "".join(
            rng.choice(string.ascii_letters + "./-_0") for _ in range(length)
        )
        reportlab_code = qrencoder.QRCode(None, LEVEL_M)
        reportlab_code.addData(url)
        reportlab_code.make()
        code = _QRCode(None, LEVEL_M)
        code.addData(url)
        code.make()

        assert code.modules == reportlab_code.modules
        for pattern in range(8):
            reportlab_code.makeImpl(True, pattern)
            assert _mask_penalty(reportlab_code.modules) == qrencoder.QRUtil.getLostPoint(
                reportlab_code
            )
        best = code.getBestMaskPattern()
        assert best == qrencoder.QRCode.getBestMaskPattern(reportlab_code)
        chosen.add(best)
        versions.add(code.version)
    assert len(chosen) >= 6 and versions >= set(range(1, 11))


def test_qr_data_and_error_correction_bytes_are_reportlab_s():
    """_create_data (generator polynomials made once, remainders by long division) gives the
    bytes reportlab's createData gives, at every error correction level and version 1 to 10."""
    rng = random.Random(21)
    levels = [getattr(qrencoder.QRErrorCorrectLevel, name) for name in "LMQH"]
    versions = set()
    for level in levels:
        for length in range(0, 140, 7):
            text = "".join(rng.choice(string.printable) for _ in range(length))
            code = qrencoder.QRCode(None, level)
            code.addData(text)
            code.version = code.calculate_version()
            versions.add(code.version)
            expected = qrencoder.QRCode.createData(code.version, level, code.dataList)

            assert _create_data(code.version, level, code.dataList) == expected
    assert versions >= set(range(1, 11))


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ContributionProof.Kind.values)
def test_the_proof_is_the_one_reportlab_s_parser_and_encoder_make_byte_for_byte(monkeypatch, kind):
    """Before it is signed, the proof made with text_paragraph's fragments, _QRCode and the
    cached font subsets is the PDF reportlab's own Paragraph parser, QR encoder and font face
    make (reportlab's invariant mode: no
    date, no random document id)."""
    unit = proof_unit()
    person = unit.person.person if kind == ContributionProof.Kind.PERSON else None
    proof = proof_issue(agent=unit.agent, kind=kind, month_from=JUL, month_to=OCT, person=person)
    monkeypatch.setattr(rl_config, "invariant", 1)
    monkeypatch.setattr(portal_pdf, "sign_pdf", lambda data, *, reason: data)

    def draw() -> bytes:
        return proof_pdf(
            proof,
            full_name=PERSON_NAME if person else "",
            check_url=f"https://sbwt.example.gov.cn/proof/{proof.code}/",
            form_url="https://sbwt.example.gov.cn/proof/",
        )

    drawn = draw()
    monkeypatch.setattr(
        proof_pdf_module,
        "text_paragraph",
        lambda value, style: Paragraph(portal_pdf.pdf_text(value), style),
    )
    monkeypatch.setattr(proof_pdf_module, "_QRCode", qrencoder.QRCode)
    font = pdfmetrics.getFont(portal_pdf.cjk_font())
    if isinstance(font, ttfonts.TTFont):  # reportlab's own subsets of the embedded font
        monkeypatch.setattr(font.face, "__class__", ttfonts.TTFontFace)

    assert draw() == drawn
