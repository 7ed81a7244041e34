"""An enrolment agent adds an employee with attachments in real Chromium, downloads the
registration form (its text holds the name in Chinese), a clerk approves it in the admin, the
filing shows 正常 and the roster lists the person as 正常."""

import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from enrollment.models import AddEmployeeFiling
from tests.e2e.conftest import DESKTOP
from tests.enrollment.add_helpers import jpg_bytes, pdf_bytes, this_month, unit_with_agent
from tests.factories import create_clerk, make_resident_id

pytestmark = pytest.mark.e2e


def agent_page(browser, live_server, agent):
    """A browser context where the agent logged in through the login page."""
    from captcha.models import CaptchaStore
    from django.urls import reverse

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.goto(live_server.url + reverse("accounts:login"))
    page.fill("#id_unit", agent.employer.ss_number)
    page.fill("#id_id_number", agent.id_number)
    page.fill("#id_password", "Test2026pass")
    key = page.locator("input[name=captcha_0]").input_value()
    page.fill("input[name=captcha_1]", CaptchaStore.objects.get(hashkey=key).response.upper())
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()
    return page


def test_agent_adds_employee_downloads_form_and_clerk_approves(
    browser, live_server, transactional_db, admin_login, tmp_path
):
    _employer, agent = unit_with_agent()
    page = agent_page(browser, live_server, agent)
    page.goto(live_server.url + "/enrollment/add/")
    expect(page.locator("[data-base-bounds]")).to_contain_text("7520")

    page.fill("#id_name", "陈美玲")
    page.fill("#id_document_number", make_resident_id("19920606", "female"))
    page.select_option("#id_hukou_type", "nonlocal_urban")
    page.select_option("#id_employment_form", label="城镇合同制职工")
    page.fill("#id_start_month", this_month().strftime("%Y-%m"))
    page.fill("#id_contribution_base", "12000")
    contract, scan = tmp_path / "劳动合同.pdf", tmp_path / "身份证.jpg"
    contract.write_bytes(pdf_bytes())
    scan.write_bytes(jpg_bytes())
    page.set_input_files("#id_labour_contract", str(contract))
    page.set_input_files("#id_id_scan", str(scan))
    page.get_by_role("button", name="提交增员申请").click()
    page.wait_for_load_state()
    errors = page.locator("[data-error-summary]")
    assert errors.count() == 0, errors.inner_text()
    expect(page.locator("h1")).to_contain_text("增员申请 ZY")

    filing = AddEmployeeFiling.objects.get()
    expect(page.locator("h1")).to_contain_text(filing.reference)
    expect(page.locator("[data-enrolment-status]")).to_have_text("待审核")
    with page.expect_download() as download_info:
        page.click("text=下载登记表(PDF)")
    data = tmp_path / "form.pdf"
    download_info.value.save_as(data)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data.read_bytes())).pages)
    assert "陈美玲" in text and filing.reference in text

    clerk = create_clerk("e2e-enrolment-clerk")
    admin = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    admin_login(admin, live_server, clerk)
    admin.goto(live_server.url + "/admin/enrollment/addemployeefiling/")
    admin.click(f"text={filing.reference}")
    expect(admin.locator("text=身份证件扫描件:身份证.jpg")).to_have_count(1)
    admin.click("button[name=approve]")
    expect(admin.locator(".messagelist")).to_contain_text("已审核")

    page.reload()
    expect(page.locator("[data-enrolment-status]")).to_have_text("正常")

    # The roster lists the person, active.
    page.goto(live_server.url + "/enrollment/roster/")
    row = page.locator("tbody tr", has=page.locator("th", has_text="陈美玲"))
    expect(row).to_have_count(1)
    expect(row.locator("td").last).to_have_text("正常")
