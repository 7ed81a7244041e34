"""The dashboard's unit and agent panels print the status and the role labels the view looked up
(employer_status, role_labels): the same pages as the template's own calls printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template import engines
from django.template.response import SimpleTemplateResponse
from django.urls import reverse
from django.utils import translation

from employers.models import Employer, Role
from portal.dashboard import employer_status_label
from portal.templatetags import portal_tags
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "portal" / "dashboard.html"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
STORE_TAGS = re.compile(r"{% (?:end)?constant_fragment(?: [^%]*)? %}|{% (?:end)?slot %}")
# What the template printed before: the view's values in place of the template's calls.
OLD = {
    "{{ employer_status }}": "{{ employer.get_status_display }}",
    "{% for label in role_labels %}": "{% for label in agent.role_labels %}",
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
            captured = {}
            resolve = SimpleTemplateResponse.resolve_context

            def capture(response, context, captured=captured, resolve=resolve):
                captured.update(context=context, request=response._request)
                return resolve(response, context)

            SimpleTemplateResponse.resolve_context = capture
            try:
                response = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE=language)
            finally:
                SimpleTemplateResponse.resolve_context = resolve
            assert response.status_code == 200
            with translation.override(language):
                expected = old.render(captured["context"], captured["request"])
                labels = [str(label) for label in agent.role_labels()]
                status = employer.get_status_display()
            page = response.content.decode()
            assert CSRF.sub("", page) == CSRF.sub("", expected)
            assert status in page and all(label in page for label in labels)
