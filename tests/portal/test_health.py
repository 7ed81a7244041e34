"""/healthz: 503 only when the database fails; "degraded" when the cache or the broker does."""

from __future__ import annotations

import contextlib
import os
import time

import pytest
import redis

import portal.health
from portal.celery import app as celery_app
from tests.conftest import require_service

DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"
UNREACHABLE_BROKER_URL = "redis://127.0.0.1:1/0"


@contextlib.contextmanager
def celery_conf(**changes):
    """Change the Celery app's configuration (what check_broker reads) for one block."""
    saved = {key: celery_app.conf[key] for key in changes}
    celery_app.conf.update(changes)
    try:
        yield celery_app
    finally:
        celery_app.conf.update(saved)


def get_healthz(client):
    response = client.get("/healthz")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response, response.json()


@pytest.mark.django_db
def test_healthz_ok_with_default_settings(client):
    response, body = get_healthz(client)

    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert all(check["ok"] for check in body["checks"].values()), body


@pytest.mark.django_db
def test_healthz_reports_eager_mode_as_healthy(client):
    with celery_conf(task_always_eager=True, broker_url=UNREACHABLE_BROKER_URL):
        response, body = get_healthz(client)

    assert response.status_code == 200, body
    assert body["checks"]["broker"] == {
        "ok": True,
        "detail": "eager (tasks run in the web process)",
    }


@pytest.mark.django_db
def test_healthz_503_when_database_check_fails(client, monkeypatch):
    monkeypatch.setattr(portal.health, "check_database", lambda: (False, "x"))

    response, body = get_healthz(client)

    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": False, "detail": "x"}


@pytest.mark.django_db
def test_healthz_degraded_quickly_when_broker_unreachable(client, settings):
    """Pages still work without the broker (messages wait in the outbox): no 503."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = UNREACHABLE_BROKER_URL
    with celery_conf(task_always_eager=False, broker_url=UNREACHABLE_BROKER_URL):
        started = time.monotonic()
        response, body = get_healthz(client)
        elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert elapsed < portal.health.BROKER_TIMEOUT_SECONDS + 3, elapsed


@pytest.mark.redis
@pytest.mark.django_db
def test_healthz_reports_real_redis_broker_ok(client):
    url = os.environ.get("REDIS_URL") or DEFAULT_TEST_REDIS_URL
    probe = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        probe.ping()
    except redis.RedisError as exc:
        require_service("Redis", f"{url}: {exc}")
    finally:
        probe.close()

    with celery_conf(task_always_eager=False, broker_url=url):
        response, body = get_healthz(client)

    assert response.status_code == 200, body
    assert body["checks"]["broker"] == {"ok": True, "detail": "ok"}


@pytest.mark.django_db
def test_healthz_degraded_not_503_when_the_cache_fails(client, monkeypatch):
    monkeypatch.setattr(portal.health, "check_cache", lambda: (False, "ConnectionError"))

    response, body = get_healthz(client)

    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["cache"] == {"ok": False, "detail": "ConnectionError"}
