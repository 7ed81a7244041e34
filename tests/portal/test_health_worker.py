"""/healthz?full=1 with a real Celery worker on Redis: its queues, beat's last run, queue depths.

The worker is started as in test_worker.py; without Redis the test is skipped, except under CI
where it fails.
"""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client

from portal.celery import QUEUES
from portal.health import BEAT_HEARTBEAT_KEY
from portal.tasks import notifications_resend_due_task, ping
from tests.portal import test_worker

pytestmark = [pytest.mark.redis, pytest.mark.worker]

TOKEN = "healthz-worker-test-token"
redis_url = test_worker.redis_url
worker = test_worker.worker
celery_on_redis = test_worker.celery_on_redis


@pytest.fixture
def shared_cache(settings, redis_url):
    """The worker's cache (REDIS_URL, as in settings): where the resend task notes beat's run."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "portal",
        }
    }
    cache.delete(BEAT_HEARTBEAT_KEY)
    yield cache
    cache.delete(BEAT_HEARTBEAT_KEY)


def wait_for_beat_heartbeat(worker, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while cache.get(BEAT_HEARTBEAT_KEY) is None:
        worker.assert_alive()
        if time.monotonic() > deadline:
            pytest.fail("the resend task did not note beat's run in the cache")
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_full_health_sees_the_worker_its_queues_and_beats_last_run(
    worker, celery_on_redis, shared_cache, settings
):
    settings.HEALTHZ_TOKEN = TOKEN
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    with worker.report_on_failure():
        for queue in QUEUES:
            assert worker.result(ping.apply_async(queue=queue)) == "pong", queue

        before = client.get("/healthz", {"full": "1"}, **auth).json()
        assert before["status"] == "degraded"  # the worker runs, beat never did
        assert before["checks"]["beat"]["ok"] is False

        # What beat sends every 30 s, run by the worker: it notes the run in the shared cache.
        notifications_resend_due_task.delay()
        wait_for_beat_heartbeat(worker)
        response = client.get("/healthz", {"full": "1"}, **auth)

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok", body
    workers = body["checks"]["workers"]
    assert workers["ok"] is True and workers["unserved"] == []
    assert any(sorted(w["queues"]) == sorted(QUEUES) for w in workers["workers"]), workers
    assert all(w["name"].startswith("celery@") for w in workers["workers"])
    assert body["checks"]["beat"]["ok"] is True
    assert body["checks"]["beat"]["last_run_age_seconds"] <= 30
    depths = body["checks"]["queues"]["depths"]
    assert set(depths) == set(QUEUES) and all(isinstance(n, int) for n in depths.values())
    assert body["checks"]["outbox"] == {
        "ok": True,
        "detail": "ok",
        "unsent": 0,
        "oldest_unsent_age_seconds": None,
    }
