"""The batch import's fast paths give what the plain ones gave: reading, the report, one parse."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.cache import cache
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from enrollment.batch import reader as reader_module
from enrollment.batch import rows as rows_module
from enrollment.batch.process import batch_import_create, batch_process
from enrollment.batch.template import DATA_SHEET, HEADERS
from enrollment.batch.xlsx import SheetReader, Styled, write_sheet
from tests.enrollment.batch.test_batch import agent, good_row, upload, workbook_bytes  # noqa: F401
from tests.enrollment.batch.workbooks import with_shared_strings

pytestmark = pytest.mark.django_db


def openpyxl_rows(data: bytes, sheet_name: str) -> list[list]:
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = workbook[sheet_name]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


@pytest.mark.parametrize(
    "saved",
    [pytest.param(lambda data: data, id="inline"), pytest.param(with_shared_strings, id="shared")],
)
def test_sheet_reader_gives_the_values_openpyxl_gives(saved):
    workbook = Workbook()
    other = workbook.active
    other.title = "说明"
    other["A1"] = "not this sheet"
    sheet = workbook.create_sheet(DATA_SHEET)
    sheet.append(["文本", 12, 3.5, True, None, "  空格  "])
    sheet.append(
        [datetime.datetime(2026, 3, 1, 8, 30), datetime.date(1990, 1, 2), 110105199001021234]  # noqa: DTZ001 — Excel has no time zones
    )
    sheet["A4"] = "跳过一行"
    sheet["C4"] = "=1+1"
    sheet["D5"] = 0.1
    sheet["D5"].number_format = "yyyy-mm-dd"  # a number shown as a date is a date
    sheet["E5"] = CellRichText(["普通 ", TextBlock(InlineFont(b=True), "加粗")])
    sheet["F5"] = "x005F_escaped"
    output = io.BytesIO()
    workbook.save(output)
    data = saved(output.getvalue())

    expected = openpyxl_rows(data, DATA_SHEET)
    with SheetReader(io.BytesIO(data), preferred_sheet=DATA_SHEET) as reader:
        got = {number: values for number, values in reader.rows()}
    assert sorted(got) == [1, 2, 4, 5]  # row 3 was never written
    for number, values in got.items():
        row = expected[number - 1]
        assert values == row[: len(values)], number
        assert all(value is None for value in row[len(values) :])
    assert got[1][5] == "  空格  "
    assert isinstance(got[2][0], datetime.datetime)
    assert got[4][2] is None  # data_only: a formula without a cached value reads as empty
    assert got[5][4] == "普通 加粗"


def test_written_report_opens_in_openpyxl_with_styles():
    data = write_sheet(
        title="导入结果",
        rows=[
            [Styled("姓名", "bold"), Styled("结果", "bold")],
            ["<张&三>", Styled("未导入", "red"), Styled("11010519900307001X", "text"), 8000],
            [
                " 前后空格 ",
                datetime.datetime(2026, 1, 2, 3, 4, 5),  # noqa: DTZ001 — Excel has no time zones
                datetime.date(2026, 1, 2),
                None,
                True,
            ],
        ],
        widths={1: 12, 2: 44},
    )
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.active
    assert sheet.title == "导入结果"
    assert sheet["A1"].font.b and sheet["B2"].font.color.rgb == "FFC00000"
    assert sheet["A2"].value == "<张&三>"
    assert sheet["C2"].value == "11010519900307001X" and sheet["C2"].number_format == "@"
    assert sheet["D2"].value == 8000
    assert sheet["A3"].value == " 前后空格 "
    assert sheet["B3"].value == datetime.datetime(2026, 1, 2, 3, 4, 5)  # noqa: DTZ001 — Excel has no time zones
    assert sheet["C3"].value == datetime.datetime(2026, 1, 2, 0, 0)  # noqa: DTZ001 — Excel has no time zones
    assert sheet["D3"].value is None and sheet["E3"].value is True
    assert sheet.column_dimensions["B"].width == 44


def test_the_file_is_parsed_once_when_the_cache_holds_the_upload_check(
    agent,  # noqa: F811
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    reads = []
    original = reader_module.open_rows
    for module in (reader_module, rows_module):  # the upload check reads, and so does the task
        monkeypatch.setattr(module, "open_rows", lambda f: reads.append(1) or original(f))
    rows = [good_row("甲"), good_row("乙")]
    with django_capture_on_commit_callbacks(execute=True):
        batch = batch_import_create(agent=agent, file=upload(workbook_bytes(rows)))
    batch.refresh_from_db()
    assert batch.created_count == 2 and len(reads) == 1


def test_without_the_cache_the_task_reads_the_file(agent, monkeypatch):  # noqa: F811
    reads = []
    original = reader_module.open_rows
    for module in (reader_module, rows_module):  # the upload check reads, and so does the task
        monkeypatch.setattr(module, "open_rows", lambda f: reads.append(1) or original(f))
    batch = batch_import_create(agent=agent, file=upload(workbook_bytes([good_row("甲")])))
    cache.clear()
    batch = batch_process(batch.pk)
    assert batch.created_count == 1 and len(reads) == 2
    assert HEADERS[0] == "姓名"
