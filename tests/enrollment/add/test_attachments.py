"""Attachments are judged by content: type, size, image sanity, PDF structure."""

import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from enrollment.add import attachments
from enrollment.add.attachments import attachment_check
from tests.enrollment.add_helpers import jpg_bytes, pdf_bytes, png_bytes, upload


def refusal(name, data, content_type="") -> str:
    with pytest.raises(ValidationError) as caught:
        attachment_check(upload(name, data, content_type))
    return " ".join(caught.value.messages)


@pytest.mark.parametrize(
    ("name", "maker", "content_type", "expected"),
    [
        ("scan.jpg", jpg_bytes, "image/jpeg", "image/jpeg"),
        ("SCAN.JPEG", jpg_bytes, "", "image/jpeg"),
        ("scan.png", png_bytes, "image/png", "image/png"),
        ("contract.pdf", pdf_bytes, "application/pdf", "application/pdf"),
        ("contract.pdf", pdf_bytes, "application/octet-stream", "application/pdf"),
    ],
)
def test_real_files_pass_with_their_verified_type(name, maker, content_type, expected):
    checked = attachment_check(upload(name, maker(), content_type))
    assert checked.content_type == expected
    assert len(checked.sha256) == 64 and checked.size == len(checked.data)


def test_renamed_exe_is_refused_as_a_program():
    message = refusal("contract.pdf", b"MZ\x90\x00" + b"\x00" * 200, "application/pdf")
    assert "可执行程序" in message


def test_html_called_jpg_is_refused_as_a_web_page():
    message = refusal("photo.jpg", b"<!DOCTYPE html><html><script>alert(1)</script></html>")
    assert "网页" in message


def test_six_megabyte_file_is_refused_with_the_limit():
    data = jpg_bytes() + b"\x00" * (6 * 1024 * 1024)
    message = refusal("big.jpg", data, "image/jpeg")
    assert "5 MB" in message and "6.0 MB" in message


def test_limit_comes_from_settings(settings):
    settings.ENROLMENT_ATTACHMENT_MAX_BYTES = 100
    assert "上限" in refusal("scan.png", png_bytes(), "image/png")


def test_decompression_bomb_is_refused(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    message = refusal("bomb.png", png_bytes(size=(200, 200)), "image/png")
    assert "像素过大" in message


def test_far_oversized_image_raising_pillow_error_is_refused(monkeypatch):
    # More than twice the limit makes Pillow raise DecompressionBombError itself.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    assert "像素过大" in refusal("bomb.jpg", jpg_bytes(size=(100, 100)), "image/jpeg")


def test_fake_pdf_with_only_a_header_is_refused():
    message = refusal("contract.pdf", b"%PDF-1.7\nnot really a pdf\n", "application/pdf")
    assert "PDF文件结构" in message


def test_truncated_pdf_is_refused():
    data = pdf_bytes()
    assert "PDF文件结构" in refusal("contract.pdf", data[: len(data) // 2], "application/pdf")


def test_pdf_with_markers_but_garbage_body_is_refused_by_the_parser():
    data = b"%PDF-1.4\ngarbage garbage\ntrailer\n<<>>\nstartxref\n9999\n%%EOF\n"
    assert "PDF" in refusal("contract.pdf", data, "application/pdf")


def test_extension_must_match_content():
    message = refusal("scan.png", jpg_bytes(), "image/png")
    assert ".png" in message and "JPG" in message


def test_declared_content_type_must_match_content():
    assert "不一致" in refusal("scan.jpg", jpg_bytes(), "application/pdf")


def test_unknown_extension_is_refused():
    assert ".gif" in refusal("scan.gif", b"GIF89a" + b"\x00" * 20, "image/gif")


def test_truncated_image_is_refused():
    data = png_bytes()
    assert "损坏" in refusal("scan.png", data[:40], "image/png")


def test_empty_file_is_refused():
    with pytest.raises(ValidationError):
        attachment_check(upload("scan.jpg", b"", "image/jpeg"))


def _pdf_with(change) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    change(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _open_action(writer):
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/Launch"),
            NameObject("/F"): TextStringObject("cmd.exe"),
        }
    )
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)


def _launch_link(writer):
    from pypdf.annotations import Link
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    link = Link(rect=(50, 50, 200, 80), url="https://example.invalid/")
    link[NameObject("/A")] = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("x.exe")}
    )
    writer.add_annotation(page_number=0, annotation=link)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda writer: writer.add_js("app.alert('x');"), id="javascript"),
        pytest.param(_open_action, id="open-action"),
        pytest.param(lambda writer: writer.add_attachment("a.exe", b"MZ" * 10), id="embedded"),
        pytest.param(_launch_link, id="launch-annotation"),
    ],
)
def test_pdf_with_active_content_is_refused(change):
    message = refusal("contract.pdf", _pdf_with(change), "application/pdf")
    assert "含有脚本、自动执行的动作或嵌入的文件" in message


def test_a_hex_escaped_javascript_name_is_still_found():
    """PDF names may spell letters as #xx: /J#61vaScript is /JavaScript to a reader."""
    data = _pdf_with(lambda writer: writer.add_js("app.alert('x');"))
    assert b"/JavaScript" in data
    disguised = data.replace(b"/JavaScript", b"/J#61vaScript")
    assert "含有脚本" in refusal("contract.pdf", disguised, "application/pdf")


def test_a_plain_pdf_with_a_web_link_is_accepted():
    from pypdf.annotations import Link

    def link(writer):
        writer.add_annotation(
            page_number=0, annotation=Link(rect=(50, 50, 200, 80), url="https://example.invalid/")
        )

    checked = attachment_check(upload("contract.pdf", _pdf_with(link), "application/pdf"))
    assert checked.content_type == "application/pdf"


def test_an_upload_is_checked_once_per_limit(settings, monkeypatch):
    calls = []
    real_check = attachments.upload_check
    monkeypatch.setattr(
        attachments, "upload_check", lambda *a, **kw: calls.append(kw) or real_check(*a, **kw)
    )
    contract = upload("contract.pdf", pdf_bytes(), "application/pdf")
    first = attachment_check(contract)
    assert attachment_check(contract) is first  # the form's clean, then the service
    assert len(calls) == 1
    settings.ENROLMENT_ATTACHMENT_MAX_BYTES = 1024
    assert "上限" in " ".join(
        pytest.raises(ValidationError, attachment_check, contract).value.messages
    )
    assert len(calls) == 2


def _active_content_by_isinstance(reader) -> bool:
    """The walk as it was written before its kinds were kept by class (isinstance each time)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    from portal.uploads import PDF_ACTIVE_KEYS, PDF_ACTIVE_NAMES, PDF_MAX_OBJECTS

    seen, stack, visited = set(), [reader.trailer], 0
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        visited += 1
        if visited > PDF_MAX_OBJECTS:
            return True
        if isinstance(obj, DictionaryObject):
            if PDF_ACTIVE_KEYS.intersection(obj.keys()):
                return True
            stack.extend(value for name, value in obj.items() if name != "/Parent")
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
        elif isinstance(obj, NameObject) and obj in PDF_ACTIVE_NAMES:
            return True
    return False


def _web_link(writer):
    from pypdf.annotations import Link

    writer.add_annotation(
        page_number=0, annotation=Link(rect=(50, 50, 200, 80), url="https://example.invalid/")
    )


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(pdf_bytes, id="reportlab"),
        pytest.param(lambda: _pdf_with(lambda writer: None), id="blank"),
        pytest.param(lambda: _pdf_with(_web_link), id="web-link"),
        pytest.param(lambda: _pdf_with(lambda w: w.add_js("app.alert('x');")), id="javascript"),
        pytest.param(lambda: _pdf_with(_open_action), id="open-action"),
        pytest.param(lambda: _pdf_with(lambda w: w.add_attachment("a", b"MZ")), id="embedded"),
        pytest.param(lambda: _pdf_with(_launch_link), id="launch-annotation"),
    ],
)
def test_the_walk_by_kept_kinds_finds_what_isinstance_found(data, monkeypatch):
    import pypdf

    from portal import uploads

    for limit in (uploads.PDF_MAX_OBJECTS, 3):  # the object limit too
        monkeypatch.setattr(uploads, "PDF_MAX_OBJECTS", limit)
        reader = pypdf.PdfReader(io.BytesIO(data()), strict=False)
        expected = _active_content_by_isinstance(reader)
        reader = pypdf.PdfReader(io.BytesIO(data()), strict=False)
        assert uploads._pdf_active_content(reader) is expected
