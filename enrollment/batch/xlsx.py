"""Reading and writing one plain XLSX sheet quickly, for the 10,000-row batch import.

openpyxl's read-only worksheet builds a dict per cell and, for a file without a <dimension>
element (files written by openpyxl's write-only mode, such as our own result reports), scans the
whole sheet once more just to size it; its writer serialises every cell through et_xmlfile. For
10,000 rows of 13 columns that was about 2.5 s per read and 3-4 s per report on 2 cores.

SheetReader still lets openpyxl read the package (content types, workbook, styles: which style
ids are dates), and converts cell values exactly as openpyxl's WorkSheetParser does with
data_only=True; it reads the shared strings and walks the sheet's rows itself, so that a cell
longer than Excel allows stops the reading as soon as it is met and a caller's deadline is
checked every few kilobytes. openpyxl parses its parts whole, where no deadline can stop it (a
styles part of 50 MB took it over 30 s), so those are refused beyond MAX_WHOLE_PART_BYTES.
write_sheet writes a minimal package (one sheet, inline strings, a few styles) that Excel, WPS
and openpyxl open.
"""

from __future__ import annotations

import datetime
import io
import re
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from xml.etree.ElementTree import XMLPullParser
from xml.sax.saxutils import escape, quoteattr

from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import get_column_letter
from openpyxl.utils.datetime import from_excel, from_ISO8601, to_excel
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

SHEET_DATA_TAG = f"{{{SHEET_MAIN_NS}}}sheetData"
ROW_TAG = f"{{{SHEET_MAIN_NS}}}row"
CELL_TAG = f"{{{SHEET_MAIN_NS}}}c"
VALUE_TAG = f"{{{SHEET_MAIN_NS}}}v"
INLINE_TAG = f"{{{SHEET_MAIN_NS}}}is"
TEXT_TAG = f"{{{SHEET_MAIN_NS}}}t"
STRING_TAG = f"{{{SHEET_MAIN_NS}}}si"
_LETTERS = re.compile(r"[A-Za-z]+")
_column_cache: dict[str, int] = {}

# Excel's own limits (Excel specifications and limits): the text of one cell, the columns (XFD).
MAX_CELL_CHARS = 32_767
MAX_COLUMNS = 16_384

# The parts openpyxl reads whole (content types, workbook, relationships, styles) may be no larger.
MAX_WHOLE_PART_BYTES = 5 * 1024 * 1024

# A sheet's elements before its rows (views, formats, column widths: at most 16,384 columns)
# are this many at most; beyond, the sheet is made to be slow to read.
MAX_ELEMENTS_BEFORE_ROWS = 100_000

# The XML is parsed in pieces of this size (smaller pieces keep fewer elements alive at once).
_CHUNK_BYTES = 8 * 1024

# Far more than the longest cell text Excel writes (32,767 characters, each at most 10 bytes as
# a character reference): a parse that reads this much without finishing an element is inside
# a text too long for a cell, and stops there instead of building it.
_MAX_BYTES_WITHOUT_ELEMENT = 1024 * 1024


class CellTooLong(ValueError):
    """A cell's text is longer than MAX_CELL_CHARS; where it is, as far as known (1-based)."""

    def __init__(self, *, row: int | None = None, column: int | None = None):
        super().__init__(f"cell text too long (row {row}, column {column})")
        self.row = row
        self.column = column


class TooComplex(Exception):
    """Reading went past the caller's deadline, or would parse a part beyond its size limit."""


class _SharedStringTooLong(Exception):
    def __init__(self, index: int):
        super().__init__(f"shared string {index} too long")
        self.index = index


class _TextTooLong(Exception):
    """The parser read _MAX_BYTES_WITHOUT_ELEMENT without finishing an element."""


def _column_index(reference: str) -> int:
    match = _LETTERS.match(reference)
    letters = match.group(0).upper() if match else ""
    index = _column_cache.get(letters)
    if index is None:
        index = 0
        for letter in letters:
            index = index * 26 + ord(letter) - 64
        if len(letters) <= 3:  # a real column (A to XFD); never a cache that grows without end
            _column_cache[letters] = index
    return index


def _check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise TooComplex("past the deadline")


class _Package(zipfile.ZipFile):
    """The package as openpyxl reads it: a part it would read whole must be small enough."""

    def read(self, name, pwd=None):
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        if info.file_size > MAX_WHOLE_PART_BYTES:
            raise TooComplex(f"{info.filename} unpacks to {info.file_size} bytes")
        return super().read(name, pwd)


def _xml_events(source, *, deadline: float | None, events=("end",)) -> Iterator[tuple]:
    """Parse ``source`` piece by piece, yielding (event, element) as iterparse does.

    Raises TooComplex past ``deadline`` (checked before each piece) and _TextTooLong when a
    text runs on for _MAX_BYTES_WITHOUT_ELEMENT.
    """
    parser = XMLPullParser(events)
    unfinished = 0
    while True:
        _check_deadline(deadline)
        data = source.read(_CHUNK_BYTES)
        if not data:
            break
        parser.feed(data)
        unfinished += len(data)
        for item in parser.read_events():
            unfinished = 0
            yield item
        if unfinished > _MAX_BYTES_WITHOUT_ELEMENT:
            raise _TextTooLong
    parser.close()
    yield from parser.read_events()


class SheetReader:
    """One worksheet of an XLSX package, read row by row with cached values (data_only).

    ``deadline`` (a time.monotonic() value) stops the reading with TooComplex; a cell text
    longer than MAX_CELL_CHARS stops it with CellTooLong. Anything else wrong with the package
    raises whatever openpyxl, zipfile or the XML parser raise; the caller turns that into its
    own message.
    """

    def __init__(self, file, *, preferred_sheet: str | None = None, deadline: float | None = None):
        self._deadline = deadline
        reader = ExcelReader(file, read_only=True, data_only=True, keep_links=False)
        reader.archive.close()
        self._archive = reader.archive = _Package(file)
        try:
            _check_deadline(deadline)
            reader.read_manifest()
            _check_deadline(deadline)
            reader.read_workbook()
            _check_deadline(deadline)
            apply_stylesheet(reader.archive, reader.wb)
            workbook = reader.wb
            self._date_formats = set(getattr(workbook, "_date_formats", ()) or ())
            self._timedelta_formats = set(getattr(workbook, "_timedelta_formats", ()) or ())
            self._epoch = workbook.epoch
            sheets = [
                (sheet.name, rel.target)
                for sheet, rel in reader.parser.find_sheets()
                if rel.target in reader.valid_files and "chartsheet" not in rel.Type
            ]
            if not sheets:
                raise ValueError("the workbook has no worksheet")
            by_name = dict(sheets)
            self.path = by_name.get(preferred_sheet) if preferred_sheet else None
            self.path = self.path or sheets[0][1]
            strings = reader.package.find(SHARED_STRINGS)
            try:
                self._shared_strings = self._read_shared_strings(strings) if strings else []
            except _SharedStringTooLong as exc:
                raise CellTooLong(**self._shared_string_cell(exc.index)) from None
        except BaseException:
            self._archive.close()
            raise

    def close(self) -> None:
        self._archive.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _read_shared_strings(self, part) -> list[str]:
        """The shared strings as openpyxl's read_string_table gives them; stop at a long one."""
        strings: list[str] = []
        table = None
        with self._archive.open(part.PartName[1:]) as source:
            events = _xml_events(source, deadline=self._deadline, events=("start", "end"))
            try:
                for event, node in events:
                    if event == "start":
                        table = node if table is None else table
                        continue
                    if node.tag != STRING_TAG:
                        continue
                    if len(node) == 1 and node[0].tag == TEXT_TAG:
                        text = node[0].text or ""
                    else:
                        text = Text.from_tree(node).content
                    text = text.replace("x005F_", "")
                    if len(text) > MAX_CELL_CHARS:
                        raise _SharedStringTooLong(len(strings))
                    strings.append(text)
                    table.clear()  # the strings read so far are not kept twice
            except _TextTooLong:
                raise _SharedStringTooLong(len(strings)) from None
        return strings

    def _shared_string_cell(self, index: int) -> dict[str, int]:
        """Where the sheet first shows shared string ``index``: row and column, or {}."""
        wanted = str(index)
        number = 0
        try:
            with self._archive.open(self.path) as source:
                for _event, element in _xml_events(source, deadline=self._deadline):
                    if element.tag != ROW_TAG:
                        continue
                    reference = element.get("r")
                    number = int(float(reference)) if reference else number + 1
                    column = 0
                    for cell in element:
                        if cell.tag != CELL_TAG:
                            continue
                        cell_reference = cell.get("r")
                        column = _column_index(cell_reference) if cell_reference else column + 1
                        if cell.get("t") == "s" and cell.findtext(VALUE_TAG, "").strip() == wanted:
                            return {"row": number, "column": column}
                    element.clear()
        except Exception:  # noqa: BLE001 — the cell is too long wherever it is
            return {}
        return {}

    def rows(self) -> Iterator[tuple[int, list]]:
        """Yield (row number, values from column A to the row's last cell) for each row element.

        Rows absent from the file (never written) are not yielded: the caller sees the gap in
        the row numbers. Nothing after the sheet's rows (<sheetData>) is read.
        """
        value_of = self._value
        number = 0
        row = rows_parent = None
        before_rows = 0
        with self._archive.open(self.path) as source:
            events = _xml_events(source, deadline=self._deadline, events=("start", "end"))
            try:
                for event, element in events:
                    if event == "start":
                        if element.tag == ROW_TAG:
                            row = element
                        elif rows_parent is None and element.tag == SHEET_DATA_TAG:
                            rows_parent = element
                        continue
                    if element.tag != ROW_TAG:
                        if element.tag == SHEET_DATA_TAG:
                            return
                        if rows_parent is None:
                            before_rows += 1
                            if before_rows > MAX_ELEMENTS_BEFORE_ROWS:
                                raise TooComplex("too many elements before the rows")
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
                        if value.__class__ is str and len(value) > MAX_CELL_CHARS:
                            raise CellTooLong(row=number, column=column)
                        if len(values) < column:
                            if column > MAX_COLUMNS:
                                raise ValueError(f"column {column} beyond the last one, XFD")
                            values.extend([None] * (column - len(values)))
                        values[column - 1] = value
                    element.clear()
                    if rows_parent is not None:
                        rows_parent.clear()  # the rows read so far are not kept
                    yield number, values
            except _TextTooLong:
                raise _cell_too_long_in(row, number) from None

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


def _cell_too_long_in(row, previous: int) -> CellTooLong:
    """Where a text that ran on is: the row being read (after row ``previous``), its last cell."""
    if row is None:
        return CellTooLong()
    reference = row.get("r")
    number = int(float(reference)) if reference else previous + 1
    column = None
    if len(row) and row[-1].tag == CELL_TAG:
        cell_reference = row[-1].get("r")
        column = _column_index(cell_reference) if cell_reference else len(row)
    return CellTooLong(row=number, column=column)


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
