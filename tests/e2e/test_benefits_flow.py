"""In real Chromium (issue 17): a 待遇申领员 files a 生育津贴 claim (the confirmation shows the days
and the amount before submitting) and a 工伤认定申请; a clerk approves both in the admin; the
agent's pages show the approved amount and 已认定为工伤, and the inbox has both results."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from contributions.models import InjuryRecognition, MaternityClaim
from portal.models import ReviewState
from tests.contributions.benefits.helpers import Unit, event_date, month_before
from tests.e2e.conftest import DESKTOP
from tests.e2e.test_agent_roles_flow import log_in
from tests.enrollment.add_helpers import jpg_bytes, pdf_bytes
from tests.factories import create_clerk

pytestmark = pytest.mark.e2e

PASSWORD = "Test2026pass"  # tests.factories.create_agent's


def clerk_approves(page, live_server, item):
    opts = item._meta
    page.goto(f"{live_server.url}/admin/{opts.app_label}/{opts.model_name}/{item.pk}/change/")
    expect(page.locator("main, #content").first).to_contain_text(item.reference)
    page.click("button[name=approve]")
    expect(page.locator(".messagelist")).to_contain_text("已审核")


def test_a_maternity_claim_and_a_work_injury_application_approved_by_a_clerk(
    browser, live_server, transactional_db, admin_login
):
    unit = Unit("待遇浏览器测试有限公司")
    wang = unit.employee("王芳", "8000")
    worker = unit.employee("张伟", "8000", female=False)
    unit.bills([month_before(n) for n in range(12, 0, -1)], [wang, worker])
    clerk = create_clerk("e2e-benefit-clerk")
    clerk_page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    admin_login(clerk_page, live_server, clerk)

    page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    log_in(
        page,
        live_server,
        unit=unit.employer.ss_number,
        id_number=unit.agent.id_number,
        password=PASSWORD,
    )

    # 生育津贴: the facts, then the confirmation with the figures, then the certificate.
    page.get_by_role("link", name="生育津贴申领").first.click()
    expect(page.locator("h1")).to_contain_text("生育津贴申领")
    page.fill("#id_document_number", wang.person.document_number)
    page.fill("#id_event_date", event_date().isoformat())
    page.select_option("#id_kind", "birth")
    page.get_by_role("button", name="下一步:计算津贴").click()
    expect(page.locator("h1")).to_contain_text("确认生育津贴申领")
    # Both employees on 8000 for the 12 months before: 8000 ÷ 30 × 98 = 26133.33.
    expect(page.locator("[data-days]")).to_have_text("98")
    expect(page.locator("[data-amount]")).to_have_text("26133.33")
    assert MaternityClaim.objects.count() == 0
    page.set_input_files(
        "#id_certificate",
        files=[{"name": "出生医学证明.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}],
    )
    page.get_by_role("button", name="确认无误,提交申领").click()
    expect(page).to_have_url(re.compile(r"/contributions/benefits/maternity/SY"))
    claim = MaternityClaim.objects.get()
    expect(page.locator("h1")).to_contain_text(claim.reference)

    # 工伤认定申请, 5 days after the accident: no reason for lateness needed.
    page.get_by_role("link", name="工伤认定申请").first.click()
    accident = timezone.localdate() - datetime.timedelta(days=5)
    page.fill("#id_document_number", worker.person.document_number)
    page.fill("#id_accident_date", accident.isoformat())
    page.fill("#id_accident_time", "10:15")
    page.fill("#id_place", "成品仓库")
    page.fill("#id_description", "叉车倒车时撞伤左腿")
    page.set_input_files(
        "#id_diagnosis",
        files=[{"name": "诊断证明.jpg", "mimeType": "image/jpeg", "buffer": jpg_bytes()}],
    )
    page.get_by_role("button", name="提交工伤认定申请").click()
    expect(page).to_have_url(re.compile(r"/contributions/benefits/injury/GS"))
    recognition = InjuryRecognition.objects.get()
    assert recognition.review_state == ReviewState.PENDING  # pre-checked after commit

    # The clerk approves both in the admin.
    clerk_approves(clerk_page, live_server, claim)
    clerk_approves(clerk_page, live_server, recognition)

    page.goto(live_server.url + claim.get_absolute_url())
    expect(page.locator("[data-approved-amount]")).to_contain_text("26133.33")
    page.goto(live_server.url + recognition.get_absolute_url())
    expect(page.locator("[data-recognised]")).to_contain_text("已认定为工伤")
    expect(page.get_by_role("link", name="申领工伤待遇")).to_be_visible()

    page.goto(live_server.url + "/unit/inbox/")
    expect(page.locator("main")).to_contain_text(claim.reference)
    expect(page.locator("main")).to_contain_text(recognition.reference)
