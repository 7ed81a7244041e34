"""Pages whose static text is stored per process ({% constant_fragment %} with slots,
{% unbound_form_fragment %}, for_rows' stored bodies): each page prints what its template prints
with its store tags removed, rendered from the view's own context, in both languages, apart from
the CSRF tokens; for the roster, every kind of page (first, later, last, name search results,
document number search, filtered, empty)."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.template import engines
from django.template.response import SimpleTemplateResponse
from django.urls import reverse
from django.utils import translation

from employers.models import Role
from enrollment.models import Enrolment
from enrollment.roster.selectors import PAGE_SIZE
from portal.templatetags import portal_tags, row_tags
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# The store tags only keep what their content prints: without them the template prints the same.
_PLAIN_TAGS = re.compile(
    r"{% (?:end)?(?:constant_fragment|unbound_form_fragment)(?: [^%]*)? %}|{% (?:end)?slot %}"
)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
ROSTER = "/enrollment/roster/"
LANGUAGES = ["zh-hans", "en"]


@pytest.fixture(autouse=True)
def empty_stores():
    portal_tags.fragments_clear()
    row_tags.stored_bodies_clear()
    yield
    portal_tags.fragments_clear()
    row_tags.stored_bodies_clear()


@pytest.fixture
def employer():
    return create_employer()


@pytest.fixture
def agent_client(client, employer):
    agent = create_agent(
        employer,
        roles=[Role.UNIT_ADMIN, Role.ENROLMENT, Role.CONTRIBUTIONS, Role.QUERIES],
        name="页面经办人",
    )
    client.force_login(agent.user)
    return client


@pytest.fixture
def roster(employer):
    """A page and a bit of enrolments: active, ended (续保 offered) and pending, names with
    markup characters, more insurance code sets."""
    made = []
    for index in range(PAGE_SIZE + 3):
        made.append(
            create_enrolment(
                employer,
                name=["王<五>", "李&四", "张三"][index % 3] + str(index),
                status=[
                    Enrolment.Status.ACTIVE,
                    Enrolment.Status.TERMINATED,
                    Enrolment.Status.PENDING,
                ][index % 3],
                insurance_codes=[["110", "210", "310", "410"], ["410"]][index % 2],
                start_month=datetime.date(2024, 1 + index % 12, 1),
            )
        )
    return made


def rendered_both_ways(client, path: str, before: str, language: str, **request) -> None:
    """The response's page, and the old template rendered from the same context."""
    captured = {}
    resolve = SimpleTemplateResponse.resolve_context

    def capture(response, context):
        captured.update(context=context, request=response._request)
        return resolve(response, context)

    SimpleTemplateResponse.resolve_context = capture
    try:
        method = request.pop("method", "get")
        response = getattr(client, method)(path, HTTP_ACCEPT_LANGUAGE=language, **request)
    finally:
        SimpleTemplateResponse.resolve_context = resolve
    assert response.status_code == 200
    with translation.override(language):
        old = engines["django"].from_string(_PLAIN_TAGS.sub("", (TEMPLATES / before).read_text()))
        expected = old.render(captured["context"], captured["request"])
    page = response.content.decode()
    assert CSRF.sub("", page) == CSRF.sub("", expected)
    return page


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_dashboard_prints_what_it_printed(agent_client, roster, language):
    for _ in range(2):  # stored, then from the store
        page = rendered_both_ways(
            agent_client, reverse("dashboard"), "portal/dashboard.html", language
        )
    assert "页面经办人" in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_roster_pages_print_what_they_printed(agent_client, roster, language):
    number = roster[5].person.document_number
    for _ in range(2):
        first = rendered_both_ways(agent_client, ROSTER, "enrollment/roster.html", language)
        last = rendered_both_ways(
            agent_client, f"{ROSTER}?page=2", "enrollment/roster.html", language
        )
        rendered_both_ways(
            agent_client, f"{ROSTER}?status=terminated", "enrollment/roster.html", language
        )
        rendered_both_ways(
            agent_client, f"{ROSTER}?insurance_code=999", "enrollment/roster.html", language
        )
        for term in ["王", number, "没有这个人"]:
            found = agent_client.post(ROSTER, {"q": term, "status": "active"})
            rendered_both_ways(agent_client, found.url, "enrollment/roster.html", language)
    assert "王&lt;五&gt;51" in first and "李&amp;四52" in first and "/enrollment/resume/" in first
    assert "王&lt;五&gt;0" in last
    assert "page=2" in first and "page=1" in last


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_add_page_prints_what_it_printed(agent_client, language):
    for _ in range(2):
        rendered_both_ways(
            agent_client, "/enrollment/add/", "enrollment/add_employee.html", language
        )
    page = rendered_both_ways(
        agent_client,
        "/enrollment/add/",
        "enrollment/add_employee.html",
        language,
        method="post",
        data={"name": "王<五>"},
    )
    assert "王&lt;五&gt;" in page  # the bound form, with its errors


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_proof_issue_page_prints_what_it_printed(agent_client, roster, language):
    path = "/contributions/proofs/new/"
    for _ in range(2):
        rendered_both_ways(agent_client, path, "contributions/proof_issue.html", language)
    data = {"kind": "person", "person_query": "王", "month_from": "2024-01", "month_to": "2024-02"}
    page = rendered_both_ways(
        agent_client, path, "contributions/proof_issue.html", language, method="post", data=data
    )
    assert 'name="person"' in page  # candidates to choose from, the form bound
    rendered_both_ways(agent_client, path, "contributions/proof_issue.html", language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_add_page_stands_in_for_its_form_and_prints_what_the_form_prints(
    agent_client, language
):
    from enrollment.add.forms import AddEmployeeForm, UnboundAddEmployeeForm

    captured = {}
    resolve = SimpleTemplateResponse.resolve_context

    def capture(response, context):
        captured.update(context=context, request=response._request)
        return resolve(response, context)

    SimpleTemplateResponse.resolve_context = capture
    built = []
    try:
        for _ in range(3):  # stored, then from the store
            response = agent_client.get("/enrollment/add/", HTTP_ACCEPT_LANGUAGE=language)
            form = captured["context"]["form"]
            assert isinstance(form, UnboundAddEmployeeForm)
            built.append(form._form is not None)
            # The template without its store tags, with the real form the view used to build.
            context = {**captured["context"], "form": AddEmployeeForm(**form._kwargs)}
            with translation.override(language):
                plain = _PLAIN_TAGS.sub(
                    "", (TEMPLATES / "enrollment/add_employee.html").read_text()
                )
                expected = engines["django"].from_string(plain).render(context, captured["request"])
            assert CSRF.sub("", response.content.decode()) == CSRF.sub("", expected)
            assert str(form.initial["idempotency_key"]) in expected
    finally:
        SimpleTemplateResponse.resolve_context = resolve
    assert built == [True, False, False]  # built to store its HTML, then never
