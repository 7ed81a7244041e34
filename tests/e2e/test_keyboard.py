"""Keyboard only (issue 19 item 3): the agent logs in, reaches the roster through the menu, adds
an employee (a select, a month field and two file inputs), reaches a bill and the proof form; a
clerk logs in, opens the queue and approves the filing. Only Tab, Shift+Tab, Enter, Space, the
arrow keys and typed text: no mouse, no element.click(). At each step the focused element is the
one expected and its focus is visible (its outline or box shadow differs from its unfocused
style, and is not 'none')."""

import re

import pytest
from playwright.sync_api import expect

from employers.models import Role
from enrollment.models import AddEmployeeFiling
from tests.contributions.bill_helpers import create_bill
from tests.e2e.conftest import ADMIN_TEST_PASSWORD, DESKTOP, PHONE
from tests.enrollment.add_helpers import jpg_bytes, pdf_bytes, this_month, unit_with_agent
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_clerk, make_resident_id

pytestmark = pytest.mark.e2e

AGENT_PASSWORD = "Test2026pass"
STYLE = """el => {
    const s = getComputedStyle(el);
    const outline = (s.outlineStyle === 'none' || parseFloat(s.outlineWidth) === 0)
        ? 'none' : `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`;
    return {outline: outline, shadow: s.boxShadow};
}"""


def is_focused(page, selector: str) -> bool:
    return page.locator(selector).evaluate_all("els => els.includes(document.activeElement)")


def focused_description(page) -> str:
    return page.evaluate(
        """() => { const e = document.activeElement;
                   return e ? e.outerHTML.slice(0, 160) : 'nothing'; }"""
    )


def tab_to(page, selector: str, *, back: bool = False, limit: int = 80):
    """Press Tab (Shift+Tab when ``back``) until the element ``selector`` has the focus, then
    check that its focus is visible: its style focused differs from its style before, and shows
    an outline or a box shadow."""
    target = page.locator(selector).first
    expect(target).to_be_attached()
    if is_focused(page, selector):  # focused on load (autofocus): step off it to compare
        page.keyboard.press("Tab" if back else "Shift+Tab")
    before = target.evaluate(STYLE)
    for _press in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if is_focused(page, selector):
            break
    else:
        raise AssertionError(f"{selector} not reached by keyboard on {page.url}")
    after = page.evaluate_handle("document.activeElement").evaluate(STYLE)
    assert after != before, f"{selector}: focused looks the same as unfocused ({after})"
    assert after["outline"] != "none" or after["shadow"] != "none", f"{selector}: {after}"


def press(page, key: str, selector: str):
    """Press a key on the focused element, which must be ``selector``."""
    assert is_focused(page, selector), f"expected {selector}, focus on {focused_description(page)}"
    page.keyboard.press(key)


def choose(page, selector: str, value: str):
    """Pick a select's option with the arrow keys."""
    for _press in range(30):
        if page.locator(selector).input_value() == value:
            return
        press(page, "ArrowDown", selector)
    raise AssertionError(f"{selector}: option {value} not reached with ArrowDown")


def attach(page, selector: str, path):
    """Open a file input's chooser with Space and give it the file."""
    with page.expect_file_chooser() as chooser:
        press(page, "Space", selector)
    chooser.value.set_files(str(path))


def type_month(page, selector: str, month):
    """Type a year and month into a month field: its parts are Tab stops of their own, in the
    browser's locale's order (year first in Chinese, month first in English)."""
    for parts in ((f"{month:%Y}", f"{month:%m}"), (f"{month:%m}", f"{month:%Y}")):
        page.keyboard.type(parts[0])
        press(page, "Tab", selector)
        page.keyboard.type(parts[1])
        if page.locator(selector).input_value() == f"{month:%Y-%m}":
            return
        press(page, "Shift+Tab", selector)  # back to the first part
    raise AssertionError(f"{selector}: {page.locator(selector).input_value()!r}")


def agent_logs_in(page, live_server, agent):
    from captcha.models import CaptchaStore

    page.goto(live_server.url + "/login/")
    # The first Tab reaches the skip link; Enter on it moves the focus into the main content.
    tab_to(page, "a.portal-skip-link")
    expect(page.locator("a.portal-skip-link")).to_be_visible()
    press(page, "Enter", "a.portal-skip-link")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'main'")
    tab_to(page, "#id_unit")
    page.keyboard.type(agent.employer.ss_number)
    tab_to(page, "#id_id_number")
    page.keyboard.type(agent.id_number)
    tab_to(page, "#id_password")
    page.keyboard.type(AGENT_PASSWORD)
    key = page.locator("input[name=captcha_0]").input_value()
    tab_to(page, "input[name=captcha_1]")
    page.keyboard.type(CaptchaStore.objects.get(hashkey=key).response)
    tab_to(page, "[data-login-form] [type=submit]")
    with page.expect_navigation():
        press(page, "Enter", "[data-login-form] [type=submit]")
    expect(page).to_have_url(live_server.url + "/dashboard/")


def follow(page, selector: str, *, key: str = "Enter", back: bool = False):
    tab_to(page, selector, back=back)
    with page.expect_navigation():
        press(page, key, selector)


def test_agent_works_with_the_keyboard_only(browser, live_server, transactional_db, tmp_path):
    employer, agent = unit_with_agent(roles=(Role.UNIT_ADMIN,))
    staff = create_enrolment(employer, name="键盘职工")
    bill = create_bill(employer, this_month(), [staff])
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    agent_logs_in(page, live_server, agent)

    # The menu: the module, then its side menu's roster.
    follow(page, ".portal-nav a.nav-link[href='/enrollment/add/']")
    follow(page, ".portal-sidemenu a[href='/enrollment/roster/']")
    expect(page.locator("h1")).to_contain_text("花名册")

    # 新增参保人员, from the side menu (back up with Shift+Tab).
    follow(page, ".portal-sidemenu a[href='/enrollment/add/']", back=True)
    tab_to(page, "#id_name")
    page.keyboard.type("林晓雨")
    tab_to(page, "#id_document_number")
    page.keyboard.type(make_resident_id("19930303", "female"))
    tab_to(page, "#id_hukou_type")
    choose(page, "#id_hukou_type", "nonlocal_urban")
    tab_to(page, "#id_employment_form")
    form_value = page.locator("#id_employment_form option", has_text="城镇合同制职工")
    choose(page, "#id_employment_form", form_value.get_attribute("value"))
    tab_to(page, "#id_start_month")
    type_month(page, "#id_start_month", this_month())
    tab_to(page, "#id_contribution_base")
    page.keyboard.press("Control+a")
    page.keyboard.type("12000")
    contract, scan = tmp_path / "劳动合同.pdf", tmp_path / "身份证.jpg"
    contract.write_bytes(pdf_bytes())
    scan.write_bytes(jpg_bytes())
    tab_to(page, "#id_labour_contract")
    attach(page, "#id_labour_contract", contract)
    tab_to(page, "#id_id_scan")
    attach(page, "#id_id_scan", scan)
    submit = "form button[type=submit]:has-text('提交增员申请')"
    follow(page, submit)
    errors = page.locator("[data-error-summary]")
    assert errors.count() == 0, errors.inner_text()
    filing = AddEmployeeFiling.objects.get()
    expect(page.locator("h1")).to_contain_text(filing.reference)

    # A bill: 缴费申报 › 月度核定 › the bill.
    follow(page, ".portal-nav a.nav-link[href='/contributions/declarations/']", back=True)
    follow(page, ".portal-sidemenu a[href='/contributions/bills/']")
    follow(page, f"a[href='/contributions/bills/{bill.reference}/']")
    expect(page).to_have_url(f"{live_server.url}/contributions/bills/{bill.reference}/")
    expect(page.locator("h1")).to_contain_text(f"{bill.month:%Y-%m}")

    # The proof form.
    follow(page, ".portal-nav a.nav-link[href='/contributions/proofs/']", back=True)
    follow(page, "a[href='/contributions/proofs/new/']")
    tab_to(page, "main select, main input:not([type=hidden])")
    context.close()

    # The clerk: log in, the queue, the filing, approve.
    clerk = create_clerk("keyboard-clerk")
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    clerk_logs_in(page, live_server, clerk)
    follow(page, "#content a[href='/admin/enrollment/addemployeefiling/']")
    follow(page, f"#result_list a:has-text('{filing.reference}')")
    tab_to(page, "button[name=approve]")
    with page.expect_navigation():
        press(page, "Space", "button[name=approve]")
    expect(page.locator(".messagelist")).to_contain_text("已审核")
    filing.refresh_from_db()
    assert filing.review_state == "approved"
    context.close()


def clerk_logs_in(page, live_server, clerk):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    clerk.set_password(ADMIN_TEST_PASSWORD)
    clerk.save(update_fields=["password"])
    device = TOTPDevice.objects.create(user=clerk, name="keyboard", confirmed=True)
    page.goto(live_server.url + "/admin/login/")
    tab_to(page, "#id_username")
    page.keyboard.type(clerk.get_username())
    tab_to(page, "#id_password")
    page.keyboard.type(ADMIN_TEST_PASSWORD)
    tab_to(page, "#id_otp_token")
    page.keyboard.type(f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}")
    tab_to(page, "#login-form [type=submit]")
    with page.expect_navigation():
        press(page, "Enter", "#login-form [type=submit]")
    expect(page).to_have_url(live_server.url + "/admin/")


def test_header_menu_and_disclosures_work_with_enter_space_and_escape(
    browser, live_server, transactional_db
):
    _employer, agent = unit_with_agent(roles=(Role.UNIT_ADMIN,))
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()

    # The home page's questions (details/summary): Enter opens one, Space closes it.
    page.goto(live_server.url + "/")
    summary = ".portal-faq summary"
    tab_to(page, summary)
    details = page.locator(".portal-faq details").first
    press(page, "Enter", summary)
    expect(details).to_have_attribute("open", "")
    press(page, "Space", summary)
    expect(details).not_to_have_attribute("open", "")

    agent_logs_in(page, live_server, agent)
    toggler = ".portal-nav .navbar-toggler"
    menu = page.locator("#portal-nav-menu")
    tab_to(page, toggler, back=True)
    expect(page.locator(toggler)).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()
    press(page, "Enter", toggler)
    expect(page.locator(toggler)).to_have_attribute("aria-expanded", "true")
    expect(menu).to_have_class(re.compile(r"\bshow\b"))  # opened (its animation over)
    # Escape from inside the menu closes it and puts the focus back on its button.
    tab_to(page, ".portal-nav a.nav-link[href='/enrollment/add/']")
    page.keyboard.press("Escape")
    expect(page.locator(toggler)).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()
    assert is_focused(page, toggler), focused_description(page)
    # Space opens it again; the module, then its side menu's roster.
    press(page, "Space", toggler)
    expect(page.locator(toggler)).to_have_attribute("aria-expanded", "true")
    expect(menu).to_be_visible()
    follow(page, ".portal-nav a.nav-link[href='/enrollment/add/']")
    follow(page, ".portal-sidemenu a[href='/enrollment/roster/']")
    expect(page).to_have_url(live_server.url + "/enrollment/roster/")
    context.close()
