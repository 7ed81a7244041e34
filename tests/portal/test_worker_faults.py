"""Faults with a real worker: a worker killed mid-task, a broker down while a unit submits, a
database connection ended under a worker.

They start real `celery worker` processes on Redis (see test_worker.py); without Redis they
are skipped, except under CI where they fail.
"""

from __future__ import annotations

import datetime
import json
import signal
import time
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from employers.models import RegistrationApplication
from portal.models import AuditEvent, Notification, ReviewState
from portal.notifications import notifications_resend_due
from portal.review import review_watch_deadlines
from tests.factories import create_submitted_application
from tests.portal import test_worker
from tests.portal.test_notifications import SECRET, StubGateway
from tests.portal.test_worker import Worker, _drop_connections, worker_env
from tests.portal.worker_tasks import database_backend_pid, slow_heartbeat

pytestmark = [pytest.mark.redis, pytest.mark.worker]

redis_url = test_worker.redis_url  # the same session fixture: Redis, or a failure under CI


# Short, so that a killed worker's unacknowledged task is restored within the test.
VISIBILITY_TIMEOUT = "5"


def point_app_at(url: str):
    from portal.celery import app

    _drop_connections(app)
    app.conf.update(
        broker_url=url,
        result_backend=url,
        task_always_eager=False,
        broker_connection_timeout=1,
        broker_transport_options={"visibility_timeout": int(VISIBILITY_TIMEOUT)},
        task_publish_retry=False,
    )
    return app


@pytest.fixture
def celery_app(redis_url):
    from portal.celery import app

    keys = [
        "broker_url",
        "result_backend",
        "task_always_eager",
        "broker_connection_timeout",
        "broker_transport_options",
        "task_publish_retry",
    ]
    saved = {key: app.conf[key] for key in keys}
    yield point_app_at(redis_url)
    _drop_connections(app)
    app.conf.update(saved)


def wait_for(predicate, timeout: float, message=""):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(message or "condition not reached in time")
        time.sleep(0.25)


@pytest.mark.django_db(transaction=True)
def test_task_of_a_killed_worker_runs_to_completion_on_a_new_worker(
    redis_url, celery_app, tmp_path
):
    env = worker_env(redis_url)
    env["CELERY_VISIBILITY_TIMEOUT"] = VISIBILITY_TIMEOUT
    include = ("-I", "tests.portal.worker_tasks")
    first = Worker(env, tmp_path / "first.log", include)
    second = None
    token = uuid.uuid4().hex
    try:
        slow_heartbeat.apply_async((token, 4.0), queue="default")
        wait_for(
            lambda: AuditEvent.objects.filter(
                action="worker.started", details__token=token
            ).exists(),
            60,
            message="the first worker never started the task:\n" + first.output(),
        )
        first._signal(signal.SIGKILL)  # the whole worker, in the middle of the task
        first.process.wait(timeout=10)
        assert not AuditEvent.objects.filter(
            action="worker.heartbeat", details__token=token
        ).exists()

        second = Worker(env, tmp_path / "second.log", include)
        wait_for(
            lambda: AuditEvent.objects.filter(
                action="worker.heartbeat", details__token=token
            ).exists(),
            150,
            message="the task was not redelivered to the new worker:\n" + second.output(),
        )
        assert AuditEvent.objects.filter(action="worker.started", details__token=token).count() == 2
        assert (
            AuditEvent.objects.filter(action="worker.heartbeat", details__token=token).count() == 1
        )
    finally:
        first.stop()
        if second is not None:
            second.stop()


@pytest.mark.django_db(transaction=True)
def test_submission_while_the_broker_is_down_is_saved_and_notified_once_it_is_back(
    redis_url,
    celery_app,
    tmp_path,
):
    gateway = StubGateway()
    env = worker_env(redis_url)
    env["SMS_BACKEND"] = "portal.sms.HttpGatewayBackend"
    env["SMS_GATEWAYS"] = json.dumps([{"name": "stub", "url": gateway.url, "secret": SECRET}])
    worker = Worker(env, tmp_path / "worker.log")
    try:
        point_app_at("redis://127.0.0.1:1/0")  # nothing listens there: the broker is "down"
        application = create_submitted_application()  # commits; on-commit enqueues fail
        application = RegistrationApplication.objects.get(pk=application.pk)
        assert application.review_state == ReviewState.SUBMITTED
        notice = Notification.objects.get(template="registration_submitted")
        assert notice.status == Notification.Status.CREATED

        point_app_at(redis_url)  # the broker is back; beat's periodic tasks pick up the rest
        later = timezone.now() + datetime.timedelta(minutes=11)
        assert notifications_resend_due(now=later) == 1
        assert review_watch_deadlines(now=later)["requeued"] == 1

        def done():
            notice.refresh_from_db()
            application.refresh_from_db()
            return (
                notice.status == Notification.Status.DELIVERED
                and application.review_state == ReviewState.PENDING
            )

        wait_for(done, 60, message="not delivered")
        assert list(gateway.delivered) == [str(notice.idempotency_key)]
        # Another beat run finds nothing left to send: the message went out exactly once.
        assert notifications_resend_due(now=later + datetime.timedelta(minutes=5)) == 0
        assert gateway.requests == 1
    finally:
        worker.stop()
        gateway.close()


@pytest.mark.django_db(transaction=True)
def test_tasks_share_a_database_connection_and_survive_its_loss(redis_url, celery_app, tmp_path):
    """portal/celery.py: the worker keeps its connection from task to task (CONN_MAX_AGE, as a
    web process does) instead of Celery's new connection per task; one the server ended is
    replaced before the next task's first query, and that task runs."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's CONN_MAX_AGE is 0: a connection per task, nothing to reuse")
    worker = Worker(
        worker_env(redis_url), tmp_path / "worker.log", ("-I", "tests.portal.worker_tasks")
    )
    try:
        with worker.report_on_failure():
            first = worker.result(database_backend_pid.apply_async(queue="default"))
            second = worker.result(database_backend_pid.apply_async(queue="reviews"))
            assert first == second, "the second task opened a new connection"

            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [first])
            third = worker.result(database_backend_pid.apply_async(queue="default"))
            assert third not in (None, first)
    finally:
        worker.stop()
