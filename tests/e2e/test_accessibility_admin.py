"""axe-core on the clerk's admin pages (issue 19 item 3): the one-form login, the admin index,
the review home, the review queue and a changelist with its filters, a review page of each main
filing kind, the report and the notification outbox. No serious or critical violations of
WCAG 2 A/AA, as tests/e2e/test_accessibility.py checks on the agent's pages."""

import json

import pytest
from django.contrib.auth import get_user_model

from tests.e2e.admin_filings import one_of_each_kind
from tests.e2e.conftest import DESKTOP
from tests.e2e.test_accessibility import serious_violations
from tests.factories import create_clerk

pytestmark = pytest.mark.e2e


def change_path(item) -> str:
    opts = item._meta
    return f"/admin/{opts.app_label}/{opts.model_name}/{item.pk}/change/"


def changelist_path(model) -> str:
    opts = model._meta
    return f"/admin/{opts.app_label}/{opts.model_name}/"


def test_clerk_admin_pages_have_no_serious_accessibility_violations(
    browser, live_server, transactional_db, admin_login
):
    items = one_of_each_kind()
    clerk = create_clerk("axe-clerk", first_name="审核", last_name="钱")
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    found = {}

    def check(path):
        response = page.goto(live_server.url + path)
        assert response is not None and response.ok, (path, response and response.status)
        if violations := serious_violations(page):
            found[path] = violations

    check("/admin/login/")
    admin_login(page, live_server, clerk)
    check("/admin/")
    check("/admin/review/home/")
    queue = changelist_path(items[1])
    check(queue)
    check(queue + "?due=overdue&mine=decided&queue=all")
    check(queue + "?q=%E6%97%A0%E6%AD%A4%E5%8D%95%E4%BD%8D")  # a search with no result
    for item in items:
        check(change_path(item))
    check("/admin/review/report/")
    context.close()

    # The outbox is an operator's page (a superuser's in this test).
    operator = get_user_model().objects.create_superuser(
        "axe-operator", "operator@si.example", "unused"
    )
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    admin_login(page, live_server, operator)
    check("/admin/portal/notification/")
    check("/admin/portal/notification/?stuck=retry_due")
    context.close()
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)
