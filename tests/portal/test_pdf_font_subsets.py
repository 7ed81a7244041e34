"""portal.pdf's embedded font subsets, made and compressed once per set of characters, are the
objects reportlab makes: the same PDF bytes, first time and again."""

from __future__ import annotations

import io

import pytest
from reportlab import rl_config
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.platypus import SimpleDocTemplate

from portal import pdf as portal_pdf
from portal.pdf import cjk_font, lines_paragraph, text_paragraph


@pytest.fixture
def face():
    font = pdfmetrics.getFont(cjk_font())
    if not isinstance(font, ttfonts.TTFont):
        pytest.skip("no TrueType CJK font installed: nothing is embedded")
    assert isinstance(font.face, portal_pdf._SubsetCachingFace)
    return font.face


def document(texts, *, compression=1) -> bytes:
    style = ParagraphStyle("body", fontName=cjk_font(), fontSize=11, leading=18, wordWrap="CJK")
    buffer = io.BytesIO()
    # Over 256 distinct characters: more than one subset.
    story = [text_paragraph(text, style) for text in texts]
    story.append(lines_paragraph(texts[:3], style))
    SimpleDocTemplate(buffer, pageCompression=compression, invariant=1).build(story)
    return buffer.getvalue()


TEXTS = [
    "新增参保人员登记表 欧阳明月 2026-07-01",
    "兹证明 演示科技有限公司(单位社保编号 SB440100000001)参加社会保险。",
    "".join(chr(code) for code in range(0x4E00, 0x4E00 + 400)),
    "A & B <font color='red'>已审核通过</font>",
]


@pytest.mark.parametrize("compression", [1, 0])
def test_a_document_is_the_one_reportlab_s_own_face_makes(monkeypatch, face, compression):
    monkeypatch.setattr(rl_config, "invariant", 1)
    portal_pdf._font_subset.cache_clear()
    first = document(TEXTS, compression=compression)
    again = document(TEXTS, compression=compression)
    assert portal_pdf._font_subset.cache_info().hits > 0
    other = document([*TEXTS[:2], "另一个名字 王芳"], compression=compression)

    monkeypatch.setattr(face, "__class__", ttfonts.TTFontFace)
    assert document(TEXTS, compression=compression) == first == again
    assert document([*TEXTS[:2], "另一个名字 王芳"], compression=compression) == other


def test_subsets_are_kept_by_their_characters_in_order(face):
    portal_pdf._font_subset.cache_clear()
    codes = tuple(range(32, 128)) + tuple(map(ord, "参保缴费证明"))
    content, compressed = portal_pdf._font_subset(face, codes)

    assert content == ttfonts.TTFontFace.makeSubset(face, codes)
    assert face.makeSubset(list(codes)) == content
    assert portal_pdf._font_subset(face, codes[:-2] + codes[-1:] + codes[-2:-1]) != (
        content,
        compressed,
    )
