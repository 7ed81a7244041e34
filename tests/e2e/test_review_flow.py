"""A clerk approves one registration and rejects another in the admin, in real Chromium; the
applicants see the results on their status pages and the SMS in the dev outbox."""

import pytest
from playwright.sync_api import expect

from employers.registration.views import APPLICATIONS_KEY
from tests.e2e.conftest import DESKTOP
from tests.factories import create_clerk, create_submitted_application

pytestmark = pytest.mark.e2e


def applicant_page(browser, live_server, application):
    """A browser context that holds the application in its session, as the wizard leaves it."""
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[APPLICATIONS_KEY] = [application.reference]
    session.save()
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session.session_key,
                "url": live_server.url,
            }
        ]
    )
    return context.new_page()


def test_clerk_approves_and_rejects_and_applicants_see_the_results(
    browser, live_server, transactional_db, admin_login, settings
):
    settings.DEBUG = True  # the dev outbox page
    approved, rejected = create_submitted_application(), create_submitted_application()
    clerk = create_clerk("e2e-clerk")

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    admin_login(page, live_server, clerk)
    page.goto(live_server.url + "/admin/employers/registrationapplication/")
    assert page.locator(f"text={approved.reference}").count() == 1
    assert page.locator(f"text={rejected.reference}").count() == 1

    page.click(f"text={approved.reference}")
    expect(page.locator("h2", has_text="预审结果")).to_have_count(1)
    page.click("button[name=approve]")
    expect(page.locator(".messagelist")).to_contain_text("已审核")

    page.click(f"text={rejected.reference}")
    expect(page.locator("button[name=reject]")).to_be_visible()
    page.click("button[name=reject]")  # without a comment: refused, nothing changes
    expect(page.locator(".messagelist")).to_contain_text("必须填写审核意见")
    page.fill("#id_comment", "户名与单位全称不一致,请核对后重新提交")
    page.click("button[name=reject]")
    expect(page.locator(".messagelist")).to_contain_text("审核未通过")
    context.close()

    first = applicant_page(browser, live_server, approved)
    first.goto(f"{live_server.url}/registration/{approved.reference}/")
    expect(first.locator("#review-state")).to_contain_text("审核通过")

    second = applicant_page(browser, live_server, rejected)
    second.goto(f"{live_server.url}/registration/{rejected.reference}/")
    assert "审核未通过" in second.locator("#review-state").inner_text()
    assert "户名与单位全称不一致" in second.locator("#review-comment").inner_text()
    second.click("text=按意见修改并重新提交")
    assert second.locator("#id_bank_account").input_value() == rejected.employer.bank_account

    second.goto(live_server.url + "/dev/outbox/")
    outbox = second.locator("#dev-outbox").inner_text()
    assert f"编号{approved.reference}）已审核通过" in outbox
    assert f"编号{rejected.reference}）未通过审核" in outbox
