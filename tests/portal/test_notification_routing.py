"""SMS codes never wait behind long work: notifications go to their own queue, consumed by a
worker of their own (as in docker-compose.yml and the Makefile). With two real workers on Redis,
a code is delivered while the main worker is still busy with a long pre-check. Without Redis the
test is skipped, except under CI where it fails."""

from __future__ import annotations

import time
import uuid

import pytest

from portal.celery import app
from portal.models import AuditEvent, Notification
from portal.smscodes import sms_code_send
from tests.portal.test_worker import (  # noqa: F401 — fixtures and helpers
    Worker,
    celery_on_redis,
    redis_url,
    worker_env,
)
from tests.portal.worker_tasks import slow_heartbeat

pytestmark = [pytest.mark.redis, pytest.mark.worker]

LONG_PRECHECK_SECONDS = 90.0  # far longer than a worker start and one SMS on a busy machine


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("portal.notifications.deliver", "notifications"),
        ("portal.notifications.resend_due", "notifications"),
        ("portal.review.precheck", "reviews"),
        ("enrollment.tasks.import_batch_add", "imports"),
        ("contributions.tasks.export_run", "default"),
    ],
)
def test_tasks_are_routed_to_their_queues(task, queue):
    assert app.amqp.router.route({}, task)["queue"].name == queue


@pytest.fixture(scope="module")
def two_workers(django_db_setup, redis_url, tmp_path_factory):  # noqa: F811
    """The main worker (pre-checks, imports, the rest) and the notifications worker."""
    logs = tmp_path_factory.mktemp("routing")
    env = worker_env(redis_url)
    main = Worker(
        env,
        logs / "main.log",
        ("-Q", "default,reviews,imports", "-n", "main@%h", "-I", "tests.portal.worker_tasks"),
    )
    notifications = Worker(
        env, logs / "notifications.log", ("-Q", "notifications", "-n", "notifications@%h")
    )
    try:
        yield main, notifications
    finally:
        main.stop()
        notifications.stop()


@pytest.mark.django_db(transaction=True)
def test_an_sms_code_is_delivered_while_a_long_precheck_holds_the_main_worker(
    two_workers,
    celery_on_redis,  # noqa: F811
):
    main, notifications = two_workers
    token = uuid.uuid4().hex
    with main.report_on_failure(), notifications.report_on_failure():
        slow_heartbeat.apply_async((token, LONG_PRECHECK_SECONDS), queue="reviews")
        deadline = time.monotonic() + LONG_PRECHECK_SECONDS
        while not AuditEvent.objects.filter(action="worker.started", details__token=token):
            main.assert_alive()
            assert time.monotonic() < deadline, "the main worker never started the pre-check"
            time.sleep(0.2)

        sms_code_send(purpose="sms_login", phone="13800138000")  # queued after commit
        notification = Notification.objects.order_by("-pk").first()
        while True:
            notification.refresh_from_db()
            if notification.status == Notification.Status.DELIVERED:
                break
            notifications.assert_alive()
            finished = AuditEvent.objects.filter(action="worker.heartbeat", details__token=token)
            assert not finished.exists(), "the SMS code waited for the pre-check to finish"
            time.sleep(0.2)
        # The code went out while the pre-check was still running on the other worker.
        assert not AuditEvent.objects.filter(
            action="worker.heartbeat", details__token=token
        ).exists()
