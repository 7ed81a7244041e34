"""No resident ID number or mobile number in an address or a log line (issue 14).

The searches that may name a person (花名册, 缴费记录查询, 无记录原因, 减员, 开具证明) are POSTed;
their results are at ``?s=<token>`` (portal.search_tokens). The check over the whole test
session lives in tests/conftest.py (PersonalDataWatch); here are its own tests, one test per
page searched by a full ID number, and the tests of the token.
"""

from __future__ import annotations

import datetime
import html
import json
import logging
import re
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import Client, RequestFactory

from contributions.models import BillStatus, ContributionProof
from employers.models import Role
from portal import search_tokens
from tests.conftest import personal_data_in
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.factories import create_agent

pytestmark = pytest.mark.django_db

ROSTER = "/enrollment/roster/"
REMOVE = "/enrollment/remove/"
RECORDS = "/contributions/records/"
WHY = "/contributions/records/why/"
EXPORTS = "/contributions/records/exports/"
PROOF_ISSUE = "/contributions/proofs/new/"
AUG = datetime.date(2026, 8, 1)

ID_NUMBER = "11010519491231002X"  # GB 11643's own example: a valid check character
PHONE = "13812345678"


# The scan --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f"/enrollment/roster/?q={ID_NUMBER}",
        f"/enrollment/roster/?q={ID_NUMBER.lower()}",
        "/enrollment/roster/?q=110105+19491231+002X",
        "/enrollment/roster/?q=%20110105%2019491231%20002X",
        f"/login/?next=/enrollment/roster/%3Fq%3D{ID_NUMBER}",
        f"/accounts/unlock/?phone={PHONE}",
        "/x/?phone=138-1234-5678",
        f"2026-08-01 10:00:00 level=INFO logger=portal.sms sms to {PHONE} queued",
        f"证件号码{ID_NUMBER}核验失败",
    ],
)
def test_the_scan_finds_an_id_number_or_a_phone(text):
    assert personal_data_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "/enrollment/remove/JY110000000123/",  # a reference
        "/contributions/records/?s=Zq3_13812345678aB&page=2",  # a token with digits inside
        "/captcha/image/13812345678abcdef0123456789abcdef01234567/",
        "/admin/contributions/monthlybill/?q=11000000012",  # a unit's 社保编号
        "11010519491231002Y 110105194912310021",  # no valid check character
        "911101000000000017 uscc",  # a USCC: no birth date in it
        "Task succeeded in 0.13812345678 s",  # a fraction
        "2026-08-01 13:45:12,345 level=INFO logger=portal rows=12 total=12720.00",
        "/enrollment/remove/JY[账号已隐藏]/ [身份证号已隐藏] [手机号已隐藏]",
    ],
)
def test_the_scan_leaves_references_tokens_and_amounts_alone(text):
    assert personal_data_in(text) == []


def console_handler() -> logging.Handler:
    return next(h for h in logging.getLogger().handlers if h.get_name() == "console")


def test_the_watch_flags_an_address_a_redirect_and_a_log_line(client, personal_data_watch):
    logger = logging.getLogger("portal.tests.watch")
    with personal_data_watch.apart():
        client.get(f"/no-such-page/?q={ID_NUMBER}")
        logger.warning("sms to %s failed", PHONE)  # redacted by the console handler's filter
        findings = personal_data_watch.findings()
    assert len(findings) == 1
    assert findings[0].startswith(f"GET address: /no-such-page/?q={ID_NUMBER}")
    assert "test_the_watch_flags_an_address_a_redirect_and_a_log_line" in findings[0]

    console = console_handler()
    filters = list(console.filters)
    with personal_data_watch.apart():
        with personal_data_watch.typing_personal_data():
            # Anonymous: sent to the login page, with the address typed in its ``next``.
            response = client.get(f"{ROSTER}?q={ID_NUMBER}")
        console.filters = []  # as if the console handler lost its redacting filter
        try:
            logger.warning("sms to %s failed", PHONE)
        finally:
            console.filters = filters
        findings = personal_data_watch.findings()
    assert response.status_code == 302
    assert [line.split(":", 1)[0] for line in findings] == ["redirect Location", "log line"]
    assert PHONE in findings[1]


# One test per page: a search by a full ID number ends on addresses without it ------------------


@pytest.fixture
def unit():
    """A unit with two employees billed (settled) for 2026-08, and an agent who may search,
    remove, query and export."""
    employer, _admin, _period, enrolments = create_unit_with_staff(2)
    create_bill(employer, AUG, enrolments, status=BillStatus.SETTLED)
    agent = create_agent(employer, roles=[Role.ENROLMENT, Role.QUERIES], name="查询经办人")
    return SimpleNamespace(
        employer=employer, agent=agent, enrolments=enrolments, person=enrolments[0].person
    )


@pytest.fixture
def agent_client(client, unit):
    client.force_login(unit.agent.user)
    return client


def addresses(response) -> list[str]:
    """The addresses a followed request went through, and every link and form target of the
    page it ended on."""
    chain = [url for url, _status in response.redirect_chain]
    links = re.findall(r'(?:href|action|src)="([^"]*)"', response.content.decode())
    return chain + [html.unescape(link) for link in links]


def assert_clean(response, person):
    assert response.status_code == 200
    assert response.redirect_chain, "the search answers with a redirect to its results"
    leaked = [
        address
        for address in addresses(response)
        if personal_data_in(address) or person.document_number in address.upper()
    ]
    assert leaked == []


def token_of(response) -> str:
    [token] = re.findall(r"[?&]s=([\w-]+)", response.redirect_chain[-1][0])
    return token


def test_roster_search_by_id_number(agent_client, unit):
    person = unit.person
    response = agent_client.post(ROSTER, {"q": person.document_number.lower()}, follow=True)
    assert_clean(response, person)
    assert token_of(response)
    assert [row.pk for row in response.context["page"].object_list] == [unit.enrolments[0].pk]
    assert f'value="{person.document_number.lower()}"' in response.content.decode()


def test_records_search_by_id_number_and_its_export_link(agent_client, unit):
    person = unit.person
    response = agent_client.post(
        RECORDS,
        {"q": person.document_number, "month_from": "2026-08", "month_to": "2026-08"},
        follow=True,
    )
    assert_clean(response, person)
    assert response.redirect_chain[-1][0].endswith("&month_from=2026-08&month_to=2026-08")
    assert response.context["totals"].rows == 4
    token = token_of(response)
    link = f"{EXPORTS}?kind=records&amp;s={token}&amp;month_from=2026-08&amp;month_to=2026-08"
    assert link in response.content.decode()
    export_page = agent_client.get(html.unescape(link))
    assert export_page.context["filter_form"]["q"].value() == person.document_number


def test_why_search_by_id_number(agent_client, unit):
    person = unit.person
    response = agent_client.post(
        WHY, {"q": person.document_number, "month": "2026-08"}, follow=True
    )
    assert_clean(response, person)
    assert response.redirect_chain[-1][0].endswith("&month=2026-08")
    assert response.context["cause"].code == "settled"
    assert response.context["person"] == person


def test_removal_search_by_id_number(agent_client, unit):
    person = unit.person
    response = agent_client.post(REMOVE, {"search": "1", "q": person.document_number}, follow=True)
    assert_clean(response, person)
    assert [row.person for row in response.context["candidates"]] == [person]
    assert f"?enrolment={unit.enrolments[0].pk}" in response.content.decode()


def test_proof_issue_by_id_number(agent_client, unit):
    person = unit.person
    response = agent_client.post(
        PROOF_ISSUE,
        {
            "kind": "person",
            "person_query": person.document_number,
            "month_from": "2026-08",
            "month_to": "2026-08",
        },
        follow=True,
    )
    assert_clean(response, person)
    assert ContributionProof.objects.get().person == person


# The token -------------------------------------------------------------------------------------


def test_an_unknown_token_gives_the_empty_search_and_a_message(agent_client, unit):
    response = agent_client.get(ROSTER, {"s": "no-such-token", "status": "terminated"})
    assert "查询条件已过期" in response.content.decode()
    assert response.context["filters"] == {"q": "", "status": "", "insurance_code": ""}
    assert len(response.context["page"].object_list) == 2


def test_a_token_expires(agent_client, unit):
    found = agent_client.post(RECORDS, {"q": unit.person.document_number}, follow=True)
    address = found.redirect_chain[-1][0]
    assert agent_client.get(address).context["filters"]["q"] == unit.person.document_number
    session = agent_client.session
    session[search_tokens.SESSION_KEY][token_of(found)]["at"] -= search_tokens.TOKEN_LIFETIME
    session.save()
    response = agent_client.get(address)
    assert "查询条件已过期" in response.content.decode()
    assert response.context["filters"]["q"] == ""


def test_a_token_works_only_in_its_agents_session(agent_client, unit):
    found = agent_client.post(ROSTER, {"q": unit.person.document_number}, follow=True)
    address = found.redirect_chain[-1][0]
    colleague = Client()
    colleague.force_login(create_agent(unit.employer, roles=[Role.ENROLMENT]).user)
    response = colleague.get(address)
    assert "查询条件已过期" in response.content.decode()
    assert unit.person.document_number not in response.content.decode()
    assert len(response.context["page"].object_list) == 2


def request_of(user, session=None):
    request = RequestFactory().get("/")
    request.user = user
    request.session = session or import_module(settings.SESSION_ENGINE).SessionStore()
    return request


def test_a_token_is_bound_to_its_user_and_its_terms_are_kept_encrypted(unit):
    request = request_of(unit.agent.user)
    token = search_tokens.search_token_create(request, {"q": ID_NUMBER})
    assert search_tokens.search_token_terms(request, token) == {"q": ID_NUMBER}
    assert ID_NUMBER not in json.dumps(request.session[search_tokens.SESSION_KEY])
    other = create_agent(unit.employer, roles=[Role.ENROLMENT]).user
    assert search_tokens.search_token_terms(request_of(other, request.session), token) is None


def test_a_session_keeps_the_newest_tokens(unit):
    request = request_of(unit.agent.user)
    tokens = [
        search_tokens.search_token_create(request, {"q": f"张{i}"})
        for i in range(search_tokens.TOKENS_KEPT + 5)
    ]
    kept = request.session[search_tokens.SESSION_KEY]
    assert len(kept) == search_tokens.TOKENS_KEPT
    assert tokens[-1] in kept and tokens[0] not in kept


def test_an_empty_search_needs_no_token(agent_client, unit):
    response = agent_client.post(ROSTER, {"q": " ", "status": "active"})
    assert response["Location"] == f"{ROSTER}?status=active"
    assert search_tokens.SESSION_KEY not in agent_client.session


@pytest.mark.parametrize("url", [ROSTER, RECORDS, WHY, REMOVE, EXPORTS])
def test_a_search_typed_into_the_address_is_ignored(agent_client, unit, personal_data_watch, url):
    with personal_data_watch.typing_personal_data():
        response = agent_client.get(url, {"q": unit.person.document_number, "month": "2026-08"})
    assert response.status_code == 200
    assert "cause" not in response.context
    assert list(response.context.get("candidates", [])) == []
    if "filters" in response.context:
        assert response.context["filters"]["q"] == ""
    if "filter_form" in response.context:
        assert not response.context["filter_form"]["q"].value()
