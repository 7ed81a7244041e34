import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE

pytestmark = pytest.mark.e2e

MODULES = ["单位信息管理", "职工参保管理", "缴费申报", "查询统计", "待遇申领", "打印证明"]


def has_horizontal_overflow(page):
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_home_renders_chinese_navigation_without_sideways_scroll(open_page, viewport):
    page = open_page("/", viewport)
    nav = page.get_by_role("navigation", name="主导航")
    for label in MODULES:
        # On a phone the links sit in the collapsed menu: present, not yet shown.
        assert nav.get_by_role("link", name=label, include_hidden=True).count() == 1
    assert "单位社保网上服务大厅" in page.locator("header").inner_text()
    assert "12333" in page.locator("footer").inner_text()
    assert not has_horizontal_overflow(page)


def test_desktop_navigation_is_visible_without_the_menu_button(open_page):
    page = open_page("/", DESKTOP)
    nav = page.get_by_role("navigation", name="主导航")
    assert nav.get_by_role("button", name="业务导航").is_hidden()
    assert nav.get_by_role("link", name="缴费申报").is_visible()


def test_menu_button_toggles_navigation_on_a_phone(open_page):
    page = open_page("/", PHONE)
    nav = page.get_by_role("navigation", name="主导航")
    toggle = nav.get_by_role("button", name="业务导航")
    link = nav.get_by_role("link", name="缴费申报")
    assert toggle.is_visible()
    assert link.is_hidden()
    assert toggle.get_attribute("aria-expanded") == "false"

    # Bootstrap ignores a click while the menu is still sliding: wait for each slide to end.
    menu = page.locator("#portal-nav-menu")
    toggle.click()
    expect(menu).to_have_class(re.compile(r"^(?!.*collapsing).*\bshow\b"))
    expect(link).to_be_visible()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert not has_horizontal_overflow(page)

    toggle.click()
    expect(menu).to_have_class(re.compile(r"^(?!.*collapsing)(?!.*\bshow\b)"))
    expect(link).to_be_hidden()
    assert toggle.get_attribute("aria-expanded") == "false"


def test_skip_link_moves_focus_to_main_content(open_page):
    page = open_page("/", DESKTOP)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="跳到主要内容")
    assert skip.evaluate("element => element === document.activeElement")
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_admin_login_page_renders(open_page, viewport):
    page = open_page("/admin/login/", viewport)
    assert "单位社保网上服务大厅" in page.locator("#site-name").inner_text()
    assert page.locator("#id_username").is_visible()
    assert page.locator("#id_password").is_visible()
    assert not has_horizontal_overflow(page)


def test_language_switch_changes_the_page_language(open_page):
    page = open_page("/", DESKTOP)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-current", "true")
    assert not has_horizontal_overflow(page)
