"""In real Chromium (issue 17 items 5 and 6): an enrolment agent files a 续保 for a person whose
enrolment ended and a 个人信息变更 for an employee; a clerk approves both in the admin; the
person is insured again (the earlier period kept), the new name is in force, and the inbox has
both results."""

import datetime
import re
import uuid

import pytest
from playwright.sync_api import expect

from enrollment.models import AddEmployeeFiling, Enrolment, PersonChangeFiling
from enrollment.personchange.services import person_change_submit
from enrollment.rules import add_months
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_accessibility import serious_violations
from tests.e2e.test_agent_roles_flow import log_in
from tests.e2e.test_benefits_flow import clerk_approves
from tests.enrollment.add_helpers import (
    jpg_bytes,
    pdf_bytes,
    this_month,
    unit_with_agent,
    upload,
)
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_clerk

pytestmark = pytest.mark.e2e

PASSWORD = "Test2026pass"  # tests.factories.create_agent's


def test_a_resume_and_a_personal_change_approved_by_a_clerk(
    browser, live_server, transactional_db, admin_login
):
    employer, agent = unit_with_agent()
    ended = create_enrolment(employer, name="周续保", status=Enrolment.Status.TERMINATED)
    ended.last_contribution_month = add_months(this_month(), -2)
    ended.ended_on = add_months(this_month(), -1) - datetime.timedelta(days=1)
    ended.save()
    staying = create_enrolment(employer, name="吴小明")
    clerk = create_clerk("e2e-life-cycle-clerk")
    clerk_page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    admin_login(clerk_page, live_server, clerk)

    page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    log_in(
        page,
        live_server,
        unit=employer.ss_number,
        id_number=agent.id_number,
        password=PASSWORD,
    )

    # 续保: from the menu's list, only the person whose enrolment ended is offered.
    page.get_by_role("link", name="人员续保").first.click()
    expect(page.locator("h1")).to_contain_text("人员续保")
    expect(page.locator("main")).to_contain_text("周续保")
    expect(page.locator("main")).not_to_contain_text("吴小明")
    page.get_by_role("link", name="续保", exact=True).click()
    expect(page.locator("[data-earliest]")).to_have_text(
        add_months(this_month(), -1).strftime("%Y-%m")
    )
    page.fill("#id_start_month", this_month().strftime("%Y-%m"))
    page.fill("#id_contribution_base", "9000")
    page.set_input_files(
        "#id_labour_contract",
        files=[{"name": "劳动合同.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}],
    )
    page.get_by_role("button", name="提交续保申请").click()
    expect(page).to_have_url(re.compile(r"/enrollment/add/ZY"))
    expect(page.locator("h1")).to_contain_text("续保申请")
    resume = AddEmployeeFiling.objects.get(enrolment__resumed_from=ended)

    # 个人信息变更: from the roster's person page; the ID number only at the counter.
    page.get_by_role("link", name="参保人员花名册").first.click()
    page.get_by_role("link", name="吴小明").click()
    page.get_by_role("link", name="个人信息变更").last.click()
    expect(page.locator("[data-counter-note]")).to_contain_text("窗口办理")
    expect(page.locator("#id_document_number")).to_have_count(0)
    page.fill("#id_name", "吴晓明")
    page.fill("#id_reason", "登记时姓名录入错误")
    page.set_input_files(
        "#id_scan",
        files=[{"name": "身份证.jpg", "mimeType": "image/jpeg", "buffer": jpg_bytes()}],
    )
    page.get_by_role("button", name="提交变更申请").click()
    expect(page).to_have_url(re.compile(r"/enrollment/person-change/GR"))
    change = PersonChangeFiling.objects.get()
    expect(page.locator("[data-changed]")).to_contain_text("吴晓明")

    # The clerk approves both in the admin; the change page shows old → new.
    clerk_page.goto(f"{live_server.url}/admin/enrollment/personchangefiling/{change.pk}/change/")
    expect(clerk_page.locator("#content")).to_contain_text("吴小明 → 吴晓明")
    clerk_approves(clerk_page, live_server, resume)
    clerk_approves(clerk_page, live_server, change)

    page.goto(live_server.url + resume.get_absolute_url())
    expect(page.locator("[data-enrolment-status]")).to_have_text("正常")
    assert Enrolment.objects.filter(person=ended.person).count() == 2
    ended.refresh_from_db()
    assert ended.status == Enrolment.Status.TERMINATED
    staying.person.refresh_from_db()
    assert staying.person.name == "吴晓明"

    page.goto(live_server.url + "/unit/inbox/")
    expect(page.locator("main")).to_contain_text(resume.reference)
    expect(page.locator("main")).to_contain_text(change.reference)
    page.goto(live_server.url + "/filings/")
    expect(page.locator("main")).to_contain_text("续保")
    expect(page.locator("main")).to_contain_text("个人信息变更")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_pages_have_no_serious_accessibility_violations(
    browser, live_server, transactional_db, viewport
):
    employer, agent = unit_with_agent()
    ended = create_enrolment(employer, name="周续保", status=Enrolment.Status.TERMINATED)
    staying = create_enrolment(employer, name="吴小明")
    change = person_change_submit(
        agent=agent,
        enrolment_id=staying.pk,
        idempotency_key=uuid.uuid4(),
        name="吴晓明",
        hukou_type=staying.person.hukou_type,
        employment_form=staying.employment_form,
        reason="登记时姓名录入错误",
        scan=upload("身份证.jpg", jpg_bytes(), "image/jpeg"),
    )
    context = browser.new_context(viewport=viewport, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    log_in(page, live_server, unit=employer.ss_number, id_number=agent.id_number, password=PASSWORD)
    found = {}
    for path in [
        "/enrollment/resume/",
        f"/enrollment/resume/{ended.pk}/",
        "/enrollment/person-change/",
        f"/enrollment/person-change/new/{staying.pk}/",
        change.get_absolute_url(),
        f"/enrollment/roster/{staying.pk}/",
    ]:
        response = page.goto(live_server.url + path)
        assert response is not None and response.ok, (path, response and response.status)
        if violations := serious_violations(page):
            found[path] = violations
    context.close()
    assert not found, found
