import os
from pathlib import Path

import pytest

from tests.conftest import require_service

# Playwright's sync API runs an event loop in the test thread; Django's ORM then refuses to run
# there (SynchronousOnlyOperation) although the calls are in fact synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests, closed when they end: Playwright's sync API keeps an
    event loop running in the main thread while it is open, and later tests that call
    asyncio.run() there (pyHanko's signing and validation) would fail."""
    if not Path(CHROMIUM).exists():
        require_service("Chromium", f"{CHROMIUM} is missing (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, live_server, transactional_db):
    """Open a path of the live server in a fresh browser context of the given viewport."""
    contexts = []

    def open_(path, viewport):
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        response = page.goto(live_server.url + path)
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        return page

    yield open_
    for context in contexts:
        context.close()


ADMIN_TEST_PASSWORD = "Clerk2026pass"


@pytest.fixture
def admin_login():
    """Log a clerk in to the admin through its login page: user name, password and TOTP code in
    one submit (the clerk's confirmed device is created when the clerk has none).

    Call as ``admin_login(page, live_server, user)``; the user's password is set for the test.
    """

    def login(page, live_server, user):
        from django_otp.oath import totp
        from django_otp.plugins.otp_totp.models import TOTPDevice

        user.set_password(ADMIN_TEST_PASSWORD)
        user.save(update_fields=["password"])
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="e2e", confirmed=True)
        # A code is accepted once: a second login of the same clerk within 30 s needs this.
        TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
        page.goto(live_server.url + "/admin/login/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", ADMIN_TEST_PASSWORD)
        if page.locator("#id_otp_token").count():
            token = totp(device.bin_key, device.step, device.t0, device.digits)
            page.fill("#id_otp_token", f"{token:0{device.digits}d}")
        page.locator("#login-form [type=submit]").click()
        page.wait_for_load_state()
        if page.url != live_server.url + "/admin/":
            raise AssertionError(page.locator("#content").inner_text())

    return login
