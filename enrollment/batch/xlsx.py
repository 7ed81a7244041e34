"""Reading and writing one plain XLSX sheet quickly, for the 10,000-row batch import.

openpyxl's read-only worksheet builds a dict per cell and, for a file without a <dimension>
element (files written by openpyxl's write-only mode, such as our own result reports), scans the
whole sheet once more just to size it; its writer serialises every cell through et_xmlfile. For
10,000 rows of 13 columns that was about 2.5 s per read and 3-4 s per report on 2 cores.

SheetReader still lets openpyxl read the package (content types, workbook, shared strings, styles:
which style ids are dates), and converts cell values exactly as openpyxl's WorkSheetParser does
with data_only=True; it only walks the sheet's rows itself. write_sheet writes a minimal package
(one sheet, inline strings, a few styles) that Excel, WPS and openpyxl open.
"""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import get_column_letter
from openpyxl.utils.datetime import from_excel, from_ISO8601, to_excel
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

ROW_TAG = f"{{{SHEET_MAIN_NS}}}row"
CELL_TAG = f"{{{SHEET_MAIN_NS}}}c"
VALUE_TAG = f"{{{SHEET_MAIN_NS}}}v"
INLINE_TAG = f"{{{SHEET_MAIN_NS}}}is"
TEXT_TAG = f"{{{SHEET_MAIN_NS}}}t"
_LETTERS = re.compile(r"[A-Za-z]+")
_column_cache: dict[str, int] = {}


def _column_index(reference: str) -> int:
    match = _LETTERS.match(reference)
    letters = match.group(0).upper() if match else ""
    index = _column_cache.get(letters)
    if index is None:
        index = 0
        for letter in letters:
            index = index * 26 + ord(letter) - 64
        _column_cache[letters] = index
    return index


class SheetReader:
    """One worksheet of an XLSX package, read row by row with cached values (data_only).

    Raises whatever openpyxl or zipfile raise for a broken package; the caller turns that into
    its own message.
    """

    def __init__(self, file, *, preferred_sheet: str | None = None):
        reader = ExcelReader(file, read_only=True, data_only=True)
        self._archive = reader.archive
        try:
            reader.read_manifest()
            reader.read_strings()
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)
            workbook = reader.wb
            self._shared_strings = reader.shared_strings
            self._date_formats = set(getattr(workbook, "_date_formats", ()) or ())
            self._timedelta_formats = set(getattr(workbook, "_timedelta_formats", ()) or ())
            self._epoch = workbook.epoch
            sheets = [
                (sheet.name, rel.target)
                for sheet, rel in reader.parser.find_sheets()
                if rel.target in reader.valid_files and "chartsheet" not in rel.Type
            ]
        except Exception:
            self._archive.close()
            raise
        if not sheets:
            self._archive.close()
            raise ValueError("the workbook has no worksheet")
        by_name = dict(sheets)
        self.path = by_name.get(preferred_sheet) if preferred_sheet else None
        self.path = self.path or sheets[0][1]

    def close(self) -> None:
        self._archive.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def rows(self) -> Iterator[tuple[int, list]]:
        """Yield (row number, values from column A to the row's last cell) for each row element.

        Rows absent from the file (never written) are not yielded: the caller sees the gap in
        the row numbers.
        """
        value_of = self._value
        number = 0
        with self._archive.open(self.path) as source:
            for _event, element in iterparse(source):
                if element.tag != ROW_TAG:
                    continue
                reference = element.get("r")
                number = int(float(reference)) if reference else number + 1
                values: list = []
                column = 0
                for cell in element:
                    if cell.tag != CELL_TAG:
                        continue
                    cell_reference = cell.get("r")
                    column = _column_index(cell_reference) if cell_reference else column + 1
                    if column <= 0:
                        continue
                    value = value_of(cell)
                    if len(values) < column:
                        values.extend([None] * (column - len(values)))
                    values[column - 1] = value
                element.clear()
                yield number, values

    def _value(self, cell):
        """The cell's value as openpyxl's WorkSheetParser.parse_cell gives it (data_only)."""
        data_type = cell.get("t", "n")
        if data_type == "inlineStr":
            child = cell.find(INLINE_TAG)
            if child is None:
                return None
            parts = list(child)
            if len(parts) == 1 and parts[0].tag == TEXT_TAG:
                return parts[0].text or ""
            return Text.from_tree(child).content
        value = cell.findtext(VALUE_TAG, None) or None
        if value is None:
            return None
        if data_type == "n":
            number = float(value) if ("." in value or "E" in value or "e" in value) else int(value)
            style = cell.get("s", 0)
            style = int(style) if style else 0
            if style in self._date_formats:
                try:
                    return from_excel(
                        number, self._epoch, timedelta=style in self._timedelta_formats
                    )
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number
        if data_type == "s":
            return self._shared_strings[int(value)]
        if data_type == "b":
            return bool(int(value))
        if data_type == "d":
            return from_ISO8601(value)
        return value  # "str" (a formula's text) and "e" (an error such as #N/A)


# ---------------------------------------------------------------------------------------------
# Writing


@dataclass(frozen=True)
class Styled:
    """A value written with one of the sheet's styles: "bold", "red" or "text" (format @)."""

    value: object
    style: str


_STYLE_IDS = {"bold": 1, "red": 2, "text": 3, "datetime": 4, "date": 5, "time": 6}
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/>'
    "</Relationships>"
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{SHEET_MAIN_NS}">'
    '<numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd h:mm:ss"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="166" formatCode="h:mm:ss"/></numFmts>'
    '<fonts count="3"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font>'
    '<font><color rgb="FFC00000"/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="7"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _cell_xml(reference: str, value, style: int) -> str:
    style_attr = f' s="{style}"' if style else ""
    if isinstance(value, bool):
        return f'<c r="{reference}" t="b"{style_attr}><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{reference}"{style_attr}><v>{value!r}</v></c>'
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        if not style:
            if isinstance(value, datetime.datetime):
                style = _STYLE_IDS["datetime"]
            elif isinstance(value, datetime.date):
                style = _STYLE_IDS["date"]
            else:
                style = _STYLE_IDS["time"]
        return f'<c r="{reference}" s="{style}"><v>{to_excel(value)!r}</v></c>'
    text = _ILLEGAL.sub("", str(value))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{reference}" t="inlineStr"{style_attr}><is><t{space}>{escape(text)}</t></is></c>'


def write_sheet(
    *, title: str, rows: Iterable[Iterable], widths: dict[int, float] | None = None
) -> bytes:
    """Return an XLSX package with one sheet of ``rows``; a cell may be a Styled value."""
    letters = [get_column_letter(index) for index in range(1, 101)]
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
        f'<worksheet xmlns="{SHEET_MAIN_NS}">',
    ]
    if widths:
        parts.append("<cols>")
        for index, width in sorted(widths.items()):
            parts.append(f'<col min="{index}" max="{index}" width="{width}" customWidth="1"/>')
        parts.append("</cols>")
    parts.append("<sheetData>")
    for number, row in enumerate(rows, start=1):
        cells = []
        for index, value in enumerate(row):
            style = 0
            if isinstance(value, Styled):
                style, value = _STYLE_IDS[value.style], value.value
            if value is None:
                continue
            letter = letters[index] if index < len(letters) else get_column_letter(index + 1)
            cells.append(_cell_xml(f"{letter}{number}", value, style))
        parts.append(f'<row r="{number}">{"".join(cells)}</row>')
    parts.append("</sheetData></worksheet>")
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{SHEET_MAIN_NS}" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name={quoteattr(title[:31])} sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>"
    )
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", _ROOT_RELS)
        package.writestr("xl/workbook.xml", workbook)
        package.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        package.writestr("xl/styles.xml", _STYLES)
        package.writestr("xl/worksheets/sheet1.xml", "".join(parts))
    return output.getvalue()
