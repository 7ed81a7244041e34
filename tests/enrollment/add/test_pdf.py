"""The 《新增参保人员登记表》 PDF carries the filing's Chinese text."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader
from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.platypus import Paragraph

from enrollment.add import pdf as registration_pdf_module
from enrollment.add.pdf import registration_form_pdf
from enrollment.add.services import add_employee_filing_submit, registration_form_generate
from portal import pdf as portal_pdf
from tests.enrollment.add_helpers import service_fields, unit_with_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def filing():
    _employer, agent = unit_with_agent()
    return add_employee_filing_submit(
        agent=agent, generate_form=False, **service_fields(name="欧阳明月")
    )


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_pdf_contains_title_name_reference_and_unit(filing):
    text = pdf_text(registration_form_pdf(filing))
    assert "新增参保人员登记表" in text
    assert "欧阳明月" in text
    assert filing.reference in text
    assert filing.employer.name in text
    assert "9,000.00" in text and "职工基本医疗保险" in text


def test_generation_stores_the_form_once(filing):
    first = registration_form_generate(filing_id=filing.pk).registration_form.name
    second = registration_form_generate(filing_id=filing.pk).registration_form.name
    assert first == second and first.startswith(f"forms/{filing.employer_id}/")


def test_download_renders_a_missing_form_on_demand(client, filing):
    client.force_login(filing.submitted_by.user)
    response = client.get(reverse("enrollment:add_form_pdf", args=[filing.reference]))
    assert response.status_code == 200
    assert "欧阳明月" in pdf_text(b"".join(response.streaming_content))
    filing.refresh_from_db()
    assert filing.registration_form


@pytest.mark.parametrize(
    "name",
    [
        '<font size="28" color="red">已审核通过</font>',
        '<img src="/etc/passwd"/>张三',
        "<b>李四</b> & <a href='x'>王五</a>",
    ],
)
def test_text_is_printed_as_typed_never_read_as_markup(filing, name):
    """A name stored before names were checked still cannot forge text or break the form."""
    person = filing.enrolment.person
    person.name = name
    person.save(update_fields=["name"])
    filing.refresh_from_db()
    text = pdf_text(registration_form_pdf(filing))
    assert name.replace(" ", "") in text.replace(" ", "").replace("\n", "")


def test_the_unit_name_is_escaped_too(filing):
    employer = filing.employer
    employer.name = "测试<font color='red'>单位</font>有限公司"
    employer.save(update_fields=["name"])
    filing.refresh_from_db()
    assert "<font color='red'>" in pdf_text(registration_form_pdf(filing))


def test_generation_locks_the_filing_row_only(filing):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are exercised on PostgreSQL (run 2 of .ci/run)")
    with CaptureQueriesContext(connection) as queries:
        registration_form_generate(filing_id=filing.pk)
    (locking,) = [query["sql"] for query in queries if "FOR UPDATE" in query["sql"]]
    # Not the unit, region, person and agent read with it: other filings' forms need them.
    assert locking.endswith('FOR UPDATE OF "enrollment_addemployeefiling"')


def test_the_form_is_the_one_reportlab_s_parser_and_font_face_make_byte_for_byte(
    monkeypatch, filing
):
    """Made twice (its font subset made once, then reused) with portal.pdf's paragraphs, the
    form is the PDF reportlab's own Paragraph parser and font face make (invariant mode)."""
    monkeypatch.setattr(rl_config, "invariant", 1)
    drawn = registration_form_pdf(filing)
    assert registration_form_pdf(filing) == drawn

    monkeypatch.setattr(
        registration_pdf_module,
        "text_paragraph",
        lambda value, style: Paragraph(portal_pdf.pdf_text(value), style),
    )
    monkeypatch.setattr(
        registration_pdf_module,
        "lines_paragraph",
        lambda lines, style: Paragraph("<br/>".join(map(portal_pdf.pdf_text, lines)), style),
    )
    font = pdfmetrics.getFont(portal_pdf.cjk_font())
    if isinstance(font, ttfonts.TTFont):
        monkeypatch.setattr(font.face, "__class__", ttfonts.TTFontFace)

    assert registration_form_pdf(filing) == drawn
