"""The public check page of 参保缴费证明 (/proof/): no login, masked data, revoked, forged, 429."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contributions.models import ContributionProof
from contributions.proofs.codes import proof_code_display
from contributions.proofs.services import proof_issue, proof_revoke
from portal import ratelimit
from portal.models import AuditEvent
from tests.contributions.proof_helpers import (
    PERSON_MASKED_NAME,
    PERSON_MASKED_NUMBER,
    PERSON_NAME,
    PERSON_NUMBER,
    proof_unit,
)

pytestmark = pytest.mark.django_db

FORM = reverse("proof_public:form")
NOT_FOUND = "未找到与该验证码对应的证明,请核对后重新输入"


@pytest.fixture
def unit():
    return proof_unit()


@pytest.fixture
def proof(unit):
    return proof_issue(
        agent=unit.agent,
        kind=ContributionProof.Kind.PERSON,
        person=unit.person.person,
        month_from=datetime.date(2026, 7, 1),
        month_to=datetime.date(2026, 10, 1),
    )


@pytest.fixture
def frozen_clock(monkeypatch):
    """Hold the rate limiter's clock 10 s into a Beijing day, so that no window ends mid-test."""
    now = datetime.datetime(2026, 11, 19, 16, 0, 10, tzinfo=datetime.UTC).timestamp()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: now))


def check_url(code: str) -> str:
    return reverse("proof_public:check", args=[code])


def body(response) -> str:
    return response.content.decode()


def test_the_form_is_open_to_a_visitor(client):
    response = client.get(FORM)
    page = body(response)
    assert response.status_code == 200
    assert "参保缴费证明核验" in page and 'name="code"' in page
    # A GET form: nothing to forge across sites, so no CSRF token is needed.
    assert f'method="get" action="{FORM}"' in page
    assert response["Cache-Control"] == "no-store"


def test_a_typed_code_in_lower_case_with_spaces_leads_to_the_genuine_proof(client, proof, unit):
    typed = " ".join(proof_code_display(proof.code).lower().split("-"))
    response = client.get(FORM, {"code": f"  {typed} "})
    assert response.status_code == 302 and response["Location"] == check_url(proof.code)
    response = client.get(response["Location"])
    page = body(response)
    assert response.status_code == 200
    assert "证明真实有效" in page
    assert unit.employer.name in page and unit.employer.ss_number in page
    assert PERSON_MASKED_NAME in page and PERSON_MASKED_NUMBER in page
    assert PERSON_NAME not in page and PERSON_NUMBER not in page
    assert "1,280.00" in page and "5,920.00" in page and "未缴费/未到账" in page
    assert f"{timezone.localtime(proof.created_at):%Y-%m-%d}" in page
    assert response["Referrer-Policy"] == "no-referrer"


def test_the_grouped_code_works_in_the_address_too(client, proof):
    response = client.get(check_url(proof_code_display(proof.code).lower()))
    assert "证明真实有效" in body(response)


def test_a_revoked_proof_says_so_and_states_nothing_more(client, proof, unit):
    proof_revoke(agent=unit.agent, proof_id=proof.pk)
    page = body(client.get(check_url(proof.code)))
    assert "已作废" in page and "证明真实有效" not in page
    assert "1,280.00" not in page and PERSON_MASKED_NAME not in page


@pytest.mark.parametrize(
    "code", ["ABCDEFGHJKMNPQRS", "ABCD", "X" * 33, "0" * 16, "'--", "%3Cscript%3E", "AB\x00CD"]
)
def test_a_forged_or_malformed_code_gets_one_message(client, proof, code):
    response = client.get(check_url(code))
    page = body(response)
    assert response.status_code == 200
    assert NOT_FOUND in page
    assert "证明真实有效" not in page and "已作废" not in page


def test_malformed_input_in_the_form_gets_the_same_message(client):
    response = client.get(FORM, {"code": "<script>alert(1)</script>"})
    page = body(response)
    assert response.status_code == 200 and NOT_FOUND in page
    assert "<script>alert(1)" not in page
    assert "请输入证明上的验证码" in body(client.get(FORM, {"code": " - "}))


def test_found_and_not_found_take_the_same_queries(client, proof):
    client.get(check_url(proof.code))  # the cache rows of this minute's and day's counters
    with CaptureQueriesContext(connection) as found:
        client.get(check_url(proof.code))
    with CaptureQueriesContext(connection) as missing:
        client.get(check_url("ABCDEFGHJKMNPQRS"))
    assert len(found) == len(missing)


def test_checks_are_audited_without_the_code(client, proof):
    client.get(check_url(proof.code))
    client.get(check_url("ABCDEFGHJKMNPQRS"))
    events = list(
        AuditEvent.objects.filter(action="contributions.proof_checked")
        .order_by("pk")
        .values_list("outcome", "object_id", "details")
    )
    assert events == [
        ("success", str(proof.pk), {"revoked": False}),
        ("failure", "", {"revoked": False}),
    ]


def test_checks_past_the_minute_limit_get_429_in_chinese(client, proof, settings, frozen_clock):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "proof_checks_per_ip_per_minute": 3}
    for _ in range(3):
        assert client.get(check_url(proof.code)).status_code == 200
    response = client.get(check_url(proof.code))
    page = body(response)
    assert response.status_code == 429
    assert "核验过于频繁,请 50 秒后再试" in page
    assert response["Retry-After"] == "50"
    assert "证明真实有效" not in page
    # Another address is not held back.
    other = client.get(check_url(proof.code), REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 200


def test_checks_past_the_daily_limit_say_to_come_back_later(client, proof, settings, frozen_clock):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "proof_checks_per_ip_per_day": 2}
    for _ in range(2):
        client.get(check_url("ABCDEFGHJKMNPQRS"))
    response = client.get(check_url(proof.code))
    assert response.status_code == 429
    assert "今日核验次数已达上限,请约 24 小时后再试" in body(response)


def test_the_settings_hold_the_limits(settings):
    assert settings.RATE_LIMITS["proof_checks_per_ip_per_minute"] == 30
    assert settings.RATE_LIMITS["proof_checks_per_ip_per_day"] == 300
