"""税务征收 end to end in real Chromium: confirm a bill of a tax_bureau region, see its
应征凭证序号 and how to pay, pay part of it and then the rest at the sandbox 电子税务局, and see
the 电子缴款凭证号 on the bill page."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from contributions.models import BillStatus, CollectionMode, CollectionOrder, MonthlyBill
from tests.contributions.collection.helpers import tax_unit
from tests.e2e.conftest import DESKTOP
from tests.e2e.test_accessibility import serious_violations
from tests.e2e.test_contributions_flow import log_in

pytestmark = pytest.mark.e2e


def test_confirm_then_pay_in_part_and_in_full_at_the_sandbox_tax_bureau(
    browser, live_server, transactional_db, settings
):
    settings.SANDBOX_PROVIDERS = True
    settings.SANDBOX_BANK_SETTLEMENT_DAYS = 3
    settings.COLLECTION_ADAPTER = "sandbox"
    _employer, agent, bill = tax_unit(mode=CollectionMode.TAX_BUREAU)
    # bypass_csp: axe is injected to check the two new pages (as tests/e2e/test_accessibility).
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    try:
        log_in(page, live_server, agent)
        page.goto(f"{live_server.url}/contributions/bills/{bill.reference}/")
        expect(page.locator("[data-collection]")).to_contain_text(
            "确认核定单后，应征数据将推送税务部门"
        )
        page.get_by_role("button", name="确认核定单").click()
        expect(page.locator("body")).to_contain_text("应征数据正推送税务部门")
        order = CollectionOrder.objects.get(bill=bill)
        assert order.status == CollectionOrder.Status.SENT
        expect(page.locator("[data-voucher]")).to_have_text(order.voucher_number)
        expect(page.locator("[data-how-to-pay]")).to_contain_text("电子税务局")
        expect(page.locator("[data-how-to-pay]")).to_contain_text("三方协议")
        expect(page.get_by_role("button", name="发起扣款")).to_have_count(0)
        assert not serious_violations(page)

        page.get_by_role("link", name="（测试环境）去模拟电子税务局缴款").click()
        assert not serious_violations(page)
        form = page.locator(f"form[data-voucher='{order.voucher_number}']")
        form.get_by_label("本次缴款金额(元)").fill("1000.00")
        form.get_by_role("button", name="缴款", exact=True).click()
        expect(page).to_have_url(re.compile(rf"/contributions/bills/{bill.reference}/$"))
        expect(page.locator("[data-collection]")).to_have_attribute(
            "data-collection", "partially_paid"
        )
        owed = bill.total - Decimal("1000.00")
        expect(page.locator("[data-partial]")).to_contain_text(f"尚欠 {owed:,.2f} 元")

        page.get_by_role("link", name="（测试环境）去模拟电子税务局缴款").click()
        form = page.locator(f"form[data-voucher='{order.voucher_number}']")
        form.get_by_role("button", name="缴款", exact=True).click()
        expect(page.locator("[data-bill-status]")).to_have_text("已扣款")
        order.refresh_from_db()
        expect(page.locator("[data-receipt]")).to_contain_text(order.receipt_number)
        expect(page.locator("tr[data-payment-status=debited]")).to_have_count(2)
        assert MonthlyBill.objects.get(pk=bill.pk).status == BillStatus.DEBITED
    finally:
        context.close()
