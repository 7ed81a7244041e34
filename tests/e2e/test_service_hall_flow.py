"""In real Chromium (issue 16): a unit admin changes the contact phone (SMS code to the new
phone) and the contribution bank account (penny-drop to the new account), a clerk approves both
in the admin, and the unit's details change; the admin asks a question on the 留言板, a clerk
answers it in the admin, and the answer is in the unit's 站内消息."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from employers.models import Employer, PennyDropTransfer, Question, Role, UnitChangeFiling
from tests.e2e.conftest import DESKTOP
from tests.e2e.test_agent_roles_flow import log_in
from tests.factories import create_agent, create_clerk, create_employer, make_phone

pytestmark = pytest.mark.e2e

PASSWORD = "Hall2026pass"
SMS_CODE = re.compile(r"验证码 ?(\d{6})")
CHANGE_PAGE = re.compile(r"/unit/changes/\d+/$")
NEW_ACCOUNT = "6222020200112233445"


def clerk_approves(page, live_server, filing):
    page.goto(f"{live_server.url}/admin/employers/unitchangefiling/{filing.pk}/change/")
    page.click("button[name=approve]")
    expect(page.locator(".messagelist")).to_contain_text("已审核")


def test_contact_and_bank_changes_through_review_and_a_question_answered_in_the_inbox(
    browser, live_server, transactional_db, admin_login, sms_outbox
):
    unit = create_employer(name="服务大厅测试有限公司")
    admin = create_agent(employer=unit, roles=(Role.UNIT_ADMIN,), password=PASSWORD)
    old_account = unit.bank_account
    new_phone = make_phone()
    clerk = create_clerk("e2e-hall-clerk")
    clerk_page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    admin_login(clerk_page, live_server, clerk)

    page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    log_in(page, live_server, unit=unit.ss_number, id_number=admin.id_number, password=PASSWORD)

    # 联系信息变更: the new phone is confirmed by a code sent to it.
    page.get_by_role("link", name="单位基本信息").first.click()
    expect(page.locator("h1")).to_contain_text("单位基本信息")
    page.goto(live_server.url + "/unit/contact/")
    page.fill("#id_contact_name", "王会计")
    page.fill("#id_contact_phone", new_phone)
    page.fill("#id_reason", "联系人手机号更换")
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#id_reason")).to_have_value("联系人手机号更换")
    codes = [m for m in sms_outbox if m.phone == new_phone and SMS_CODE.search(m.text)]
    assert codes, [m.text for m in sms_outbox]
    page.fill("#id_code", SMS_CODE.search(codes[-1].text).group(1))
    page.get_by_role("button", name="提交审核").click()
    expect(page).to_have_url(CHANGE_PAGE)
    contact = UnitChangeFiling.objects.get(kind=UnitChangeFiling.Kind.CONTACT)
    expect(page.locator("h1")).to_contain_text(contact.reference)
    clerk_approves(clerk_page, live_server, contact)
    assert Employer.objects.get(pk=unit.pk).contact_phone == new_phone

    # 银行账户变更: a penny-drop to the new account, then review; the old account stays until then.
    page.goto(live_server.url + "/unit/bank/change/")
    page.fill("#id_bank_name", "中国建设银行福州分行")
    page.fill("#id_bank_account", NEW_ACCOUNT)
    page.fill("#id_bank_account_name", unit.name)
    page.fill("#id_reason", "基本存款账户迁至新开户行")
    page.get_by_role("button", name="提交并向新账户打款").click()
    expect(page).to_have_url(CHANGE_PAGE)
    bank = UnitChangeFiling.objects.get(kind=UnitChangeFiling.Kind.BANK)
    expect(page.locator("h1")).to_contain_text(bank.reference)
    transfer = PennyDropTransfer.objects.get(change_filing=bank)
    # The money arrives (the sandbox bank's statement date).
    PennyDropTransfer.objects.filter(pk=transfer.pk).update(arrives_on=timezone.localdate())
    page.reload()
    page.fill("#id_amount", f"{transfer.amount_fen / 100:.2f}")
    page.get_by_role("button", name="验证并提交审核").click()
    page.goto(live_server.url + "/unit/bank/")
    expect(page.locator("main")).to_contain_text("使用中")
    assert Employer.objects.get(pk=unit.pk).bank_account == old_account
    clerk_approves(clerk_page, live_server, bank)
    assert Employer.objects.get(pk=unit.pk).bank_account == NEW_ACCOUNT
    page.reload()
    expect(page.locator("main")).to_contain_text(NEW_ACCOUNT[-4:])

    # 留言板: a question, answered by a clerk in the admin, read in the inbox.
    page.goto(live_server.url + "/unit/questions/ask/")
    page.select_option("#id_topic", "contributions")
    page.fill("#id_subject", "新账户何时开始扣款")
    page.fill("#id_text", "单位缴费账户已变更,请问下月起从新账户扣款吗?")
    page.get_by_role("button", name="提交留言").click()
    expect(page).to_have_url(re.compile(r"/unit/questions/LY"))
    question = Question.objects.get()
    expect(page.locator("main")).to_contain_text(question.reference)

    clerk_page.goto(f"{live_server.url}/admin/employers/question/{question.pk}/change/")
    clerk_page.fill("#id_text", "变更审核通过后,下一次划扣即从新账户扣款。")
    clerk_page.click("input[type=submit][value=提交答复]")
    expect(clerk_page.locator(".messagelist")).to_be_visible()

    page.goto(live_server.url + "/unit/inbox/")
    row = page.locator("tbody tr", has_text=question.reference)
    expect(row).to_contain_text("未读")
    row.get_by_role("link").click()
    expect(page.locator("main")).to_contain_text("下一次划扣即从新账户扣款")
    # The other inbox messages: the two approved changes.
    page.goto(live_server.url + "/unit/inbox/")
    expect(page.locator("main")).to_contain_text(contact.reference)
    expect(page.locator("main")).to_contain_text(bank.reference)
