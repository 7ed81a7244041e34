"""In real Chromium: a unit admin adds an agent with only the 信息查询员 role (the phone
confirmed by an SMS code, an initial password set); the new agent logs in, has no 新增参保人员
in the menu, and opening that page directly shows the 403 page naming the roles needed."""

import re

import pytest
from captcha.models import CaptchaStore
from playwright.sync_api import expect

from employers.models import Agent, Role
from tests.e2e.conftest import DESKTOP
from tests.factories import create_agent, create_employer, make_phone, make_resident_id

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Test2026pass"
INITIAL_PASSWORD = "Query2026pw"
SMS_CODE = re.compile(r"验证码 ?(\d{6})")


def log_in(page, live_server, *, unit: str, id_number: str, password: str) -> None:
    """Log in through /login/, answering the captcha from the database."""
    page.goto(live_server.url + "/login/")
    page.fill("#id_unit", unit)
    page.fill("#id_id_number", id_number)
    page.fill("#id_password", password)
    key = page.locator("input[name=captcha_0]").input_value()
    page.fill("input[name=captcha_1]", CaptchaStore.objects.get(hashkey=key).response.upper())
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(live_server.url + "/dashboard/")


def test_admin_adds_a_queries_agent_who_may_not_add_employees(
    browser, live_server, transactional_db, sms_outbox
):
    employer = create_employer()
    admin = create_agent(employer=employer, roles=(Role.UNIT_ADMIN,), password=ADMIN_PASSWORD)
    new_id, new_phone = make_resident_id("19930404", "male"), make_phone()

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    log_in(
        page,
        live_server,
        unit=employer.ss_number,
        id_number=admin.id_number,
        password=ADMIN_PASSWORD,
    )

    # 经办人管理 from the unit module's menu, then 添加经办人.
    page.goto(live_server.url + "/unit/agents/")
    expect(page.locator("h1")).to_have_text("经办人管理")
    page.get_by_role("link", name="添加经办人").click()
    expect(page).to_have_url(live_server.url + "/unit/agents/add/")

    page.fill("#id_name", "查询员小周")
    page.fill("#id_id_number", new_id)
    page.fill("#id_phone", new_phone)
    sent_before = len(sms_outbox)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送至")).to_be_visible()
    # What was typed is kept while the code is sent.
    expect(page.locator("#id_name")).to_have_value("查询员小周")
    messages = [m for m in sms_outbox[sent_before:] if SMS_CODE.search(m.text)]
    assert messages, [m.text for m in sms_outbox]
    code = SMS_CODE.search(messages[-1].text).group(1)

    page.fill("#id_code", code)
    page.get_by_label("信息查询员").check()
    page.fill("#id_password", INITIAL_PASSWORD)
    page.fill("#id_password2", INITIAL_PASSWORD)
    page.get_by_role("button", name="添加", exact=True).click()
    expect(page).to_have_url(live_server.url + "/unit/agents/")
    expect(page.get_by_text("已添加经办人 查询员小周")).to_be_visible()
    row = page.locator("tbody tr", has=page.locator("th", has_text="查询员小周"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("信息查询员")
    expect(row).not_to_contain_text("单位管理员")

    added = Agent.objects.get(employer=employer, name="查询员小周")
    assert list(added.roles) == [Role.QUERIES]

    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("您已安全退出")).to_be_visible()

    # The new agent logs in with the initial password: no 新增参保人员 anywhere in the menus.
    log_in(page, live_server, unit=employer.ss_number, id_number=new_id, password=INITIAL_PASSWORD)
    expect(page.get_by_role("link", name="查询统计")).to_be_visible()
    expect(page.get_by_role("link", name="职工参保管理")).to_have_count(0)
    expect(page.get_by_text("新增参保人员")).to_have_count(0)

    # Opening the page directly: the 403 page tells which roles would allow it.
    response = page.goto(live_server.url + "/enrollment/add/")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("没有办理权限")
    expect(page.get_by_text("办理此项业务需要以下角色之一")).to_be_visible()
    expect(page.locator("main")).to_contain_text("增减员经办、单位管理员")
    expect(page.get_by_text("联系本单位管理员")).to_be_visible()
    context.close()
