"""批量增员 result report: the rows as uploaded, with 结果 and 错误原因, as a one-sheet XLSX."""

from __future__ import annotations

from django.utils.translation import gettext as _

from enrollment.batch.reader import cell_text
from enrollment.batch.rows import BatchRow
from enrollment.batch.template import COLUMNS, HEADERS, LABELS, RESULT_HEADERS
from enrollment.batch.xlsx import Styled, write_sheet


def batch_report_workbook(rows: list[BatchRow], results: dict[int, str]) -> bytes:
    """Return the report: the uploaded columns, then 结果 and 错误原因 for every row."""
    widths = {index: column.width for index, column in enumerate(COLUMNS, start=1)}
    widths[len(COLUMNS) + 1] = 44
    widths[len(COLUMNS) + 2] = 60
    text_columns = [index for index, column in enumerate(COLUMNS) if column.text]
    id_column = HEADERS.index(LABELS["document_number"])
    failed = Styled(_("未导入"), "red")

    def lines():
        yield [Styled(text, "bold") for text in [*HEADERS, *RESULT_HEADERS]]
        for index, row in enumerate(rows):
            values = list(row.cells)
            for position in text_columns:
                if values[position] is not None:
                    values[position] = cell_text(values[position])
            if values[id_column] is not None:
                # Keep the ID column as text, so that a corrected report can be uploaded again.
                values[id_column] = Styled(values[id_column], "text")
            if row.errors:
                values += [failed, row.error_text()]
            else:
                values += [results.get(index, ""), ""]
            yield values

    return write_sheet(title=_("导入结果"), rows=lines(), widths=widths)
