"""axe-core on the agent's pages and the public ones (issue 19): no serious or critical
violations of WCAG 2 A/AA. axe is vendored (tests/e2e/vendor/axe-core) and injected into each
page; the browser context bypasses the page's CSP for that one script only in the test."""

import json
from pathlib import Path

import pytest

from employers.models import Role
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_agent_roles_flow import log_in
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
PASSWORD = "Axe2026pass"
PUBLIC_PAGES = [
    "/",
    "/login/",
    "/login/unlock/",
    "/register/",
    "/help/",
    "/help/faq/",
    "/help/states/",
    "/help/benefits/",
    "/login/sms/",
    "/proof/",
]
AGENT_PAGES = [
    "/dashboard/",
    "/unit/",
    "/unit/contact/",
    "/unit/bank/",
    "/unit/bank/change/",
    "/unit/agents/",
    "/unit/agents/add/",
    "/filings/",
    "/unit/inbox/",
    "/unit/questions/",
    "/unit/questions/ask/",
    "/enrollment/add/",
    "/enrollment/add/filings/",
    "/enrollment/batch/",
    "/enrollment/remove/",
    "/enrollment/roster/",
    "/contributions/declarations/",
    "/contributions/bills/",
    "/contributions/bills/awaiting/",
    "/contributions/records/",
    "/contributions/records/exports/",
    "/contributions/proofs/",
    "/contributions/persons/",
    "/contributions/benefits/",
    "/contributions/benefits/maternity/",
    "/contributions/benefits/injury/",
    "/contributions/benefits/injury-claims/",
]


def serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']});
            return r.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => ({id: v.id, impact: v.impact,
                            targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return [json.dumps(item, ensure_ascii=False) for item in result]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_agent_and_public_pages_have_no_serious_accessibility_violations(
    browser, live_server, transactional_db, viewport
):
    unit = create_employer(name="无障碍测试有限公司")
    admin = create_agent(employer=unit, roles=(Role.UNIT_ADMIN,), password=PASSWORD)
    create_enrolment(unit, name="无障碍职工")
    context = browser.new_context(viewport=viewport, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    found = {}
    for path in PUBLIC_PAGES:
        page.goto(live_server.url + path)
        if violations := serious_violations(page):
            found[path] = violations
    log_in(page, live_server, unit=unit.ss_number, id_number=admin.id_number, password=PASSWORD)
    for path in AGENT_PAGES:
        response = page.goto(live_server.url + path)
        assert response is not None and response.ok, (path, response and response.status)
        if violations := serious_violations(page):
            found[path] = violations
    context.close()
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)
