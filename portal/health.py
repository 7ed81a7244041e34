"""Health checks: the database, the cache and the broker; for operators also the background work.

Plain checks (``run_checks``) are cheap and answer what a load balancer needs: only a database
failure means the portal cannot serve. The full report (``run_full_checks``, ``/healthz?full=1``)
adds the workers and their queues, beat's last run, the queues' depths and the oldest unsent
notification; it names no person, phone or unit.
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from portal.notifications import notifications_unsent_summary

logger = logging.getLogger(__name__)


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
# Seconds the full report waits for workers to answer a control message.
WORKER_REPLY_SECONDS = 1.0
# Written by the resend task, which beat sends every 30 s: older than this, beat (or the
# notifications worker that runs it) is missing.
BEAT_HEARTBEAT_KEY = "beat:last_run"
BEAT_STALE_SECONDS = 120
# Kombu's Redis transport keeps a queue's messages of priority n > 0 in "<queue>\x06\x16<n>".
REDIS_PRIORITY_SEPARATOR = "\x06\x16"
REDIS_PRIORITY_STEPS = (3, 6, 9)


def _celery_app():
    from portal.celery import app

    return app


def check_broker() -> tuple[bool, str]:
    """Connect to the broker the Celery app publishes to (it does not ask a worker to answer)."""
    app = _celery_app()
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


def beat_heartbeat_record() -> None:
    """Note that a beat-sent task ran now (the resend task calls it); never fails the task."""
    try:
        cache.set(BEAT_HEARTBEAT_KEY, time.time(), None)
    except Exception:  # noqa: BLE001 — a cache outage must not stop the resend
        logger.warning("beat heartbeat not written to the cache")


def check_workers() -> dict:
    """Ask the workers which queues they consume; every named queue needs one."""
    app = _celery_app()
    if app.conf.task_always_eager:
        return {"ok": True, "detail": "inline (no broker: tasks run in the web process)"}
    from portal.celery import QUEUES

    try:
        replies = app.control.inspect(timeout=WORKER_REPLY_SECONDS).active_queues() or {}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "detail": type(exc).__name__, "workers": []}
    workers = [
        {"name": name, "queues": sorted(queue["name"] for queue in queues or [])}
        for name, queues in sorted(replies.items())
    ]
    consumed = {queue for worker in workers for queue in worker["queues"]}
    unserved = [queue for queue in QUEUES if queue not in consumed]
    if not workers:
        detail = "no worker answered"
    elif unserved:
        detail = f"no worker consumes {', '.join(unserved)}"
    else:
        detail = "ok"
    return {"ok": not unserved, "detail": detail, "workers": workers, "unserved": unserved}


def check_beat() -> dict:
    """When a beat-sent task last ran (the resend task, every 30 s)."""
    if _celery_app().conf.task_always_eager:
        return {
            "ok": True,
            "detail": "no beat (embedded: run manage.py watch_deadlines and resend_notifications)",
        }
    try:
        last_run = cache.get(BEAT_HEARTBEAT_KEY)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "detail": type(exc).__name__}
    if last_run is None:
        return {"ok": False, "detail": "never ran", "last_run_age_seconds": None}
    age = max(0, int(time.time() - float(last_run)))
    fresh = age <= BEAT_STALE_SECONDS
    return {
        "ok": fresh,
        "detail": "ok" if fresh else f"last run over {BEAT_STALE_SECONDS} s ago",
        "last_run_age_seconds": age,
    }


def check_queue_depths() -> dict:
    """Messages waiting in each Celery queue (Redis LLEN); not counted on other brokers."""
    app = _celery_app()
    from portal.celery import QUEUES

    url = app.conf.broker_url or ""
    if app.conf.task_always_eager or urlsplit(url).scheme not in ("redis", "rediss"):
        return {"ok": True, "detail": "not measured (no Redis broker)"}
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=BROKER_TIMEOUT_SECONDS, socket_timeout=BROKER_TIMEOUT_SECONDS
    )
    try:
        with client.pipeline(transaction=False) as pipe:
            for queue in QUEUES:
                pipe.llen(queue)
                for step in REDIS_PRIORITY_STEPS:
                    pipe.llen(f"{queue}{REDIS_PRIORITY_SEPARATOR}{step}")
            lengths = pipe.execute()
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "detail": type(exc).__name__}
    finally:
        client.close()
    per_queue = 1 + len(REDIS_PRIORITY_STEPS)
    depths = {
        queue: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, queue in enumerate(QUEUES)
    }
    return {"ok": True, "detail": "ok", "depths": depths}


def check_outbox() -> dict:
    """How many notifications are unsent and the oldest one's age: counts only."""
    try:
        summary = notifications_unsent_summary()
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "detail": type(exc).__name__}
    return {
        "ok": True,
        "detail": "ok",
        "unsent": summary["count"],
        "oldest_unsent_age_seconds": summary["oldest_age_seconds"],
    }


def run_full_checks(plain: dict[str, tuple[bool, str]]) -> dict[str, dict]:
    """The operators' report: the plain checks plus workers, beat, queue depths and the outbox."""
    report = {name: {"ok": ok, "detail": detail} for name, (ok, detail) in plain.items()}
    broker_ok = plain["broker"][0]
    unreachable = {"ok": False, "detail": "broker unreachable"}
    report["workers"] = check_workers() if broker_ok else unreachable
    report["beat"] = check_beat()
    report["queues"] = check_queue_depths() if broker_ok else unreachable
    report["outbox"] = check_outbox() if plain["database"][0] else {"ok": False, "detail": "—"}
    return report


def full_report_allowed(request) -> bool:
    """?full=1 is for operators: a staff user (verified by OTP when required) or HEALTHZ_TOKEN."""
    token = getattr(settings, "HEALTHZ_TOKEN", "")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return False
    if getattr(settings, "ADMIN_REQUIRE_OTP", True):
        return bool(getattr(user, "is_verified", lambda: False)())
    return True


def health_report(request) -> tuple[int, dict]:
    """The /healthz answer: (HTTP status, body); "degraded" is still 200, only no database 503."""
    results = run_checks()
    if not results["database"][0]:
        status = "unavailable"
    else:
        status = "ok" if all(ok for ok, _ in results.values()) else "degraded"
    checks = {name: {"ok": ok, "detail": detail} for name, (ok, detail) in results.items()}
    # Without a database the user is not looked up: the plain 503 is the whole answer.
    if request.GET.get("full") == "1" and status != "unavailable":
        if not full_report_allowed(request):
            return 403, {"status": "forbidden"}
        checks = run_full_checks(results)
        if status == "ok" and not all(check["ok"] for check in checks.values()):
            status = "degraded"
    return (503 if status == "unavailable" else 200), {"status": status, "checks": checks}
