"""In real Chromium (issue 15): a clerk logs in with password and TOTP code in one submit and
reads a registration, a 增员 filing and a 缴费基数申报 in the admin: Chinese words only, no JSON,
the decision panel on top, attachments previewed inline, common reasons filling the comment."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP
from tests.factories import create_clerk
from tests.portal.review_pages import (
    submitted_add_filing,
    submitted_declaration,
    submitted_registration,
)

pytestmark = pytest.mark.e2e

# Words a Chinese clerk's screen may hold: file extensions of the attachments' own names.
ALLOWED_WORDS = {"pdf", "PDF", "jpg"}


def change_path(item) -> str:
    opts = item._meta
    return f"/admin/{opts.app_label}/{opts.model_name}/{item.pk}/change/"


def test_clerk_logs_in_once_and_reads_review_pages_in_chinese(
    browser, live_server, transactional_db, admin_login
):
    items = [submitted_registration(), submitted_add_filing(), submitted_declaration()]
    clerk = create_clerk("e2e-reviewer", first_name="审核", last_name="钱")
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text or "Refused" in message.text
            else None
        ),
    )

    page.goto(live_server.url + "/admin/login/")
    login_form = page.locator("#login-form")
    expect(login_form.get_by_label("动态验证码")).to_be_visible()
    assert login_form.locator("select").count() == 0  # no device to choose
    assert login_form.locator("[type=submit]").count() == 1
    admin_login(page, live_server, clerk)  # one submit: user name, password, code

    for item in items:
        page.goto(live_server.url + change_path(item))
        page.wait_for_load_state("networkidle")
        main = page.locator("#content-start")
        text = main.inner_text()
        assert item.reference in text and item.employer.name in text
        # Business numbers (ZC…, ZY…, JS… with hexadecimal digits) are codes, not words.
        words = text.replace(item.reference, "")
        english = sorted(set(re.findall(r"[A-Za-z]{3,}", words)) - ALLOWED_WORDS)
        assert english == [], f"{item.reference}: {english}"
        assert "{" not in text and '":' not in text, f"{item.reference}: JSON on the page"
        panel = page.locator(".review-decision-panel")
        expect(panel.get_by_role("button", name="审核通过")).to_be_visible()
        expect(panel.get_by_role("button", name="不予通过")).to_be_visible()
        expect(main.get_by_role("button", name="保存")).to_have_count(0)
        expect(main.locator("#review-history-title")).to_be_visible()
        assert "系统" in main.locator(".review-history").inner_text()

    # The 增员 filing: the ID scan shows as an image, the contract and the form as framed PDFs.
    page.goto(live_server.url + change_path(items[1]))
    scan = page.locator(".review-file-image img")
    expect(scan).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=scan.element_handle())
    expect(page.locator(".review-file-pdf iframe")).to_have_count(2)

    # A common reason fills the comment; the clerk may still edit it.
    reason = page.locator("button.review-reason").first
    reason.click()
    assert page.locator("#id_comment").input_value() == reason.get_attribute("data-reason")
    page.locator("#id_comment").press("End")
    page.locator("#id_comment").type("(第2页)")
    page.get_by_role("button", name="不予通过").click()
    expect(page.locator(".messagelist")).to_contain_text("审核未通过")
    items[1].refresh_from_db()
    assert items[1].review_comment.endswith("(第2页)")

    assert refused == []
    context.close()
