"""The dashboard's unit and agent panels print the status and the role labels the view looked up
(employer_status, role_labels): the same pages as the template's own calls printed."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.template import engines
from django.urls import reverse
from django.utils import translation

from employers.models import Employer, Role
from portal.dashboard import employer_status_label
from portal.models import ReviewState
from portal.templatetags import portal_tags, row_tags
from tests.factories import create_agent, create_employer
from tests.support.rendering import captured_context

pytestmark = pytest.mark.django_db

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "portal" / "dashboard.html"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
STORE_TAGS = re.compile(r"{% (?:end)?constant_fragment(?: [^%]*)? %}|{% (?:end)?slot %}")
# What the template printed before: the view's values in place of the template's calls.
OLD = {
    "{{ employer_status }}": "{{ employer.get_status_display }}",
    "{% for label in role_labels %}": "{% for label in agent.role_labels %}",
    "{% for_rows item in attention_rows %}": "{% for item in attention %}",
    "{% if item.danger %}": '{% if item.level == "danger" %}',
    "{% elif item.info %}": '{% elif item.level == "info" %}',
    "{% endfor_rows %}": "{% endfor %}",
}


def old_template_text() -> str:
    text = TEMPLATE.read_text()
    for new, old in OLD.items():
        assert text.count(new) == 1
        text = text.replace(new, old)
    return STORE_TAGS.sub("", text)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_employer_status_label_is_get_status_display(language):
    employer = create_employer()
    with translation.override(language):
        for status in [*Employer.Status.values, "unknown"]:
            employer.status = status
            assert employer_status_label(employer) == employer.get_status_display()
            assert type(employer_status_label(employer)) is str


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_panels_print_what_the_templates_calls_printed(client, language):
    employer = create_employer()
    old = engines["django"].from_string(old_template_text())
    agents = [
        create_agent(employer, roles=[Role.UNIT_ADMIN, Role.ENROLMENT, Role.QUERIES], name="甲"),
        create_agent(employer, roles=[Role.CONTRIBUTIONS], name="乙<b>"),
        create_agent(employer, roles=[], name="丙"),
    ]
    portal_tags.fragments_clear()
    for _round in range(2):  # stored, then from the store
        for agent in agents:
            client.force_login(agent.user)
            with captured_context() as captured:
                response = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code == 200
            with translation.override(language):
                expected = old.render(captured["context"], captured["request"])
                labels = [str(label) for label in agent.role_labels()]
                status = employer.get_status_display()
            page = response.content.decode()
            assert CSRF.sub("", page) == CSRF.sub("", expected)
            assert status in page and all(label in page for label in labels)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_attention_list_prints_what_the_for_loop_printed(client, language):
    from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
    from tests.portal.test_dashboard_attention import rejected_removal
    from tests.portal.test_filings import add_filing

    unit, admin, _period, staff = create_unit_with_staff(2)
    old = engines["django"].from_string(old_template_text())
    levels = set()
    portal_tags.fragments_clear()
    row_tags.stored_bodies_clear()
    steps = [
        lambda: None,  # nothing to do
        lambda: rejected_removal(unit, admin, staff[0]),  # danger
        lambda: add_filing(unit, admin, "ZY5001", ReviewState.PENDING),  # info
        lambda: create_bill(unit, datetime.date(2026, 7, 1), staff),  # warning
    ]
    client.force_login(admin.user)
    for step in steps:
        step()
        for _round in range(2):  # stored, then from the store
            with captured_context() as captured:
                response = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE=language)
            with translation.override(language):
                expected = old.render(captured["context"], captured["request"])
            assert CSRF.sub("", response.content.decode()) == CSRF.sub("", expected)
            levels |= {item.level for item in captured["context"]["attention"]}
    assert levels == {"danger", "info", "warning"}
