"""/healthz?full=1: workers, beat, queue depths and the outbox, for operators only."""

from __future__ import annotations

import datetime

import pytest
import redis
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import portal.health
from portal.models import Notification, User
from tests.conftest import otp_verify
from tests.portal import test_worker

pytestmark = pytest.mark.django_db

TOKEN = "healthz-test-token-0123456789"
redis_url = test_worker.redis_url  # the session fixture: Redis, or a failure under CI
celery_on_redis = test_worker.celery_on_redis


@pytest.fixture
def token(settings):
    settings.HEALTHZ_TOKEN = TOKEN
    return TOKEN


def get_full(client, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = client.get("/healthz", {"full": "1"}, **headers)
    assert response["Content-Type"] == "application/json"
    return response, response.json()


def test_the_full_report_is_refused_without_the_token_or_a_verified_staff_user(token):
    assert get_full(Client())[0].status_code == 403
    assert get_full(Client(), "wrong-token")[0].status_code == 403

    clerk = User.objects.create_user("ops", password="Ops2026password", is_staff=True)
    unverified = Client()
    unverified.force_login(clerk)
    assert get_full(unverified)[0].status_code == 403
    assert get_full(otp_verify(Client(), clerk))[0].status_code == 200


def test_without_a_token_setting_no_bearer_is_accepted(settings):
    settings.HEALTHZ_TOKEN = ""
    assert get_full(Client(), "")[0].status_code == 403
    assert get_full(Client(), "anything")[0].status_code == 403


def test_the_embedded_default_reports_inline_workers_and_the_outbox_without_personal_data(token):
    Notification.objects.create(
        channel=Notification.Channel.SMS,
        recipient="13912345678",
        template="login_code",
        body="验证码 654321",
        created_at=timezone.now() - datetime.timedelta(minutes=7),
    )

    response, body = get_full(Client(), token)

    assert response.status_code == 200
    assert body["status"] == "ok"
    checks = body["checks"]
    assert set(checks) == {"database", "cache", "broker", "workers", "beat", "queues", "outbox"}
    assert checks["workers"]["ok"] and checks["workers"]["detail"].startswith("inline")
    assert checks["beat"]["ok"] and "resend_notifications" in checks["beat"]["detail"]
    assert checks["outbox"]["unsent"] == 1
    assert 415 <= checks["outbox"]["oldest_unsent_age_seconds"] <= 480
    text = response.content.decode()
    assert "13912345678" not in text and "654321" not in text and "login_code" not in text


def test_the_plain_answer_stays_cheap(token, monkeypatch):
    monkeypatch.setattr(portal.health, "run_full_checks", lambda plain: pytest.fail("full"))
    with CaptureQueriesContext(connection) as queries:
        response = Client().get("/healthz", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert set(response.json()["checks"]) == {"database", "cache", "broker"}
    assert not [q for q in queries.captured_queries if "portal_notification" in q["sql"]]


def test_a_database_failure_is_503_even_when_the_full_report_is_asked(token, monkeypatch):
    monkeypatch.setattr(portal.health, "check_database", lambda: (False, "OperationalError"))
    response, body = get_full(Client(), token)
    assert response.status_code == 503 and body["status"] == "unavailable"


@pytest.mark.redis
def test_no_worker_and_no_beat_on_redis_is_degraded_but_200(token, celery_on_redis, monkeypatch):
    # A queue of this test's own, so that the depth counted is only what the test put there.
    queue = "healthz-test-depth"
    monkeypatch.setattr("portal.celery.QUEUES", (queue,))
    portal.health.cache.delete(portal.health.BEAT_HEARTBEAT_KEY)
    client = redis.Redis.from_url(celery_on_redis.conf.broker_url)
    try:
        client.delete(queue)
        client.rpush(queue, "a", "b", "c")
        response, body = get_full(Client(), token)
    finally:
        client.delete(queue)
        client.close()

    assert response.status_code == 200
    assert body["status"] == "degraded"
    checks = body["checks"]
    assert checks["broker"]["ok"] is True
    assert checks["workers"]["ok"] is False and checks["workers"]["unserved"] == [queue]
    assert checks["beat"] == {"ok": False, "detail": "never ran", "last_run_age_seconds": None}
    assert checks["queues"]["depths"] == {queue: 3}
