"""In real Chromium: log in, get locked out, be unlocked by a clerk in the admin, reset by SMS."""

import re

import pytest
from captcha.models import CaptchaStore
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP
from tests.employers.auth_helpers import PASSWORD, make_agent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Browser2027ok"


def answer_captcha(page) -> None:
    """Read the answer of the captcha shown from the database (a test-only look, not a mode)."""
    key = page.locator("input[name=captcha_0]").input_value()
    page.fill("input[name=captcha_1]", CaptchaStore.objects.get(hashkey=key).response.upper())


def submit_login(page, agent, password) -> None:
    page.fill("#id_unit", agent.employer.ss_number)
    page.fill("#id_id_number", agent.id_number)
    page.fill("#id_password", password)
    answer_captcha(page)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


@pytest.fixture
def agent_page(browser):
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    yield context.new_page()
    context.close()


def test_login_lockout_unlock_and_reset_in_the_browser(
    agent_page, browser, live_server, admin_user, admin_login, sms_outbox, settings
):
    # The unlock code and the reset code go to one phone within a minute of each other.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_resend_seconds": 1}
    page = agent_page
    agent = make_agent()
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="登录").first.click()
    expect(page).to_have_url(live_server.url + "/login/")

    # The captcha refreshes in place: the typed fields stay, the key and image change.
    page.fill("#id_unit", agent.employer.ss_number)
    old_key = page.locator("input[name=captcha_0]").input_value()
    page.get_by_role("button", name="换一张").click()
    expect(page.locator("input[name=captcha_0]")).not_to_have_value(old_key)
    assert page.locator("#id_unit").input_value() == agent.employer.ss_number
    new_key = page.locator("input[name=captcha_0]").input_value()
    assert new_key in page.locator("[data-captcha-image]").get_attribute("src")
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-captcha-image]');"
        " return i.complete && i.naturalWidth > 0; }"
    )

    submit_login(page, agent, PASSWORD)
    expect(page).to_have_url(live_server.url + "/dashboard/")
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("您已安全退出")).to_be_visible()

    # Five wrong passwords lock the account for 15 minutes; then even the right one is refused.
    page.goto(live_server.url + "/login/")
    for attempt in range(5):
        submit_login(page, agent, "Wrong2026pw")
        if attempt < 4:
            expect(page.get_by_text("单位编号、身份证号或密码不正确").first).to_be_visible()
        if attempt == 3:
            expect(page.get_by_text("再输错1次,账号将被锁定15分钟").first).to_be_visible()
    expect(page.get_by_text("已被暂时锁定").first).to_be_visible()
    submit_login(page, agent, PASSWORD)
    expect(page.get_by_text("已被暂时锁定").first).to_be_visible()
    assert any("已被锁定15分钟" in message.text for message in sms_outbox)

    # The agent lifts the lock itself with a code sent to its registered phone.
    page.get_by_role("link", name="账号被锁定?短信验证解锁").click()
    page.fill("#id_unit", agent.employer.ss_number)
    page.fill("#id_id_number", agent.id_number)
    page.fill("#id_phone", agent.phone)
    answer_captcha(page)
    page.get_by_role("button", name="获取短信验证码").click()
    expect(page).to_have_url(live_server.url + "/login/unlock/confirm/")
    code = re.search(r"验证码 (\d{6})", sms_outbox[-1].text).group(1)
    page.fill("#id_code", code)
    page.get_by_role("button", name="确认解锁").click()
    expect(page.get_by_text("账号已解锁")).to_be_visible()
    submit_login(page, agent, PASSWORD)
    expect(page).to_have_url(live_server.url + "/dashboard/")
    page.get_by_role("button", name="退出").click()

    # Locked again (30 minutes now); a clerk unlocks the agent with the admin action.
    page.goto(live_server.url + "/login/")
    for _attempt in range(5):
        submit_login(page, agent, "Wrong2026pw")
    expect(page.get_by_text("已被暂时锁定").first).to_be_visible()
    clerk_context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    clerk = clerk_context.new_page()
    admin_login(clerk, live_server, admin_user)
    clerk.goto(live_server.url + "/admin/employers/agent/")
    clerk.locator(f"input[name=_selected_action][value='{agent.pk}']").check()
    clerk.select_option("select[name=action]", "unlock_agents")
    clerk.locator("button[name=index]").click()
    expect(clerk.get_by_text("已解除 1 名经办人的登录锁定")).to_be_visible()
    clerk_context.close()

    # Forgotten password: unit, ID number and phone, then the SMS code and a new password.
    page.goto(live_server.url + "/login/")
    page.get_by_role("link", name="忘记密码?").click()
    expect(page.get_by_text("经办人身份证原件")).to_be_visible()
    page.fill("#id_unit", agent.employer.ss_number)
    page.fill("#id_id_number", agent.id_number)
    page.fill("#id_phone", agent.phone)
    answer_captcha(page)
    page.get_by_role("button", name="获取短信验证码").click()
    expect(page).to_have_url(live_server.url + "/password/reset/")
    expect(page.get_by_text("如信息无误,验证码已发送")).to_be_visible()
    code = re.search(r"验证码 (\d{6})", sms_outbox[-1].text).group(1)
    page.fill("#id_code", code)
    page.fill("#id_new_password", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.get_by_role("button", name="确认重置密码").click()
    expect(page).to_have_url(live_server.url + "/login/")
    expect(page.get_by_text("密码已重置")).to_be_visible()

    submit_login(page, agent, NEW_PASSWORD)
    expect(page).to_have_url(live_server.url + "/dashboard/")
