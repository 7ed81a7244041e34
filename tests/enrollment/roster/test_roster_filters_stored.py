"""The roster's filters of a search that names no one are remembered per process
(enrollment.roster.views.roster_filters), and its search form is built only when the template
makes its stored fragment: the same filters as the form gives, the same page."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from employers.models import Role
from enrollment.roster import views
from enrollment.roster.views import RosterFilterForm, roster_filters
from portal.templatetags import portal_tags
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
SEARCHES = [
    {},
    {"q": ""},
    {"status": "active"},
    {"status": "terminated", "insurance_code": "410"},
    {"insurance_code": "110"},
    {"status": "nonsense"},  # invalid: counts as no filter
    {"status": "active", "insurance_code": "999"},
    {"q": "", "status": "pending"},
    {"q": "王", "status": "active"},  # a term: through the form each time
    {"q": "  李四  "},
    {"status": "x" * 40},  # a long value: through the form each time
    {"status": "active", "other": "1"},
]


def test_the_filters_are_the_forms(monkeypatch):
    monkeypatch.setattr(views, "_PLAIN_SEARCHES", {})
    for _time in range(3):
        for language in ("zh-hans", "en"):
            with translation.override(language):
                for data in SEARCHES:
                    filters = roster_filters(dict(data))
                    assert filters == RosterFilterForm(dict(data)).filters(), data
                    filters["status"] = "changed"  # a caller's change stays its own
    stored = {dict(key).get("status", "") for key in views._PLAIN_SEARCHES}
    assert stored == {"", "active", "terminated", "nonsense", "pending"}
    assert all(not dict(key).get("q") for key in views._PLAIN_SEARCHES)


def test_the_form_is_built_when_the_fragment_is_made(client, monkeypatch):
    employer = create_employer()
    agent = create_agent(employer, roles=[Role.ENROLMENT], name="花名册经办人")
    for index in range(3):
        create_enrolment(employer, name=f"员工{index}")
    client.force_login(agent.user)
    portal_tags.fragments_clear()
    monkeypatch.setattr(views, "_PLAIN_SEARCHES", {})
    built = []
    real_init = RosterFilterForm.__init__

    def counting_init(form, *args, **kwargs):
        built.append(args)
        real_init(form, *args, **kwargs)

    monkeypatch.setattr(RosterFilterForm, "__init__", counting_init)
    pages = []
    for _time in range(2):
        response = client.get("/enrollment/roster/?status=active")
        assert response.status_code == 200
        pages.append(CSRF.sub("", response.content.decode()))
    # The first page: the filters and the stored fragment's form; the second page: neither.
    assert len(built) == 2
    assert 'name="status"' in pages[1] and "员工2" in pages[1]
    assert (
        pages[0].split('name="csrfmiddlewaretoken"')[0]
        == pages[1].split('name="csrfmiddlewaretoken"')[0]
    )
