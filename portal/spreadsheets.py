"""Tables written for download: an XLSX workbook (openpyxl write-only) or CSV text for Excel."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Mapping

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

SPOOL_BYTES = 8 * 1024 * 1024
CSV_CHUNK_ROWS = 500
# Number formats of amount and rate columns: the cells hold numbers, so that Excel can sum them.
MONEY = "#,##0.00"
PERCENT = "0.00%"


def xlsx_file(
    *,
    title: str,
    headers: list[str],
    rows: Iterable[list],
    text_columns: Iterable[int] = (),
    widths: Mapping[str, float] | None = None,
    number_formats: Mapping[int, str] | None = None,
) -> tempfile.SpooledTemporaryFile:
    """Write one sheet (headers, then rows) and return the file, rewound.

    Cells of ``text_columns`` (0-based) are stored as text, so that Excel shows an 18-digit ID
    number as typed instead of in scientific notation; cells of ``number_formats`` (0-based
    column → format, e.g. MONEY) hold numbers shown in that format.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for column, width in (widths or {}).items():
        sheet.column_dimensions[column].width = width
    sheet.append(headers)
    text_columns = tuple(text_columns)
    for row in rows:
        cells = list(row)
        for index in text_columns:
            cell = WriteOnlyCell(sheet, value=cells[index])
            cell.number_format = "@"
            cells[index] = cell
        for index, number_format in (number_formats or {}).items():
            cell = WriteOnlyCell(sheet, value=cells[index])
            cell.number_format = number_format
            cells[index] = cell
        sheet.append(cells)
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    workbook.save(out)
    out.seek(0)
    return out


class _Echo:
    def write(self, value):
        return value


def csv_chunks(*, headers: list[str], rows: Iterable[list]) -> Iterator[str]:
    """Yield CSV text with a UTF-8 byte-order mark (so that Excel opens Chinese correctly),
    a few hundred rows at a time for a streaming response."""
    yield "\ufeff" + csv.writer(_Echo()).writerow(headers)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for count, row in enumerate(rows, 1):
        writer.writerow(row)
        if count % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
