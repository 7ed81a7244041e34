"""In real Chromium (issue 17, item 7): a 缴费申报员 files a 补缴申请 for an employee enrolled
late (the page shows the amounts and the late fee before submitting), a clerk approves it in the
admin, and the 补缴 bill is in the unit's 缴费确认 list."""

import re

import pytest
from playwright.sync_api import expect

from contributions.models import BackPayApplication, BillKind, MonthlyBill
from tests.contributions.backpay.helpers import Unit, months_ago
from tests.e2e.conftest import DESKTOP
from tests.e2e.test_agent_roles_flow import log_in
from tests.e2e.test_benefits_flow import clerk_approves
from tests.enrollment.add_helpers import pdf_bytes
from tests.factories import create_clerk

pytestmark = pytest.mark.e2e

PASSWORD = "Test2026pass"  # tests.factories.create_agent's


def test_a_backpay_application_approved_by_a_clerk_becomes_a_bill(
    browser, live_server, transactional_db, admin_login
):
    unit = Unit("补缴浏览器测试有限公司")
    lei = unit.late_joiner("李雷", started=6, enrolled=2)
    clerk = create_clerk("e2e-backpay-clerk")
    clerk_page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    admin_login(clerk_page, live_server, clerk)

    page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    log_in(
        page,
        live_server,
        unit=unit.employer.ss_number,
        id_number=unit.agent.id_number,
        password=PASSWORD,
    )
    page.get_by_role("link", name="补缴申请").first.click()
    expect(page.locator("h1")).to_contain_text("补缴申请")
    page.get_by_role("link", name="新建补缴申请").click()
    page.fill("#id_document_number", lei.person.document_number)
    page.fill("#id_reason", "入职后未及时办理参保登记")
    page.fill("#id_months_0_month", f"{months_ago(5):%Y-%m}")
    page.fill("#id_months_0_base", "9000")
    page.fill("#id_months_1_month", f"{months_ago(4):%Y-%m}")
    page.fill("#id_months_1_base", "9000")
    page.get_by_role("button", name="计算补缴金额").click()
    # Base 9000: 养老 1440 + 720, 医疗 882 + 180, 失业 45 + 45, 工伤 18 = 3330.00 a month.
    table = page.locator("[data-backpay-figures]")
    expect(table).to_be_visible()
    expect(page.locator("[data-contribution-total]")).to_have_text("6,660.00")
    expect(table.locator("[data-late-fee]").first).to_contain_text("× 0.05% ×")
    assert BackPayApplication.objects.count() == 0
    page.set_input_files(
        "#id_evidence",
        files=[{"name": "劳动合同.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}],
    )
    page.get_by_role("button", name="提交补缴申请").click()
    expect(page).to_have_url(re.compile(r"/contributions/backpay/BJ"))
    application = BackPayApplication.objects.get()
    expect(page.locator("h1")).to_contain_text(application.reference)
    expect(page.locator("[data-total]").first).to_have_text(f"{application.total:,.2f}")

    clerk_approves(clerk_page, live_server, application)

    page.goto(live_server.url + application.get_absolute_url())
    expect(page.locator("[data-backpay-billed]")).to_be_visible()
    bills = MonthlyBill.objects.filter(kind=BillKind.BACKPAY).order_by("month")
    assert bills.count() == 2
    assert sum(bill.total for bill in bills) == application.total
    page.get_by_role("link", name=re.compile(f"补缴核定单 {bills[0].reference}")).click()
    expect(page.locator("[data-bill-backpay-late-fee]")).to_contain_text(
        f"{bills[0].late_fee:,.2f}"
    )
    page.goto(live_server.url + "/contributions/bills/awaiting/")
    for bill in bills:
        expect(page.locator(f'main a[href$="/{bill.reference}/"]')).to_have_text(
            f"{bill.month:%Y-%m}"
        )
    expect(page.locator("main")).to_contain_text("补缴申请")


def test_the_backpay_pages_have_no_serious_accessibility_violations(
    browser, live_server, transactional_db
):
    from tests.e2e.test_accessibility import serious_violations

    unit = Unit("补缴无障碍测试有限公司")
    lei = unit.late_joiner("韩梅梅")
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    log_in(
        page,
        live_server,
        unit=unit.employer.ss_number,
        id_number=unit.agent.id_number,
        password=PASSWORD,
    )
    found = {}
    for path in ("/contributions/backpay/", "/contributions/backpay/new/"):
        page.goto(live_server.url + path)
        if violations := serious_violations(page):
            found[path] = violations
    # A refused row: the field's error text must read (contrast) like the rest.
    page.fill("#id_document_number", lei.person.document_number)
    page.fill("#id_reason", "入职后未及时办理参保登记")
    page.fill("#id_months_0_month", f"{months_ago(5):%Y-%m}")
    page.fill("#id_months_0_base", "1")
    page.get_by_role("button", name="计算补缴金额").click()
    expect(page.locator(".invalid-feedback, .text-danger").first).to_be_visible()
    if violations := serious_violations(page):
        found["refused row"] = violations
    # The form with the figures shown.
    page.fill("#id_document_number", lei.person.document_number)
    page.fill("#id_reason", "入职后未及时办理参保登记")
    page.fill("#id_months_0_month", f"{months_ago(5):%Y-%m}")
    page.fill("#id_months_0_base", "9000")
    page.get_by_role("button", name="计算补缴金额").click()
    expect(page.locator("[data-backpay-figures]")).to_be_visible()
    if violations := serious_violations(page):
        found["figures"] = violations
    context.close()
    assert not found, found
