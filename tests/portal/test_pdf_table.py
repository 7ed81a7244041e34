"""portal.pdf_table.PlainTable: cells of one line laid out as text, drawn as reportlab draws
their paragraphs."""

from __future__ import annotations

import io
import itertools

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import SimpleDocTemplate, Table

from portal.pdf import cjk_font, lines_paragraph, text_paragraph
from portal.pdf_table import LineCell, PlainTable


def cell_styles() -> list[ParagraphStyle]:
    cell = ParagraphStyle("cell", fontName=cjk_font(), fontSize=9.5, leading=13, wordWrap="CJK")
    return [
        cell,
        ParagraphStyle("body", fontName=cjk_font(), fontSize=11, leading=18, wordWrap="CJK"),
        ParagraphStyle("red", parent=cell, textColor=colors.HexColor("#9a3412")),
        ParagraphStyle("centred", parent=cell, alignment=TA_CENTER),  # left to reportlab
        ParagraphStyle("latin", fontName="Helvetica", fontSize=9, leading=12),  # not embedded
    ]


TEXTS = [
    "参保缴费证明",
    "8,677,193.00",
    "2026-09",
    "A & B",  # escaped: reportlab's parser
    "",
    "一二三四五六七八九十" * 3,  # wider than its column: several lines
    "甲 乙",
    "  空格  ",
    "失业保险(单位和个人)",
]


def cell(index: int):
    styles = cell_styles()
    text = TEXTS[index % len(TEXTS)]
    style = styles[index % len(styles)] if index % 3 == 0 else styles[0]
    if index % 11 == 5:
        return text  # a string cell
    if index % 13 == 7:
        return [text_paragraph(text, style), text_paragraph("乙", style)]
    if index % 17 == 3:
        return lines_paragraph([text], style)
    return text_paragraph(text, style)


def table_page(table_class) -> tuple[bytes, int]:
    """Tables of every alignment, drawn on one canvas; and how many cells were LineCells."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=1)
    index = lines = 0
    for valign, align in itertools.product(("TOP", "MIDDLE", "BOTTOM"), ("LEFT", "RIGHT")):
        rows = []
        for _ in range(5):
            rows.append([cell(index + column) for column in range(4)])
            index += 4
        table = table_class(rows, colWidths=[90, 75.5, 120, 40], rowHeights=[None, 40] + [None] * 3)
        table.setStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), valign),
                ("ALIGN", (0, 0), (-1, -1), align),
                ("ALIGN", (3, 0), (3, -1), "LEFT"),
                ("LEFTPADDING", (1, 0), (1, -1), 3.5),
                ("RIGHTPADDING", (2, 0), (2, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("SPAN", (1, 2), (-1, 2)),
                ("SPAN", (0, 3), (0, 4)),
                ("TEXTCOLOR", (0, 2), (-1, 2), colors.HexColor("#9a3412")),
                ("FONT", (0, 4), (-1, 4), "Helvetica-Bold", 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f0f0")),
            ]
        )
        table.wrapOn(canvas, 400, 800)
        table.drawOn(canvas, 30, 500)
        lines += sum(type(value) is LineCell for row in table._cellvalues for value in row)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue(), lines


def test_a_plain_table_draws_the_page_reportlab_s_table_draws():
    """For every vertical alignment and cell alignment, with paddings, row and column spans, a
    row higher than its text, text colours and fonts set on the cells, cells of several lines,
    of escaped text, of strings, of lists, of styles left to reportlab: byte for byte."""
    drawn, lines = table_page(PlainTable)
    expected, none = table_page(Table)

    assert drawn == expected
    assert none == 0
    assert lines >= 10  # the left-aligned one-line cells of the cell style laid out as text


def test_a_plain_table_split_across_pages_is_reportlab_s_table():
    """A long table with a repeated header row, split by the document over pages, with a span
    of rows in its first column: the document is byte for byte reportlab's."""

    def document(table_class) -> bytes:
        style = cell_styles()[0]
        rows = [[text_paragraph(text, style) for text in ("月份", "险种", "人数", "合计")]]
        spans = []
        for month in range(40):
            first = len(rows)
            for kind in ("养老保险", "医疗保险", "失业保险"):
                rows.append(
                    [text_paragraph(f"2026-{month:02d}", style)]
                    + [text_paragraph(text, style) for text in (kind, "500", "2,082,526.32")]
                )
            spans.append(("SPAN", (0, first), (0, len(rows) - 1)))
        table = table_class(rows, colWidths=[60, 80, 40, 90], repeatRows=1)
        table.setStyle(
            [("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
            + spans
        )
        buffer = io.BytesIO()
        SimpleDocTemplate(buffer, pagesize=A4, invariant=1).build([table])
        made.append(sum(type(value) is LineCell for row in table._cellvalues for value in row))
        return buffer.getvalue()

    made = []
    drawn = document(PlainTable)

    assert drawn == document(Table)
    assert made == [40 * 3 * 3 + 4, 0]  # all but the spanned month cells
    assert drawn.count(b"/Type /Page\n") >= 3
