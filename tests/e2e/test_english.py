"""English (issue 19): an agent switches to English with the header's language switch and every
main page is English: no Chinese character is left on screen but the data (the unit's, its
agents' and persons' names and addresses, region names) and the switch's own "简体中文". A clerk
who chose English reads the admin's home and a review page in English."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from employers.models import Agent, Employer, OpenedAccount
from enrollment.models import EmploymentForm, Person
from portal.models import Region
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.e2e.conftest import DESKTOP
from tests.e2e.test_accessibility import AGENT_PAGES, PUBLIC_PAGES
from tests.e2e.test_admin_review_pages import change_path
from tests.e2e.test_agent_roles_flow import log_in
from tests.factories import create_clerk
from tests.portal.review_pages import (
    submitted_add_filing,
    submitted_declaration,
    submitted_registration,
)

pytestmark = pytest.mark.e2e

PASSWORD = "Test2026pass"  # create_agent's
HELP_PAGES = ["/help/", "/help/faq/", "/help/states/", "/help/benefits/", "/proof/"]
# Han characters and the full-width punctuation that goes with them (，。：、（）“”).
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef“”]+")
LANGUAGE_LABEL = "简体中文"
# Chinese an English page quotes on purpose: the memo the bank prints on the unit's statement.
QUOTED = {"账户验证"}


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
    ]
    found = {}
    for path in [*AGENT_PAGES, *details, *HELP_PAGES]:
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
