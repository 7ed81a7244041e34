"""List pages on a 375 px phone (issue 19): no sideways scroll of the page, and the wide lists
stacked into labelled rows rather than squeezed into columns one character wide. Screenshots of
each page are written to tmp_path (kept by pytest for a look by eye)."""

import datetime

import pytest

from employers.models import Role
from tests.contributions.bill_helpers import create_bill
from tests.contributions.factories import make_period
from tests.e2e.conftest import PHONE
from tests.e2e.test_agent_roles_flow import log_in
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.e2e

PASSWORD = "Phone2026pass"
PAGES = [
    "/dashboard/",
    "/enrollment/roster/",
    "/enrollment/add/filings/",
    "/filings/",
    "/unit/",
    "/unit/agents/",
    "/unit/inbox/",
    "/unit/questions/",
    "/contributions/bills/",
    "/contributions/declarations/history/",
    "/contributions/records/",
    "/contributions/records/exports/",
    "/contributions/proofs/",
]


def test_list_pages_fit_a_phone(browser, live_server, transactional_db, tmp_path):
    unit = create_employer(name="手机屏幕测试有限公司")
    admin = create_agent(employer=unit, roles=(Role.UNIT_ADMIN,), password=PASSWORD)
    staff = [create_enrolment(unit, name=f"欧阳职工{index}") for index in range(5)]
    make_period(unit.region)
    create_bill(unit, datetime.date(2026, 7, 1), staff)
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, unit=unit.ss_number, id_number=admin.id_number, password=PASSWORD)
    for path in PAGES:
        page.goto(live_server.url + path)
        name = path.strip("/").replace("/", "-")
        page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, path
        # A stacked list shows each cell on its own line: no column narrower than a few characters.
        narrow = page.evaluate(
            """() => [...document.querySelectorAll(
                    '.portal-stack-table tbody td, .portal-stack-table tbody th')]
                .filter(cell => cell.offsetParent !== null && cell.innerText.trim())
                .filter(cell => cell.getBoundingClientRect().width < 120).length"""
        )
        assert narrow == 0, path
    context.close()
