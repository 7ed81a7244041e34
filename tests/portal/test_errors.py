"""Failures get Chinese pages; a database outage gets 503, never 500 (issue 14, item 7)."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError
from django.test import Client

from tests.factories import create_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_down(monkeypatch):
    """Call it to make every session read fail as it does while PostgreSQL restarts."""

    def fail(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    def go_down():
        monkeypatch.setattr(SessionStore, "load", fail)
        monkeypatch.setattr("portal.health.check_database", lambda: (False, "OperationalError"))

    return go_down


def agent_client() -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(create_agent().user)
    return client


def test_healthz_answers_503_with_a_session_while_the_database_is_down(database_down):
    client = agent_client()
    database_down()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["ok"] is False


def test_healthz_answers_503_without_a_session_too(database_down):
    database_down()
    response = Client(raise_request_exception=False).get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"


def test_a_page_answers_a_chinese_503_with_retry_after(database_down):
    client = agent_client()
    database_down()
    response = client.get("/dashboard/")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    page = response.content.decode()
    assert "系统暂时无法访问" in page and "12333" in page


def test_another_fault_answers_the_chinese_500_page(monkeypatch):
    def broken(request, *args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr("portal.views.HomeView.get", broken)
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500 and "系统出现故障" in response.content.decode()


def test_a_missing_page_answers_in_chinese(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and "页面不存在" in response.content.decode()
