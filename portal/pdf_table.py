"""A reportlab Table whose cells of one line of text are laid out as text, drawn as paragraphs.

A proof's tables hold about 110 cells, each a text_paragraph of one line. For every such cell
reportlab's Table makes a cell list, measures the paragraph twice (to size the row, to place
it) and draws it as a flowable; a plain string cell costs it a third of that. ``PlainTable``
turns each cell that holds a paragraph of one plain line that fits its column into a
``LineCell`` (a string that remembers its paragraph style) before the table is first sized,
and draws it with the operators reportlab writes for that paragraph, at the same place: the
page is byte for byte the one reportlab's Table draws with the paragraphs
(tests/portal/test_pdf_table.py).

What keeps it so:
- the row is as high: a string cell is ``leading × lines`` high, so the cell's leading is the
  paragraph's (its height, one line of its leading), set on the cell's own CellStyle;
- the drawing state is as reportlab's: Table._drawCell changes the canvas's fill colour and
  font when a cell's style differs from the previous cell's; a LineCell compares and leaves
  behind the cell style as it was before its leading was changed (``LineCell.cell_style``);
- the cell is a paragraph's only when nothing about it is particular: a left-aligned cell not
  in a span, a paragraph of one fragment (text_paragraph's) in an embedded TrueType font, no
  indent, bullet, border, background, space around it or text transform, CJK wrapping, and
  text that the paragraph would keep on its first line (the widths added in order, as
  reportlab's dumbSplit adds them).
"""

from __future__ import annotations

from typing import NamedTuple

from reportlab.lib import textsplit
from reportlab.lib.enums import TA_LEFT
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Table

from portal.pdf import _PlainParagraph, _write_line, char_widths


class LineCell(str):
    """The text of a cell drawn as its paragraph would be drawn (``PlainTable``)."""

    style = None  # the paragraph's style
    fragment = None  # its one fragment (font, size, colour)
    font = None  # its embedded font
    cell_style = None  # the cell's drawing style as it was, before its leading was the paragraph's


def _line_of(paragraph, cell_style, available: float) -> LineCell | None:
    """The paragraph of this cell as a LineCell, or None when reportlab must lay it out
    (``available``: the width the table would wrap it at)."""
    if (
        type(paragraph) is not _PlainParagraph
        or cell_style.alignment != "LEFT"
        or cell_style.href
        or cell_style.destination
    ):
        return None
    style = paragraph.style
    frags = paragraph.frags
    if (
        len(frags) != 1
        or paragraph.bulletText
        or paragraph.debug
        or style.alignment != TA_LEFT
        or style.wordWrap != "CJK"
        or style.leftIndent
        or style.rightIndent
        or style.firstLineIndent
        or style.spaceBefore
        or style.spaceAfter
        or style.backColor
        or (style.borderColor and style.borderWidth)
        or style.endDots
        or style.textTransform
        or getattr(style, "autoLeading", "")
        or getattr(paragraph, "autoLeading", "")
    ):
        return None
    fragment = frags[0]
    if (
        not hasattr(fragment, "text")
        or hasattr(fragment, "cbDefn")
        or fragment.link
        or fragment.us_lines
        or fragment.text != paragraph.text
    ):
        return None
    font = pdfmetrics.getFont(fragment.fontName)
    if not font._dynamicFont or type(fragment.text) is not str:
        return None
    if available < textsplit._FUZZ:  # Paragraph.wrap: no room at all
        return None
    used = 0
    for width in char_widths(fragment.text, fragment.fontName, fragment.fontSize):
        used += width
    if used <= 0 or used > available + textsplit._FUZZ:
        return None
    line = LineCell(fragment.text)
    line.style, line.font = style, font
    line.fragment = fragment
    return line


class _DrawingStyle(NamedTuple):
    """What Table._drawCell reads of the previous cell's style (``_curcellstyle``) to decide
    whether the canvas's fill colour and font change: a LineCell's, as it was before its
    leading was the paragraph's."""

    color: object
    leading: float
    fontname: str
    fontsize: float


class PlainTable(Table):
    """A Table that lays out and draws its cells of one line of text as text (see the module)."""

    _lines_made = False

    def _calc(self, availWidth, availHeight):
        if not self._lines_made:
            self._lines_made = True
            self._make_lines()
        return super()._calc(availWidth, availHeight)

    def _make_lines(self) -> None:
        widths = self._argW
        if any(not isinstance(width, int | float) for width in widths):
            return  # columns sized by their content: reportlab measures the paragraphs
        spanned = set()
        rows, columns = self._nrows, self._ncols
        for command in self._spanCmds:
            (start_column, start_row), (end_column, end_row) = command[1], command[2]
            start_column %= columns
            end_column %= columns
            start_row %= rows
            end_row %= rows
            for row in range(start_row, end_row + 1):
                for column in range(start_column, end_column + 1):
                    spanned.add((row, column))
        for row, (values, styles) in enumerate(
            zip(self._cellvalues, self._cellStyles, strict=True)
        ):
            for column, (value, cell_style) in enumerate(zip(values, styles, strict=True)):
                if (row, column) in spanned:
                    continue
                # Table._listCellGeom's width for the cell's flowables
                available = widths[column] - cell_style.leftPadding - cell_style.rightPadding
                line = _line_of(value, cell_style, available)
                if line is None:
                    continue
                line.cell_style = _DrawingStyle(
                    cell_style.color, cell_style.leading, cell_style.fontname, cell_style.fontsize
                )
                # The row's height: a string cell's is its leading (one line), the
                # paragraph's its style's leading (one line).
                cell_style.leading = line.style.leading
                values[column] = line

    def _drawCell(self, cellval, cellstyle, pos, size):
        if type(cellval) is not LineCell:
            return super()._drawCell(cellval, cellstyle, pos, size)
        canvas = self.canv
        before = cellval.cell_style
        # Table._drawCell's change of drawing state, for the cell style as reportlab saw it.
        if self._curcellstyle is not before:
            current = self._curcellstyle
            if current is None or before.color != current.color:
                canvas.setFillColor(before.color)
            if (
                current is None
                or before.leading != current.leading
                or before.fontname != current.fontname
                or before.fontsize != current.fontsize
            ):
                canvas.setFont(before.fontname, before.fontsize, before.leading)
            self._curcellstyle = before
        column, row = pos
        width, height = size
        style = cellval.style
        fragment = cellval.fragment
        line_height = style.leading  # the paragraph's height: one line
        # Table._drawCell for a cell of one flowable without space around it.
        if cellstyle.valign == "TOP":
            y = row + height - cellstyle.topPadding
        elif cellstyle.valign == "BOTTOM":
            y = row + cellstyle.bottomPadding + line_height
        elif cellstyle.valign == "MIDDLE":
            y = row + (height + cellstyle.bottomPadding - cellstyle.topPadding + line_height) / 2.0
        else:
            raise ValueError(f"Bad valign: {cellstyle.valign!a}")
        y -= line_height
        size = fragment.fontSize
        top = line_height - size  # the line's ascent is its font size (breakLinesCJK)
        _write_line(
            canvas,
            column + cellstyle.leftPadding,
            y,
            font=cellval.font,
            text=str(cellval),
            origin=(0, top),
            start=0,
            size=size,
            leading=style.leading,
            colour=fragment.textColor,
        )
