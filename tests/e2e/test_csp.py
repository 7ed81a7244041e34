"""The Content-Security-Policy in real Chromium: the portal's and the admin's pages, scripts
included, run without a single violation, and the browser does enforce the policy.

A violation shows twice: as a ``securitypolicyviolation`` event, recorded by a script that runs
before the page's own, and as a console message naming the Content Security Policy."""

import re
import uuid

import pytest
from captcha.models import CaptchaStore
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from employers.models import Role
from enrollment.models import BatchImport
from tests.e2e.conftest import DESKTOP
from tests.enrollment.add_helpers import unit_with_agent
from tests.enrollment.enrolment_helpers import create_enrolment

pytestmark = pytest.mark.e2e

PASSWORD = "Test2026pass"  # tests.factories.create_agent's default
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(
    event.violatedDirective + " blocked " + (event.blockedURI || "inline") + " at "
      + event.sourceFile + ":" + event.lineNumber
  );
});
"""


class Browser:
    """A page that remembers every policy violation of every document it showed."""

    def __init__(self, browser, live_server):
        self.live_server = live_server
        self.context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on(
            "console",
            lambda message: (
                self.console.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__cspViolations") + self.console

    def open(self, path: str) -> None:
        """Open the page, let its scripts run, and fail on any violation."""
        response = self.page.goto(self.live_server.url + path)
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        self.settle(path)

    def settle(self, where: str) -> None:
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(300)  # scripts that run after load (the batch poll, admin JS)
        assert self.violations() == [], where

    def close(self):
        self.context.close()


@pytest.fixture
def chromium(browser, live_server, transactional_db):
    opened = []

    def open_():
        view = Browser(browser, live_server)
        opened.append(view)
        return view

    yield open_
    for view in opened:
        view.close()


def log_in(view: Browser, agent) -> None:
    """Log the agent in through /login/ (captcha and its script included)."""
    view.open("/login/")
    page = view.page
    page.get_by_role("button", name="换一张").click()  # the captcha refresh: XHR, new image
    page.wait_for_load_state("networkidle")
    page.fill("#id_unit", agent.employer.ss_number)
    page.fill("#id_id_number", agent.id_number)
    page.fill("#id_password", PASSWORD)
    key = page.locator("input[name=captcha_0]").input_value()
    page.fill("input[name=captcha_1]", CaptchaStore.objects.get(hashkey=key).response.upper())
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(view.live_server.url + "/dashboard/")
    view.settle("/dashboard/")


def test_agent_pages_run_without_policy_violations(chromium):
    employer, agent = unit_with_agent(roles=list(Role.values))
    for number in range(3):
        create_enrolment(employer, name=f"职工{number}")
    batch = BatchImport.objects.create(
        reference="PL" + uuid.uuid4().hex[:12].upper(),
        employer=employer,
        submitted_by=agent,
        original_name="增员.xlsx",
        file_sha256="0" * 64,
        status=BatchImport.Status.RUNNING,
        total_rows=4,
        processed_rows=1,
    )
    view = chromium()

    log_in(view, agent)
    view.open("/dashboard/")
    view.open("/enrollment/roster/")
    view.open("/enrollment/add/")
    view.open("/contributions/bills/")

    # The progress bar: its width comes from a data attribute through batch_progress.js.
    view.open(f"/enrollment/batch/{batch.reference}/")
    bar = view.page.locator("[data-progress-bar]")
    expect(bar).to_have_attribute("style", re.compile(r"width:\s*25%"))
    width = bar.evaluate("bar => bar.getBoundingClientRect().width / bar.parentElement.clientWidth")
    assert 0.2 < width < 0.3
    view.page.wait_for_timeout(1200)  # a poll of status.json comes back and sets it again
    assert view.violations() == []

    # On a phone the navigation collapses: Bootstrap's script animates it through style.height.
    view.page.set_viewport_size({"width": 375, "height": 812})
    view.page.get_by_role("button", name="业务导航").click()
    expect(view.page.locator("#portal-nav-menu")).to_have_class(re.compile(r"\bshow\b"))
    assert view.violations() == []


def test_admin_pages_run_without_policy_violations(chromium, admin_login):
    unit, agent = unit_with_agent()
    clerk = get_user_model().objects.create_superuser("csp-clerk", "csp@si.example", "x")
    view = chromium()

    view.open("/admin/login/")
    admin_login(view.page, view.live_server, clerk)
    view.settle("/admin/ after login")
    view.open("/admin/")
    view.open("/admin/enrollment/addemployeefiling/?queue=all")
    view.open("/admin/employers/agent/")
    # The two-box region picker (filter_horizontal) and the date picker are built by the
    # admin's scripts after load.
    view.open(f"/admin/portal/user/{agent.user.pk}/change/")
    expect(view.page.locator("#id_regions_from")).to_be_visible()
    view.open("/admin/contributions/policyperiod/add/")
    view.page.locator("#calendarlink0").click()
    expect(view.page.locator("#calendarbox0")).to_be_visible()
    assert view.violations() == []


def test_the_browser_enforces_the_policy(chromium):
    # Guards the tests above: Chromium blocks what the policy refuses, and the test sees it.
    view = chromium()
    view.open("/")

    view.page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__inlineRan = true";
          document.body.append(script);
          document.body.insertAdjacentHTML("beforeend", '<p id="styled" style="color: red">x</p>');
        }"""
    )
    # Polled, not waited for a fixed time: the two reports come when the browser sends them.
    view.page.wait_for_function("() => window.__cspViolations.length >= 2", timeout=30_000)

    assert view.page.evaluate("window.__inlineRan") is None
    assert (
        view.page.locator("#styled").evaluate("p => getComputedStyle(p).color") != "rgb(255, 0, 0)"
    )
    violations = " ".join(view.violations())
    assert "script-src" in violations and "style-src" in violations
