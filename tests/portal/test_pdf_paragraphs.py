"""portal.pdf's paragraphs: plain text handed to reportlab as its parser reads it."""

from __future__ import annotations

import io
import itertools
import random
import sys
from decimal import Decimal
from xml.sax.saxutils import escape

import pytest
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.textsplit import getCharWidths
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph
from reportlab.platypus.paragraph import cleanBlockQuotedText

from portal.pdf import (
    _PlainParagraph,
    char_widths,
    cjk_font,
    clean_text,
    lines_paragraph,
    pdf_text,
    text_paragraph,
)


def styles() -> list[ParagraphStyle]:
    body = ParagraphStyle("body", fontName=cjk_font(), fontSize=11, leading=18, wordWrap="CJK")
    return [
        body,
        ParagraphStyle("code", parent=body, fontSize=13, leading=20),
        ParagraphStyle("title", fontName=cjk_font(), fontSize=20, leading=28, alignment=TA_CENTER),
        ParagraphStyle("latin", fontName="Helvetica-Bold", fontSize=9, leading=12),
        ParagraphStyle("upper", fontName="Helvetica", fontSize=9, textTransform="uppercase"),
    ]


def values() -> list:
    rng = random.Random(7)
    alphabet = "参保缴费证明欧阳明月 abcXYZ019.,-:()\n\t&<>\"'\x00\x07/"
    return [
        "",
        "   ",
        "\n\t",
        "2026-07",
        "1,280.00",
        "养老保险",
        "  两个  空格\n换行\t制表 ",
        "A & B",
        "<font color='red'>已审核通过</font>",
        'say "yes"',
        "it's",
        "\x00控制\x07字符",
        "第 1 页",
        "甲\xa0乙",
        "甲\u200b乙",
        "甲\u3000乙",
        "a\x1cb",
        " 前",
        "后 ",
        "a  b",
        "\r回车",
        12,
        Decimal("3.50"),
        *("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(40)),
    ]


def drawn(paragraph: Paragraph, width: float = 120) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=1)
    paragraph.wrapOn(canvas, width, 800)
    paragraph.drawOn(canvas, 20, 400)
    canvas.save()
    return buffer.getvalue()


@pytest.mark.parametrize("style", styles(), ids=lambda style: style.name)
def test_a_paragraph_is_the_one_reportlab_s_parser_makes_and_draws_the_same(style):
    for value in values():
        paragraph = text_paragraph(value, style)
        parsed = Paragraph(pdf_text(value), style)

        assert (paragraph.text, paragraph.bulletText) == (parsed.text, parsed.bulletText)
        assert paragraph.style is parsed.style
        assert [vars(f) for f in paragraph.frags] == [vars(f) for f in parsed.frags], value
        assert drawn(paragraph) == drawn(parsed), value


def test_paragraphs_of_one_style_share_no_fragment_lists():
    style = styles()[0]
    first, second = text_paragraph("甲", style), text_paragraph("乙", style)

    assert first.frags[0] is not second.frags[0]
    assert first.frags[0].link is not second.frags[0].link
    assert first.frags[0].us_lines is not second.frags[0].us_lines
    assert (first.frags[0].text, second.frags[0].text) == ("甲", "乙")


def test_a_paragraph_wrapped_again_is_wrapped_anew_at_another_width():
    """A paragraph keeps its lines for one width (a table wraps each cell twice at the same
    width), not for another."""
    style = styles()[0]
    text = "兹证明 演示科技有限公司 参加社会保险,截至开具时参保状态为正常的职工 12 人。"
    paragraph = text_paragraph(text, style)
    for width in (300, 300, 80, 80, 300, 0.5, 120):
        parsed = Paragraph(pdf_text(text), style)

        assert paragraph.wrap(width, 800) == parsed.wrap(width, 800), width
        assert drawn(paragraph, width) == drawn(parsed, width), width


@pytest.mark.parametrize("style", styles()[:3], ids=lambda style: style.name)
def test_cjk_lines_are_reportlab_s_at_every_width_around_the_text_s_own(style):
    """A CJK paragraph's lines (measured with char_widths, the whole text kept on one line
    without cutting it when it fits) are the lines reportlab's wordSplit finds: at widths
    just under, at and over the text's width, and narrower than one character."""
    for value in values():
        text = pdf_text(value)
        width = sum(getCharWidths(text, style.fontName, style.fontSize))
        for available in (width - 0.01, width, width + 1e-9, width + 5, width / 2, 3, 300):
            if available < 1:  # an empty text's: reportlab does not wrap at no width
                continue
            paragraph = text_paragraph(value, style)
            parsed = Paragraph(text, style)

            assert paragraph.wrap(available, 800) == parsed.wrap(available, 800), value
            assert repr(paragraph.blPara.lines) == repr(parsed.blPara.lines), (value, available)
            for name in ("kind", "ascent", "descent", "fontName", "fontSize"):
                assert getattr(paragraph.blPara, name, None) == getattr(parsed.blPara, name, None)
            assert drawn(paragraph, available) == drawn(parsed, available), value


def test_char_widths_are_reportlab_s_per_character_widths():
    for style in styles():
        for value in values():
            text = pdf_text(value)
            expected = getCharWidths(text, style.fontName, style.fontSize)

            assert char_widths(text, style.fontName, style.fontSize) == expected
            assert char_widths(text, style.fontName, style.fontSize) == expected  # known now


def test_lines_paragraph_wraps_and_draws_as_reportlab_s_paragraph_at_every_width():
    style = styles()[0]
    lines = ["基本养老保险", "A & B <br/>", "", "失业保险(单位和个人)", 12]
    text = "<br/>".join(pdf_text(line) for line in lines)
    paragraph = lines_paragraph(lines, style)
    for width in (300, 300, 40, 40, 300, 12, 120):
        parsed = Paragraph(text, style)

        assert paragraph.wrap(width, 800) == parsed.wrap(width, 800), width
        assert drawn(paragraph, width) == drawn(parsed, width), width


def test_clean_text_is_reportlab_s_clean_block_quoted_text():
    """clean_text leaves alone only what cleanBlockQuotedText leaves alone, for every
    whitespace character (str.isspace, reportlab's own list) alone, doubled and between words."""
    spaces = [chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()]
    spaces += ["\u200b", "\xa0", "\ufeff", "\x00"]
    samples = ["", "甲", "甲 乙", "a b c", "参保 缴费 证明"]
    for space in spaces:
        samples += [space, f"甲{space}乙", f"{space}甲", f"甲{space}", f"甲 {space}乙"]
        samples += [f"甲{space}{space}乙", f"a{space} b"]
    rng = random.Random(11)
    alphabet = "甲乙a1 " + "".join(spaces[:12]) + "\u200b\xa0\u3000"
    samples += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(3000)
    ]
    for text in samples:
        assert clean_text(text) == cleanBlockQuotedText(text), repr(text)


def test_a_line_drawn_by_the_paragraph_itself_is_the_one_reportlab_draws():
    """text_paragraph's paragraphs of one plain line write their operators themselves
    (_PlainParagraph.drawOn): on one canvas, as a document's cells and titles are drawn one
    after the other, the page is byte for byte the one reportlab's Paragraph draws, for every
    alignment, with indents, at every width around the text's own, and for a line of more
    characters than one subset of the embedded font holds."""
    body = styles()[0]
    variants = [
        *styles()[:3],
        ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
        ParagraphStyle("indented", parent=body, leftIndent=7, firstLineIndent=3.5),
        ParagraphStyle("centre-indented", parent=body, alignment=TA_CENTER, leftIndent=4),
        ParagraphStyle("red", parent=body, textColor=colors.HexColor("#9a3412")),
    ]
    many = "".join(chr(code) for code in range(0x4E00, 0x4E00 + 600))  # 600 distinct characters
    texts = [*values(), many, "参保" * 5]

    def page(make) -> tuple[bytes, int]:
        buffer = io.BytesIO()
        canvas = Canvas(buffer, invariant=1)
        fast = 0
        for index, (style, text) in enumerate(itertools.product(variants, texts)):
            width = sum(getCharWidths(str(text), style.fontName, style.fontSize))
            for available in (width + 1e-9, width + 17, 10000, width / 2):
                if available < 1:
                    continue
                paragraph = make(text, style)
                paragraph.wrapOn(canvas, available, 800)
                fast += isinstance(paragraph, _PlainParagraph) and bool(
                    paragraph._one_plain_line(canvas)
                )
                paragraph.drawOn(canvas, 20 + index % 7, 30 + index % 700)
        canvas.save()
        return buffer.getvalue(), fast

    drawn, fast = page(text_paragraph)
    expected, _ = page(lambda text, style: Paragraph(pdf_text(text), style))

    assert drawn == expected
    assert fast > 500  # most of them drawn by _PlainParagraph.drawOn


def test_pdf_text_escapes_what_saxutils_escapes_and_drops_control_characters():
    """Text without &, <, > or " is returned as it is; any other is escaped as before."""
    for value in [*values(), "&amp;", "<<>>", '""', "a\x1b&b"]:
        text = "".join(ch for ch in str(value) if ch >= " " or ch in "\n\t")

        assert pdf_text(value) == escape(text, {'"': "&quot;"}), value
