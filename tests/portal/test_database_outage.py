"""Fault drill on PostgreSQL: the database goes away while agents are logged in, then returns.

The outage is made for the test database alone: new connections are refused
(``ALLOW_CONNECTIONS false``) and every open one is terminated, as a restart does. Pages answer a
Chinese 503 and ``/healthz`` a 503 (also with a session, whose lookup runs before any view);
once the database is back the same sessions work again and nothing written before is lost.
Runs in the PostgreSQL run of .ci/run (skipped on SQLite, as the row-lock test is).
"""

from __future__ import annotations

import contextlib

import psycopg
import pytest
from django.db import connection, connections
from django.test import Client

from portal.models import Notification
from portal.notifications import notification_create, notifications_resend_due
from tests.factories import create_agent

pytestmark = pytest.mark.django_db(transaction=True)


@contextlib.contextmanager
def database_outage():
    """Refuse and cut every connection to the test database until the block ends."""
    params = connection.get_connection_params()
    name = connection.settings_dict["NAME"]
    admin = psycopg.connect(
        host=params.get("host"),
        port=params.get("port"),
        user=params.get("user"),
        password=params.get("password"),
        dbname="postgres",
        autocommit=True,
    )
    quoted = psycopg.sql.Identifier(name)
    try:
        admin.execute(psycopg.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(quoted))
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        yield
    finally:
        admin.execute(psycopg.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(quoted))
        admin.close()
        for alias in connections:  # the cut connections are dropped, new ones are made
            connections[alias].close()


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL outage is drilled on PostgreSQL (run 2 of .ci/run)")


def test_a_database_outage_answers_503_and_everything_works_again_after(on_postgresql, sms_outbox):
    client = Client(raise_request_exception=False)
    client.force_login(create_agent().user)
    assert client.get("/dashboard/").status_code == 200
    notification = notification_create(
        channel=Notification.Channel.SMS,
        recipient="13900001111",
        template="registration_approved",
        context={"unit": "测试单位", "reference": "ZC1"},
    )  # written before the outage; its on-commit send never ran

    with database_outage():
        health = client.get("/healthz")
        page = client.get("/dashboard/")
        anonymous = Client(raise_request_exception=False).get("/healthz")

    assert health.status_code == 503 and health.json()["checks"]["database"]["ok"] is False
    assert anonymous.status_code == 503
    assert page.status_code == 503 and "系统暂时无法访问" in page.content.decode()
    assert page["Retry-After"]

    # Back: the same session works, and the message written before goes out once.
    assert client.get("/healthz").json()["checks"]["database"]["ok"] is True
    assert client.get("/dashboard/").status_code == 200
    notifications_resend_due(
        now=notification.created_at.replace(year=notification.created_at.year + 1)
    )
    notification.refresh_from_db()
    assert notification.status == Notification.Status.DELIVERED and len(sms_outbox) == 1
