"""A real Celery worker process on Redis consumes every named queue and writes to the test database.

The worker is a separate process started with `celery -A portal worker`: it reads its broker from
REDIS_URL and its database from DATABASE_URL, which points at the database this test session
uses (a SQLite file under var/, or the PostgreSQL test database). Without Redis the tests are
skipped, except under CI where they fail.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection, transaction

from portal.celery import QUEUES
from portal.models import AuditEvent
from portal.tasks import ping, record_worker_heartbeat
from tests.conftest import require_service

pytestmark = [pytest.mark.redis, pytest.mark.worker]

BASE_DIR = Path(__file__).resolve().parents[2]
# A database of its own on the local Redis: the only one these tests ever flush.
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"
TASK_TIMEOUT = 60.0
WORKER_COMMAND = [
    sys.executable,
    "-m",
    "celery",
    "-A",
    "portal",
    "worker",
    "-Q",
    ",".join(QUEUES),
    "-P",
    "solo",
    "-c",
    "1",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
    "-l",
    "info",
]


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL") or DEFAULT_TEST_REDIS_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        require_service("Redis", f"{url}: {exc}")
    dedicated = url == DEFAULT_TEST_REDIS_URL
    if dedicated:
        client.flushdb()  # this one database only, never FLUSHALL
    yield url
    if dedicated:
        client.flushdb()
    client.close()


def worker_database_url() -> str:
    """The URL of the database this test session uses, for the worker process."""
    settings = connection.settings_dict
    engine, name = settings["ENGINE"], str(settings["NAME"])
    if engine == "django.db.backends.sqlite3":
        if name == ":memory:" or "mode=memory" in name:
            pytest.fail("the SQLite test database must be a file for a worker process to open it")
        return f"sqlite:///{name}"
    if engine == "django.db.backends.postgresql":
        credentials = quote(settings.get("USER") or "", safe="")
        if settings.get("PASSWORD"):
            credentials += ":" + quote(settings["PASSWORD"], safe="")
        host = settings.get("HOST") or "localhost"
        port = settings.get("PORT") or "5432"
        return f"postgres://{credentials}@{host}:{port}/{quote(name, safe='')}"
    pytest.fail(f"no worker DATABASE_URL for {engine}")


class Worker:
    """A `celery worker` subprocess whose output goes to a file (a pipe could fill and block)."""

    def __init__(self, env: dict[str, str], log_path: Path, extra_args: tuple[str, ...] = ()):
        self.log_path = log_path
        urls = f"REDIS_URL={env['REDIS_URL']} DATABASE_URL={env['DATABASE_URL']}"
        self.description = re.sub(r"://([^:@/]*):[^@/]*@", r"://\1:***@", urls)  # no passwords
        self._log = open(log_path, "wb")  # closed in stop()
        self.process = subprocess.Popen(
            [*WORKER_COMMAND, *extra_args],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends any children too
        )

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def assert_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            pytest.fail(f"the worker exited with code {code}:\n{self.output()}")

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self._signal(signal.SIGTERM)  # warm shutdown
                try:
                    self.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self._signal(signal.SIGKILL)
                    self.process.wait(timeout=10)
            else:
                self._signal(signal.SIGKILL)  # a child left behind by a dead worker
        finally:
            self._log.close()

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    @contextlib.contextmanager
    def report_on_failure(self):
        """Print the worker's output (pytest shows it with the failure) when the block fails."""
        try:
            yield self
        except pytest.skip.Exception:
            raise
        except BaseException:
            print(f"---- celery worker ({self.description}) output ----\n{self.output()}")
            raise

    def result(self, async_result, timeout: float = TASK_TIMEOUT):
        """Wait for a task's result, failing at once if the worker has died."""
        deadline = time.monotonic() + timeout
        while not async_result.ready():
            self.assert_alive()
            if time.monotonic() > deadline:
                pytest.fail(f"no result for {async_result.id} within {timeout:.0f} s")
            time.sleep(0.2)
        return async_result.get(timeout=5)


def worker_env(redis_url: str) -> dict[str, str]:
    """The environment of a worker process on this test session's Redis and database."""
    env = dict(os.environ)
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DJANGO_ENV"):
        env.pop(name, None)
    env.update(
        REDIS_URL=redis_url,
        CELERY_TASK_ALWAYS_EAGER="0",
        DATABASE_URL=worker_database_url(),
        DJANGO_SETTINGS_MODULE="portal.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def worker(django_db_setup, redis_url, tmp_path_factory):
    """One worker for this module, on the test database (its name is known after setup)."""
    process = Worker(worker_env(redis_url), tmp_path_factory.mktemp("celery") / "worker.log")
    try:
        yield process
    finally:
        process.stop()


def _drop_connections(app) -> None:
    """Forget the broker pool and result backend: they are built from the config on first use.

    The pools are only dropped, not closed: kombu keeps them in a registry keyed by broker URL
    and hands the same (then closed) pool out again for that URL.
    """
    app._pool = None
    app.amqp._producer_pool = None
    backend = app._backend
    if backend is not None and hasattr(backend, "result_consumer"):
        with contextlib.suppress(Exception):
            backend.result_consumer.stop()
    app._backend_cache = None
    if hasattr(app._local, "backend"):
        del app._local.backend


@pytest.fixture
def celery_on_redis(redis_url):
    """Point this process's Celery app at the worker's Redis, then restore its configuration."""
    from portal.celery import app

    changes = {"broker_url": redis_url, "result_backend": redis_url, "task_always_eager": False}
    saved = {key: app.conf[key] for key in changes}
    _drop_connections(app)
    app.conf.update(changes)
    try:
        yield app
    finally:
        _drop_connections(app)
        app.conf.update(saved)


def _wait_for_heartbeat(worker: Worker, token: str, timeout: float = 10.0) -> AuditEvent:
    deadline = time.monotonic() + timeout
    while True:
        event = AuditEvent.objects.filter(action="worker.heartbeat", details__token=token).first()
        if event is not None:
            return event
        worker.assert_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"no worker.heartbeat audit event with token {token}")
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_worker_consumes_every_queue_and_writes_to_the_test_database(worker, celery_on_redis):
    with worker.report_on_failure():
        for queue in QUEUES:
            result = ping.apply_async(queue=queue)
            assert worker.result(result) == "pong", queue

        token = uuid.uuid4().hex
        event_pk = worker.result(record_worker_heartbeat.delay(token))
        event = AuditEvent.objects.get(pk=event_pk)
        assert event.action == "worker.heartbeat"
        assert event.details == {"token": token}


class _Rollback(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_on_commit_enqueues_after_commit_and_never_after_rollback(worker, celery_on_redis):
    committed, rolled_back = uuid.uuid4().hex, uuid.uuid4().hex
    with worker.report_on_failure():
        with transaction.atomic():
            transaction.on_commit(lambda: record_worker_heartbeat.delay(committed))
        with contextlib.suppress(_Rollback), transaction.atomic():
            transaction.on_commit(lambda: record_worker_heartbeat.delay(rolled_back))
            raise _Rollback

        # Both tasks go to the default queue, which the single solo worker consumes in order:
        # once this ping is answered, a task enqueued before it has run.
        assert worker.result(ping.apply_async(queue="default")) == "pong"
        _wait_for_heartbeat(worker, committed)
        assert not AuditEvent.objects.filter(details__token=rolled_back).exists()
