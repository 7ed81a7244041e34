"""Reading an uploaded 批量增员 workbook: the content check, the rows, and the parsed-cells cache.

An upload is checked by content (size cap, XLSX package, unpacked-size caps), its header is
compared with the template's, and the cells are cached for an hour by the file's SHA-256 so that
the import task does not parse the file a second time. Reading stops at the first cell longer
than Excel allows, at the first row beyond the row cap, and when the check has taken
BATCH_UPLOAD_CHECK_SECONDS: a crafted file is refused, never read for minutes. The base
declaration's upload (contributions.declarations.excel) is read the same way (xlsx_sheet_rows).
"""

from __future__ import annotations

import io
import itertools
import logging
import time
import zipfile
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl.utils import get_column_letter

from enrollment.batch.template import (
    DATA_SHEET,
    EXAMPLE_MARK,
    HEADERS,
    MAX_EMPTY_RUN,
    MAX_PART_BYTES,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
    MAX_UPLOAD_BYTES,
    RESULT_HEADERS,
)
from enrollment.batch.xlsx import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    CellTooLong,
    SheetReader,
    TooComplex,
)

# How long the upload check's cells wait in the cache for the import task (then it re-reads).
CELLS_CACHE_SECONDS = 3600


NOT_XLSX = gettext_lazy(
    "文件不是有效的 Excel 工作簿(.xlsx)。请在 Excel 或 WPS 中“另存为 Excel 工作簿(*.xlsx)”后上传;"
    "旧版 .xls、CSV 或改了扩展名的文件不能导入。"
)
TOO_COMPLEX = gettext_lazy("文件过于复杂,请删除多余的行、列和格式后重新上传。")

logger = logging.getLogger(__name__)


def upload_check_seconds() -> float:
    """How long reading one uploaded workbook may take (setting BATCH_UPLOAD_CHECK_SECONDS)."""
    return getattr(settings, "BATCH_UPLOAD_CHECK_SECONDS", 20)


def xlsx_file_check(file) -> None:
    """Refuse a file that is too large or is not an XLSX package by content (not by name).

    The sizes are those the package declares; zipfile never unpacks more than a part declares.
    """
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, io.SEEK_END)
        size = file.tell()
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("文件大小为 %(size).1f MB,超过 %(limit)d MB 的上限,请拆分后分别上传。")
            % {"size": size / 1024 / 1024, "limit": MAX_UPLOAD_BYTES // (1024 * 1024)},
            code="too_large",
        )
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError(
            _("这是旧版 Excel 97-2003(.xls)文件。请在 Excel 或 WPS 中另存为 .xlsx 格式后上传。"),
            code="xls",
        )
    try:
        with zipfile.ZipFile(file) as package:
            entries = package.infolist()
            names = {entry.filename for entry in entries}
            unpacked = sum(entry.file_size for entry in entries)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ValidationError(NOT_XLSX, code="not_xlsx") from None
    finally:
        file.seek(0)
    if not {"[Content_Types].xml", "xl/workbook.xml"} <= names:
        raise ValidationError(NOT_XLSX, code="not_xlsx")
    if unpacked > MAX_UNPACKED_BYTES:
        raise ValidationError(NOT_XLSX, code="not_xlsx")
    if any(entry.file_size > MAX_PART_BYTES for entry in entries):
        raise ValidationError(TOO_COMPLEX, code="too_complex")


def xlsx_sheet_rows(file, *, sheet: str) -> Iterator[tuple[int, list]]:
    """Yield (row number, values) of an upload's sheet ``sheet`` (else its first) after
    xlsx_file_check, all within upload_check_seconds().

    Refuses with a ValidationError: a file that is not an XLSX package or stops being readable,
    a cell longer than Excel allows (named by row and column), and a reading over the time.
    """
    deadline = time.monotonic() + upload_check_seconds()
    xlsx_file_check(file)
    try:
        reader = SheetReader(file, preferred_sheet=sheet, deadline=deadline)
    except (CellTooLong, TooComplex) as exc:
        raise _refusal(exc) from None
    except Exception:  # noqa: BLE001 — openpyxl raises many types for a broken package
        raise ValidationError(NOT_XLSX, code="not_xlsx") from None
    rows = reader.rows()
    try:
        while True:
            try:
                item = next(rows)
            except StopIteration:
                return
            except (CellTooLong, TooComplex) as exc:
                raise _refusal(exc) from None
            except Exception:  # noqa: BLE001 — broken XML, a shared string that does not exist
                raise ValidationError(NOT_XLSX, code="not_xlsx") from None
            yield item
    finally:
        rows.close()
        reader.close()


def _refusal(exc: CellTooLong | TooComplex) -> ValidationError:
    if isinstance(exc, TooComplex):
        return ValidationError(TOO_COMPLEX, code="too_complex")
    return ValidationError(cell_too_long_message(exc.row, exc.column), code="cell_too_long")


def cell_too_long_message(row: int | None, column: int | None) -> str:
    """The refusal of a cell longer than Excel allows, named by row and column when known."""
    values = {"limit": f"{MAX_CELL_CHARS:,}", "row": row}
    if row and column and column <= MAX_COLUMNS:
        values["column"] = get_column_letter(column)
        return (
            _(
                "第%(row)d行%(column)s列的内容超过 %(limit)s 个字符(Excel 单元格的上限),"
                "请修改该单元格后重新上传。"
            )
            % values
        )
    if row:
        return (
            _(
                "第%(row)d行有单元格的内容超过 %(limit)s 个字符(Excel 单元格的上限),"
                "请修改后重新上传。"
            )
            % values
        )
    return (
        _("文件中有单元格的内容超过 %(limit)s 个字符(Excel 单元格的上限),请修改后重新上传。")
        % values
    )


def cell_text(value) -> str:
    """A cell as trimmed text; a whole number Excel stored as a float loses its ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def header_and_rows(rows, *, width: int) -> tuple[list[str], Iterator[tuple[int, tuple]]]:
    """Split a sheet's rows into its header and its filled rows.

    The header is row 1 as text, trailing blank cells dropped ([] when the sheet has no row 1).
    The rows after it come as (Excel row number, cells padded or cut to ``width``); empty rows
    are skipped, and reading stops after MAX_EMPTY_RUN empty rows in a row (formatted ones).
    """
    first = next(rows, None)
    pending = []
    header_cells: list = []
    if first is not None and first[0] == 1:
        header_cells = first[1]
    elif first is not None:
        pending.append(first)  # no row 1: an empty header, for the caller to refuse
    header = [cell_text(value) for value in header_cells]
    while header and not header[-1]:
        header.pop()

    def filled() -> Iterator[tuple[int, tuple]]:
        empty_run = 0
        expected = 2  # rows the file leaves out are empty rows
        for number, cells in itertools.chain(pending, rows):
            if number < expected:
                continue
            empty_run += number - expected
            if empty_run >= MAX_EMPTY_RUN:
                return
            expected = number + 1
            cells = tuple(cells[:width]) + (None,) * (width - len(cells))
            if all(cell_text(value) == "" for value in cells):
                empty_run += 1
                if empty_run >= MAX_EMPTY_RUN:
                    return
                continue
            empty_run = 0
            yield number, cells

    return header, filled()


def open_rows(file) -> Iterator[tuple[int, tuple]]:
    """Yield (Excel row number, cells) of the data rows after checking the header row.

    Reading stops with a ValidationError at the first filled row beyond MAX_ROWS data rows and
    the template's example row; the callers count the data rows themselves (MAX_ROWS).
    """
    rows = xlsx_sheet_rows(file, sheet=DATA_SHEET)
    width = len(HEADERS)
    try:
        header, filled = header_and_rows(rows, width=width)
        if header == [*HEADERS, *RESULT_HEADERS]:
            header = header[:width]  # a result report, corrected and uploaded again
        if header != HEADERS:
            raise ValidationError(_header_message(header), code="template")
        for count, (number, cells) in enumerate(filled, start=1):
            if count > MAX_ROWS + 1:  # example rows count too: the template has one
                raise ValidationError(too_many_rows_message(), code="too_many_rows")
            if cell_text(cells[0]).startswith(EXAMPLE_MARK):
                continue
            yield number, cells
    finally:
        rows.close()


def _header_message(header: list[str]) -> str:
    lead = _("文件不是本系统的批量增员模板")
    advice = _("请在本页下载最新模板,把数据复制到模板中(不要改动第1行表头)后重新上传。")
    if not header:
        return f"{lead}:{_('第1行没有表头。')}{advice}"
    for index, expected in enumerate(HEADERS):
        found = header[index] if index < len(header) else ""
        if found != expected:
            detail = _("第%(col)s列表头应为“%(expected)s”,实际为“%(found)s”。") % {
                "col": get_column_letter(index + 1),
                "expected": expected,
                "found": found or _("空"),
            }
            return f"{lead}:{detail}{advice}"
    extra = header[len(HEADERS)]
    detail = _("表头多出一列“%s”。") % extra
    return f"{lead}:{detail}{advice}"


def batch_inspect(file) -> int:
    """Check an upload (format, header, row cap) and return its number of data rows."""
    return len(batch_read_cells(file))


def batch_read_cells(file) -> list[tuple[int, tuple]]:
    """Check an upload (format, header, row cap) and return (row number, cells) of its rows."""
    cells = []
    for item in open_rows(file):
        cells.append(item)
        if len(cells) > MAX_ROWS:
            raise ValidationError(too_many_rows_message(), code="too_many_rows")
    if not cells:
        raise ValidationError(
            _("文件中没有需要导入的人员(示例行不导入)。请从第3行起填写后再上传。"), code="empty"
        )
    return cells


def _cells_cache_key(sha256: str) -> str:
    return f"enrollment:batch-cells:{sha256}"


def cells_cache_store(sha256: str, cells: list[tuple[int, tuple]]) -> None:
    """Keep what the upload check read for the import task, so the file is parsed once.

    Keyed by the file's SHA-256: the task finds exactly the cells of the stored file. A cache
    that is down or has evicted the entry only means the task reads the file again.
    """
    try:
        cache.set(_cells_cache_key(sha256), cells, CELLS_CACHE_SECONDS)
    except Exception:  # noqa: BLE001 — an optimisation only
        logger.warning("batch import cells not cached")


def cells_cached(sha256: str) -> list[tuple[int, tuple]] | None:
    """Take the cells cells_cache_store kept for this file, or None when the cache lost them."""
    try:
        cells = cache.get(_cells_cache_key(sha256))
        if cells is not None:
            cache.delete(_cells_cache_key(sha256))
    except Exception:  # noqa: BLE001
        return None
    return cells if isinstance(cells, list) else None


def too_many_rows_message() -> str:
    """The refusal of a file with more than MAX_ROWS rows."""
    return _("文件中的人员超过 %(max)d 行,单次最多导入 %(max)d 行,请拆分为多个文件分别上传。") % {
        "max": MAX_ROWS
    }
