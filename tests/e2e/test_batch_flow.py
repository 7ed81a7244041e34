"""批量增员 in real Chromium: an enrolment agent downloads the template, uploads a workbook of
3 good and 2 bad rows built from it, watches the progress page reach 100 %, and reads the
错误原因 of the bad rows back from the downloaded report."""

import io
import re

import pytest
from captcha.models import CaptchaStore
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from enrollment.batch.template import DATA_SHEET, EXAMPLE_MARK, HEADERS, RESULT_HEADERS
from enrollment.models import AddEmployeeFiling
from tests.e2e.conftest import DESKTOP
from tests.enrollment.add_helpers import unit_with_agent
from tests.factories import make_resident_id

pytestmark = pytest.mark.e2e

PASSWORD = "Test2026pass"  # tests.factories.create_agent's default


def log_in(page, live_server, agent) -> None:
    """Log the agent in through /login/, answering the captcha from the database."""
    page.goto(live_server.url + "/login/")
    page.fill("#id_unit", agent.employer.ss_number)
    page.fill("#id_id_number", agent.id_number)
    page.fill("#id_password", PASSWORD)
    key = page.locator("input[name=captcha_0]").input_value()
    page.fill("input[name=captcha_1]", CaptchaStore.objects.get(hashkey=key).response.upper())
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(live_server.url + "/dashboard/")


def wrong_checksum(number: str) -> str:
    """The same ID number with a check character that does not match."""
    last = number[-1]
    return number[:-1] + ("0" if last != "0" else "1")


def row(name: str, number: str, base: str = "8000") -> dict:
    today = timezone.localdate()
    return {
        "姓名": name,
        "证件类型": "居民身份证",
        "证件号码": number,
        "国籍": "中国",
        "户籍类型": "本市城镇",
        "手机号": "13900001111",
        "用工形式": "城镇合同制职工",
        "参保险种": "110,210,310,410",
        "参保起始年月": today.strftime("%Y-%m"),
        "用工日期": today.replace(day=1).isoformat(),
        "月缴费工资": base,
    }


def read_sheet(data: bytes, sheet_name: str | None = None) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    sheet = workbook[sheet_name] if sheet_name else workbook.active
    values = [tuple(r) for r in sheet.iter_rows(values_only=True)]
    workbook.close()
    return values


def test_batch_upload_progress_and_report_in_the_browser(
    browser, live_server, transactional_db, tmp_path
):
    _employer, agent = unit_with_agent()
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    log_in(page, live_server, agent)

    page.goto(live_server.url + "/enrollment/batch/")
    expect(page.locator("h1")).to_have_text("批量增员")

    # The template: an XLSX (a zip package) whose first sheet has the expected header row.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载批量增员模板").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    template = tmp_path / "template.xlsx"
    download.save_as(template)
    data = template.read_bytes()
    assert data[:2] == b"PK"
    assert list(read_sheet(data, DATA_SHEET)[0])[: len(HEADERS)] == HEADERS

    # Fill the downloaded template from row 3 (row 2 is the example, skipped on import).
    good = [
        ("赵一", make_resident_id("19900101", "male")),
        ("钱二", make_resident_id("19910202", "female")),
        ("孙三", make_resident_id("19920303", "male")),
    ]
    bad_id = ("李四", wrong_checksum(make_resident_id("19930404", "female")))
    low_base = ("周五", make_resident_id("19940505", "male"))
    rows = [
        row(*good[0]),
        row(*bad_id),
        row(*good[1]),
        row(*low_base, base="5000"),
        row(*good[2]),
    ]
    workbook = load_workbook(template)
    sheet = workbook[DATA_SHEET]
    for number, values in enumerate(rows, start=3):
        for column, header in enumerate(HEADERS, start=1):
            # Strings throughout: the ID number keeps all 18 characters as Excel text does.
            sheet.cell(row=number, column=column, value=values.get(header))
    upload = tmp_path / "增员名单.xlsx"
    workbook.save(upload)

    page.set_input_files("#id_file", str(upload))
    page.get_by_role("button", name="上传并导入").click()
    expect(page).to_have_url(re.compile(r"/enrollment/batch/PL[0-9A-F]+/$"))
    expect(page.locator("[data-error-summary]")).to_have_count(0)

    # The progress page reaches 100 % and shows the counts.
    expect(page.locator("[data-progress-bar]")).to_have_text("100%")
    expect(page.locator("[data-progress]")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("[data-field=status_label]")).to_have_text("已完成")
    expect(page.locator("[data-field=processed_rows]")).to_have_text("5")
    expect(page.locator("[data-field=total_rows]")).to_have_text("5")
    expect(page.locator("[data-result]")).to_be_visible()
    expect(page.locator("[data-field=created_count]")).to_have_text("3")
    expect(page.locator("[data-field=duplicate_count]")).to_have_text("0")
    expect(page.locator("[data-field=error_count]")).to_have_text("2")
    assert AddEmployeeFiling.objects.filter(employer=agent.employer).count() == 3

    # The report: the uploaded columns, then 结果 and 错误原因.
    report_link = page.locator("[data-report-link]")
    expect(report_link).to_have_attribute("href", re.compile(r"/report\.xlsx$"))
    with page.expect_download() as download_info:
        report_link.click()
    report = tmp_path / "report.xlsx"
    download_info.value.save_as(report)
    values = read_sheet(report.read_bytes())
    header = list(values[0])
    assert header == [*HEADERS, *RESULT_HEADERS]
    # Rows stay on their uploaded row numbers: row 2 marks the template's example row.
    assert str(values[1][0]).startswith(EXAMPLE_MARK)
    by_name = {r[0]: dict(zip(header, r, strict=True)) for r in values[2:]}
    assert set(by_name) == {name for name, _number in [*good, bad_id, low_base]}

    for name, _number in good:
        assert by_name[name]["结果"].startswith("成功"), by_name[name]
        assert not by_name[name]["错误原因"]
    for name, _number in (bad_id, low_base):
        assert by_name[name]["结果"] == "未导入", by_name[name]
    assert "证件号码" in by_name[bad_id[0]]["错误原因"]
    assert "校验位不正确" in by_name[bad_id[0]]["错误原因"]
    assert "月缴费工资" in by_name[low_base[0]]["错误原因"]
    assert "7520" in by_name[low_base[0]]["错误原因"]
    context.close()
