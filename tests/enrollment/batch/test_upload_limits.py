"""批量增员 uploads that would take long to read are refused early, and nothing is stored."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError

from enrollment.batch import reader as reader_module
from enrollment.batch import rows as rows_module
from enrollment.batch import xlsx as xlsx_module
from enrollment.batch.reader import batch_read_cells
from enrollment.batch.template import EXAMPLE_MARK
from enrollment.models import BatchImport
from tests.enrollment.batch.test_batch import (  # noqa: F401
    agent,
    agent_client,
    good_row,
    upload,
    workbook_bytes,
)
from tests.enrollment.batch.workbooks import with_part, with_shared_strings

pytestmark = pytest.mark.django_db

SHEET_PART = "xl/worksheets/sheet1.xml"
TOO_COMPLEX = "文件过于复杂,请删除多余的行、列和格式后重新上传。"
AS_EXCEL_SAVES = [
    pytest.param(lambda data: data, id="inline"),
    pytest.param(with_shared_strings, id="shared"),
]


def with_long_text(data: bytes, marker: str, text: str) -> bytes:
    """Put ``text`` where the sheet has ``marker`` (openpyxl cuts what it writes at 32,767)."""
    return with_part(data, SHEET_PART, lambda sheet: sheet.replace(marker, text))


def refusal(agent_client, data: bytes) -> str:  # noqa: F811
    """Upload ``data``; return the page's text after checking that nothing was stored."""
    response = agent_client.post("/enrollment/batch/", {"file": upload(data)})
    assert response.status_code == 200
    assert not BatchImport.objects.exists()
    return response.content.decode()


@pytest.mark.parametrize("saved", AS_EXCEL_SAVES)
def test_a_cell_longer_than_excel_allows_is_refused_by_row_and_column(agent_client, saved):  # noqa: F811
    data = workbook_bytes([good_row("甲"), good_row("乙", number="LONG")])
    data = saved(with_long_text(data, "LONG", "1" * 40_000))
    body = refusal(agent_client, data)
    assert "第3行C列的内容超过 32,767 个字符(Excel 单元格的上限)" in body


@pytest.mark.parametrize("saved", AS_EXCEL_SAVES)
def test_a_cell_of_megabytes_is_refused_without_being_read_whole(agent_client, saved):  # noqa: F811
    # Far beyond what the reader takes in before it stops: over 1 MB without an element's end.
    data = workbook_bytes([good_row("甲"), good_row("乙"), good_row("HUGE")])
    data = saved(with_long_text(data, "HUGE", "名" * 2_000_000))
    assert "第4行A列的内容超过 32,767 个字符" in refusal(agent_client, data)


def test_a_long_shared_string_no_cell_shows_is_refused_too():
    data = with_part(
        with_shared_strings(workbook_bytes([good_row()])),
        "xl/sharedStrings.xml",
        lambda text: text.replace("</sst>", f"<si><t>{'x' * 40_000}</t></si></sst>"),
    )
    with pytest.raises(ValidationError) as caught:
        batch_read_cells(io.BytesIO(data))
    assert caught.value.messages == [
        "文件中有单元格的内容超过 32,767 个字符(Excel 单元格的上限),请修改后重新上传。"
    ]


def test_cells_of_exactly_the_limit_are_read():
    data = with_shared_strings(workbook_bytes([good_row(**{"手机号": "1" * 32_767})]))
    [(number, cells)] = batch_read_cells(io.BytesIO(data))
    assert number == 2 and cells[7] == "1" * 32_767


def test_reading_stops_at_the_first_row_over_the_limit(agent_client, monkeypatch):  # noqa: F811
    for module in (reader_module, rows_module):
        monkeypatch.setattr(module, "MAX_ROWS", 3)
    # A cell far below would be refused for its length, had the reading gone on to it.
    rows = [good_row() for _ in range(4)] + [{}] * 40 + [good_row("LONG")]
    body = refusal(agent_client, with_long_text(workbook_bytes(rows), "LONG", "名" * 40_000))
    assert "单次最多导入 3 行" in body and "32,767" not in body


def test_example_rows_count_towards_the_row_limit(monkeypatch):
    for module in (reader_module, rows_module):
        monkeypatch.setattr(module, "MAX_ROWS", 3)
    examples = [good_row(f"{EXAMPLE_MARK}张三") for _ in range(5)]
    with pytest.raises(ValidationError, match="单次最多导入 3 行"):
        batch_read_cells(io.BytesIO(workbook_bytes([*examples, good_row()])))
    # The template's one example row is not a data row.
    assert len(batch_read_cells(io.BytesIO(workbook_bytes([examples[0], *[good_row()] * 3])))) == 3


def test_a_part_that_unpacks_beyond_its_limit_is_refused_before_parsing(agent_client, monkeypatch):  # noqa: F811
    data = workbook_bytes([good_row() for _ in range(30)])
    monkeypatch.setattr(reader_module, "MAX_PART_BYTES", 10_000)  # the sheet is about 20 kB
    assert TOO_COMPLEX in refusal(agent_client, data)
    monkeypatch.setattr(reader_module, "MAX_PART_BYTES", 100_000)
    assert len(batch_read_cells(io.BytesIO(data))) == 30


def test_a_styles_part_too_large_for_openpyxl_is_refused(monkeypatch):
    bloated = with_part(
        workbook_bytes([good_row()]),
        "xl/styles.xml",
        lambda text: text.replace("</fonts>", "<font><sz val='11'/></font>" * 200 + "</fonts>"),
    )
    monkeypatch.setattr(xlsx_module, "MAX_WHOLE_PART_BYTES", 5_000)
    with pytest.raises(ValidationError) as caught:
        batch_read_cells(io.BytesIO(bloated))
    assert caught.value.messages == [TOO_COMPLEX]
    assert len(batch_read_cells(io.BytesIO(workbook_bytes([good_row()])))) == 1


def test_a_check_over_its_time_is_refused(agent_client, settings):  # noqa: F811
    data = workbook_bytes([good_row("甲"), good_row("乙")])
    settings.BATCH_UPLOAD_CHECK_SECONDS = 0
    assert TOO_COMPLEX in refusal(agent_client, data)
    settings.BATCH_UPLOAD_CHECK_SECONDS = 20
    assert len(batch_read_cells(io.BytesIO(data))) == 2


def test_a_cell_beyond_the_last_column_is_not_a_workbook():
    data = with_part(
        workbook_bytes([good_row()]),
        SHEET_PART,
        lambda text: text.replace(
            "</sheetData>", '<row r="3"><c r="ZZZZZZ3"><v>1</v></c></row></sheetData>'
        ),
    )
    with pytest.raises(ValidationError, match="不是有效的 Excel 工作簿"):
        batch_read_cells(io.BytesIO(data))
