"""批量增员 result report: the rows as uploaded, with 结果 and 错误原因, as a one-sheet XLSX."""

from __future__ import annotations

from django.utils.translation import gettext as _

from enrollment.batch.reader import cell_text
from enrollment.batch.rows import BatchRow
from enrollment.batch.template import COLUMNS, EXAMPLE_MARK, HEADERS, LABELS, RESULT_HEADERS
from enrollment.batch.xlsx import Styled, write_sheet

# Row 2 of the template holds the example; it is never imported, and a re-upload skips it.
EXAMPLE_LEFT_OUT = f"{EXAMPLE_MARK}示例行,未导入"


def batch_report_workbook(rows: list[BatchRow], results: dict[int, str | tuple[str, str]]) -> bytes:
    """Return the report: the uploaded columns, then 结果 and 错误原因 for every row.

    Each row stays on the row number it had in the uploaded file, so that "第N行" in a message
    and the row numbers Excel shows agree; the rows left out (the template's example row, empty
    rows) stay empty, the example row marked as such. A result is a text (结果), or a pair
    (结果, 错误原因) for a row that was read but not filed (a duplicate).
    """
    widths = {index: column.width for index, column in enumerate(COLUMNS, start=1)}
    widths[len(COLUMNS) + 1] = 44
    widths[len(COLUMNS) + 2] = 60
    text_columns = [index for index, column in enumerate(COLUMNS) if column.text]
    id_column = HEADERS.index(LABELS["document_number"])
    failed = Styled(_("未导入"), "red")

    def lines():
        yield [Styled(text, "bold") for text in [*HEADERS, *RESULT_HEADERS]]
        position = 2
        for index, row in enumerate(rows):
            while position < row.number:
                yield [EXAMPLE_LEFT_OUT] if position == 2 else []
                position += 1
            position += 1
            values = list(row.cells)
            for position in text_columns:
                if values[position] is not None:
                    values[position] = cell_text(values[position])
            if values[id_column] is not None:
                # Keep the ID column as text, so that a corrected report can be uploaded again.
                values[id_column] = Styled(values[id_column], "text")
            result = results.get(index, "")
            if row.errors:
                values += [failed, row.error_text()]
            elif isinstance(result, tuple):
                values += [Styled(result[0], "red"), result[1]]
            else:
                values += [result, ""]
            yield values

    return write_sheet(title=_("导入结果"), rows=lines(), widths=widths)
