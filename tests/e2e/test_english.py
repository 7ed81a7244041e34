"""English (issue 19): an agent switches to English with the header's language switch and every
main page is English: no Chinese character is left on screen but the data (the unit's, its
agents' and persons' names and addresses, region names) and the switch's own "简体中文". A clerk
who chose English reads the admin's home and a review page in English."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from contributions.backpay.services import backpay_compute, backpay_submit
from contributions.common import new_reference
from contributions.models import CollectionMode, CollectionOrder, ExportJob
from employers.models import Agent, Employer, OpenedAccount, Role
from enrollment.models import EmploymentForm, Enrolment, HukouType, Person
from enrollment.personchange.services import person_change_submit
from portal.models import Region
from tests.contributions.backpay.helpers import D, Unit, key, months_ago, pdf
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.contributions.collection.helpers import tax_unit
from tests.e2e.conftest import DESKTOP
from tests.e2e.test_accessibility import AGENT_PAGES, PUBLIC_PAGES
from tests.e2e.test_admin_review_pages import change_path
from tests.e2e.test_agent_roles_flow import log_in
from tests.enrollment.add_helpers import jpg_bytes, upload
from tests.factories import create_agent, create_clerk
from tests.portal.review_pages import (
    submitted_add_filing,
    submitted_declaration,
    submitted_registration,
)

pytestmark = pytest.mark.e2e

PASSWORD = "Test2026pass"  # create_agent's
HELP_PAGES = ["/help/", "/help/faq/", "/help/states/", "/help/benefits/", "/proof/"]
# Pages added after the catalogue (人员续保, 个人信息变更, 补缴申请), walked whether or not the
# accessibility list has them yet.
NEW_AGENT_PAGES = [
    "/enrollment/resume/",
    "/enrollment/person-change/",
    "/contributions/backpay/",
    "/contributions/backpay/new/",
]
# Han characters and the full-width punctuation that goes with them (，。：、（）“”).
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef“”]+")
LANGUAGE_LABEL = "简体中文"
# Chinese an English page quotes on purpose, where the user must find it on a Chinese screen: the
# memo the bank prints on the unit's statement, the e-Tax Bureau's menu item.
QUOTED = {"账户验证", "社保费缴纳"}


def data_texts(*objects) -> set[str]:
    """The Chinese text of the given rows' fields: data the page shows as stored."""
    texts = set()
    for obj in objects:
        for field in obj._meta.concrete_fields:
            value = getattr(obj, field.attname, None)
            if isinstance(value, str) and CHINESE.search(value):
                texts.add(value)
    return texts


def chinese_left(text: str, data: set[str]) -> list[str]:
    for value in sorted(data | QUOTED | {LANGUAGE_LABEL}, key=len, reverse=True):
        text = text.replace(value, " ")
    return [
        text[max(match.start() - 30, 0) : match.end() + 30].replace("\n", " ")
        for match in CHINESE.finditer(text)
    ]


def switch_to_english(page) -> None:
    page.locator("form.portal-language button[value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_an_agent_switches_to_english_and_every_main_page_is_english(
    browser, live_server, transactional_db
):
    unit, admin, _period, staff = create_unit_with_staff(2)
    bill = create_bill(unit, datetime.date(2026, 11, 1), staff)
    # One employee left in October: listed for 续保, whose form is walked too.
    Enrolment.objects.filter(pk=staff[1].pk).update(
        status=Enrolment.Status.TERMINATED,
        ended_on=datetime.date(2026, 10, 31),
        last_contribution_month=datetime.date(2026, 10, 1),
    )
    # A large export queued as a job: its page shows the progress.
    job = ExportJob.objects.create(
        reference=new_reference("DC"),
        employer=unit,
        requested_by=admin,
        kind=ExportJob.Kind.RECORDS,
        format=ExportJob.Format.XLSX,
        row_count=16,
    )
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, unit=unit.ss_number, id_number=admin.id_number, password=PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    switch_to_english(page)
    expect(page.locator("form.portal-language button[value=zh-hans]")).to_have_text(LANGUAGE_LABEL)

    employer = Employer.objects.select_related("account").get(pk=unit.pk)
    data = data_texts(
        employer,
        OpenedAccount.objects.get(pk=employer.account_id),
        *Agent.objects.filter(employer=unit),
        *Region.objects.all(),
        *EmploymentForm.objects.all(),  # the region's own list of 用工形式
        *Person.objects.filter(enrolments__employer=unit),
    )
    details = [
        f"/contributions/bills/{bill.reference}/",
        f"/enrollment/roster/{staff[0].pk}/",
        f"/contributions/persons/{staff[0].person_id}/",
        f"/enrollment/resume/{staff[1].pk}/",
        f"/enrollment/person-change/new/{staff[0].pk}/",
        job.get_absolute_url(),
    ]
    found = {}
    for path in dict.fromkeys([*AGENT_PAGES, *NEW_AGENT_PAGES, *details, *HELP_PAGES]):
        response = page.goto(live_server.url + path)
        assert response is not None and response.ok, (path, response and response.status)
        assert page.locator("html").get_attribute("lang") == "en", path
        if left := chinese_left(page.locator("body").inner_text(), data):
            found[path] = left
    context.close()
    assert not found, "\n".join(f"{path}: {left}" for path, left in found.items())


def test_a_tax_bureau_bill_its_sandbox_payment_and_receipt_in_english(
    browser, live_server, transactional_db, settings
):
    """税务征收: the bill page before and after confirming (应征凭证序号, how to pay), the sandbox
    电子税务局 and the bill paid there (电子缴款凭证号 and its date) are English."""
    settings.SANDBOX_PROVIDERS = True
    settings.SANDBOX_BANK_SETTLEMENT_DAYS = 3
    settings.COLLECTION_ADAPTER = "sandbox"
    unit, agent, bill = tax_unit(mode=CollectionMode.TAX_BUREAU)
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, unit=unit.ss_number, id_number=agent.id_number, password=PASSWORD)
    switch_to_english(page)
    data = data_texts(
        unit,
        unit.account,
        agent,
        *Region.objects.all(),
        *Person.objects.filter(enrolments__employer=unit),
    )
    found = {}

    def check(name: str) -> None:
        assert page.locator("html").get_attribute("lang") == "en", name
        if left := chinese_left(page.locator("body").inner_text(), data):
            found[name] = left

    try:
        page.goto(f"{live_server.url}/contributions/bills/{bill.reference}/")
        check("bill to confirm")
        page.get_by_role("button", name="Confirm bill").click()
        order = CollectionOrder.objects.get(bill=bill)
        expect(page.locator("[data-voucher]")).to_have_text(order.voucher_number)
        check("bill sent to the tax bureau")
        sandbox = "(Test environment) Pay at the simulated e-Tax Bureau"
        page.get_by_role("link", name=sandbox).click()
        form = page.locator(f"form[data-voucher='{order.voucher_number}']")
        expect(form).to_be_visible()
        check("sandbox e-Tax Bureau")
        form.get_by_role("button", name="Pay", exact=True).click()
        order.refresh_from_db()
        expect(page.locator("[data-receipt]")).to_contain_text(order.receipt_number)
        check("bill paid at the tax bureau")
    finally:
        context.close()
    assert not found, "\n".join(f"{name}: {left}" for name, left in found.items())


def test_a_back_payment_application_and_a_personal_details_change_in_english(
    browser, live_server, transactional_db
):
    """The detail pages of a filed 补缴申请 (figures, rule, evidence) and of a filed 个人信息变更
    (old and new values, documents) are English; what the agent typed stays as typed."""
    unit = Unit("英文补缴有限公司")
    admin = create_agent(employer=unit.employer, roles=[Role.UNIT_ADMIN], name="英文管理员")
    joiner = unit.late_joiner("韩梅梅")
    months = [(months_ago(5), D("9000"))]
    document = joiner.person.document_number
    figures = backpay_compute(agent=unit.agent, document_number=document, months=months)
    application = backpay_submit(
        agent=unit.agent,
        idempotency_key=key(),
        document_number=document,
        months=months,
        reason="入职后未及时参保",
        shown_total=figures.total,
        evidence=pdf(),
    )
    change = person_change_submit(
        agent=admin,
        enrolment_id=joiner.pk,
        idempotency_key=key(),
        name="韩梅",
        hukou_type=HukouType.LOCAL_RURAL,
        employment_form=joiner.employment_form,
        reason="登记时姓名录入错误",
        scan=upload("户口簿.jpg", jpg_bytes(), "image/jpeg"),
    )
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    ss_number = unit.employer.ss_number
    log_in(page, live_server, unit=ss_number, id_number=admin.id_number, password=PASSWORD)
    switch_to_english(page)
    data = data_texts(
        unit.employer,
        unit.employer.account,
        *Agent.objects.filter(employer=unit.employer),
        *Region.objects.all(),
        *EmploymentForm.objects.all(),
        *Person.objects.filter(enrolments__employer=unit.employer),
        application,
        change,
    )
    data |= {"劳动合同.pdf", "户口簿.jpg"}
    found = {}
    for path in [application.get_absolute_url(), change.get_absolute_url()]:
        response = page.goto(live_server.url + path)
        assert response is not None and response.ok, (path, response and response.status)
        assert page.locator("html").get_attribute("lang") == "en", path
        if left := chinese_left(page.locator("body").inner_text(), data):
            found[path] = left
    context.close()
    assert not found, "\n".join(f"{path}: {left}" for path, left in found.items())


def test_the_public_pages_in_english(browser, live_server, transactional_db):
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.goto(live_server.url + "/")
    switch_to_english(page)
    data = data_texts(*Region.objects.all())
    found = {}
    for path in PUBLIC_PAGES:
        response = page.goto(live_server.url + path)
        assert response is not None and response.ok, (path, response and response.status)
        assert page.locator("html").get_attribute("lang") == "en", path
        if left := chinese_left(page.locator("body").inner_text(), data):
            found[path] = left
    context.close()
    assert not found, "\n".join(f"{path}: {left}" for path, left in found.items())


def test_a_clerk_who_chose_english_reads_the_admin_in_english(
    browser, live_server, transactional_db, admin_login
):
    filing = submitted_add_filing()
    others = [submitted_registration(), submitted_declaration()]
    clerk = create_clerk("e2e-english", first_name="审核", last_name="钱")
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.goto(live_server.url + "/")
    switch_to_english(page)
    admin_login(page, live_server, clerk)

    data = data_texts(
        clerk,
        filing.employer,
        filing.employer.account,
        *Agent.objects.filter(employer=filing.employer),
        filing.enrolment.person,
        *EmploymentForm.objects.all(),
        *Region.objects.all(),
    )
    for item in [filing, *others]:
        # Pre-check details with figures are written in Chinese when checked and shown as stored.
        item.refresh_from_db()
        data |= {str(result.get("detail")) for result in item.precheck_results}
    for item in others:
        data |= data_texts(item.employer, item.employer.account)
        data |= data_texts(*Agent.objects.filter(employer=item.employer))
        data |= data_texts(*Person.objects.filter(enrolments__employer=item.employer))
    data |= {attachment.original_name for attachment in filing.attachments.all()}
    found = {}
    pages = [
        "/admin/",
        "/admin/review/home/",
        "/admin/review/report/",
        "/admin/enrollment/addemployeefiling/",
        f"/admin/enrollment/addemployeefiling/{filing.pk}/change/",
        *(change_path(item) for item in others),
    ]
    for path in pages:
        response = page.goto(live_server.url + path)
        assert response is not None and response.ok, (path, response and response.status)
        assert page.locator("html").get_attribute("lang") == "en", path
        if left := chinese_left(page.locator("body").inner_text(), data):
            found[path] = left
    context.close()
    assert not found, "\n".join(f"{path}: {left}" for path, left in found.items())
