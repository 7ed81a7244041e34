"""A task only the fault tests use; the worker loads it with ``--include``."""

import time

from celery import shared_task

from portal.audit import audit_log


@shared_task(name="tests.slow_heartbeat")
def slow_heartbeat(token: str, seconds: float) -> str:
    """Record the start, take a while, record the end: shows whether a task ran to completion."""
    audit_log(action="worker.started", details={"token": token})
    time.sleep(seconds)
    audit_log(action="worker.heartbeat", details={"token": token})
    return token


@shared_task(name="tests.database_backend_pid")
def database_backend_pid() -> int | None:
    """The PostgreSQL backend serving this task's queries (None on other databases)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]
