"""Health checks for the database, the cache and the Celery broker."""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.db import connection


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 — any failure means unhealthy
        return False, type(exc).__name__
    return True, "ok"


def check_cache() -> tuple[bool, str]:
    key = f"healthz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", 10)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception as exc:  # noqa: BLE001
        return False, type(exc).__name__
    return (True, "ok") if ok else (False, "value not read back")


# Seconds to wait for the broker: /healthz must answer quickly when the broker is down.
BROKER_TIMEOUT_SECONDS = 2.0


def check_broker() -> tuple[bool, str]:
    """Connect to the broker the Celery app publishes to (it does not ask a worker to answer)."""
    from portal.celery import app

    # The Celery app, not django.conf.settings: its configuration is what task calls use.
    if app.conf.task_always_eager:
        return True, "eager (tasks run in the web process)"
    transport_options = {
        **(app.conf.broker_transport_options or {}),
        "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
        "socket_timeout": BROKER_TIMEOUT_SECONDS,
    }
    try:
        with app.connection_for_write(
            connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=transport_options
        ) as conn:
            conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001
        return False, type(exc).__name__
    return True, "ok"


def run_checks() -> dict[str, tuple[bool, str]]:
    return {"database": check_database(), "cache": check_cache(), "broker": check_broker()}
