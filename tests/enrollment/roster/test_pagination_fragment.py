"""The roster's page links are includes/pagination.html written out in the stored "roster
pages" fragment (its query and numbers slots): every kind of roster page prints what the
template printed with the include, in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template import engines
from django.template.loader import render_to_string
from django.utils import translation

from employers.models import Role
from enrollment.models import Enrolment
from enrollment.roster.selectors import PAGE_SIZE
from portal.templatetags import portal_tags, row_tags
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer
from tests.support.rendering import captured_context

pytestmark = pytest.mark.django_db

ROSTER = "/enrollment/roster/"
TEMPLATE = Path(__file__).resolve().parents[3] / "templates" / "enrollment" / "roster.html"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
STORE_TAGS = re.compile(r"{% (?:end)?constant_fragment(?: [^%]*)? %}|{% (?:end)?slot %}")
# The list as written out in the fragment, from its first line to its last.
WRITTEN_OUT = re.compile(r'\n<ul class="pagination flex-wrap">.*?</ul>\n\n', re.S)
INCLUDE = '{% include "includes/pagination.html" with page=page query=query %}'


def old_template_text() -> str:
    """roster.html as it was: the include in place of the written-out list (and no stores)."""
    text = TEMPLATE.read_text()
    assert len(WRITTEN_OUT.findall(text)) == 1
    return STORE_TAGS.sub("", WRITTEN_OUT.sub(lambda _match: INCLUDE, text))


@pytest.fixture
def agent_client(client):
    employer = create_employer()
    for index in range(PAGE_SIZE * 3 + 4):
        create_enrolment(
            employer,
            name=f"王{index}" if index % 2 else f"李{index}",
            status=[Enrolment.Status.ACTIVE, Enrolment.Status.TERMINATED][index % 2],
        )
    agent = create_agent(employer, roles=[Role.UNIT_ADMIN, Role.ENROLMENT])
    client.force_login(agent.user)
    return client


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_roster_page_prints_the_included_page_links(agent_client, language):
    searched = agent_client.post(ROSTER, {"q": "王"})["Location"]
    addresses = [
        ROSTER,
        f"{ROSTER}?page=2",
        f"{ROSTER}?page=4",  # the last
        f"{ROSTER}?page=3",
        f"{ROSTER}?page=99",
        f"{ROSTER}?status=active&page=2",
        searched,
        f"{searched}&page=2",
        f"{ROSTER}?status=suspended",  # one page: no links
    ]
    portal_tags.fragments_clear()
    row_tags.stored_bodies_clear()
    old = engines["django"].from_string(old_template_text())
    links = 0
    for _round in range(2):  # stored, then from the store
        for address in addresses:
            with captured_context() as captured:
                response = agent_client.get(address, HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code == 200
            page = response.content.decode()
            context = captured["context"]
            with translation.override(language):
                expected = old.render(context, captured["request"])
                included = render_to_string(
                    "includes/pagination.html",
                    {"page": context["page"], "query": context["query"]},
                )
            assert CSRF.sub("", page) == CSRF.sub("", expected), address
            if context["page"].paginator.num_pages > 1:
                assert included.strip() and included in page
                links += 1
    assert links == 2 * (len(addresses) - 1)
