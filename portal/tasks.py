from celery import shared_task

from portal.audit import audit_log


@shared_task(name="portal.tasks.ping")
def ping() -> str:
    """Answer "pong": lets the health check and tests see that a worker is consuming."""
    return "pong"


@shared_task(name="portal.tasks.record_worker_heartbeat")
def record_worker_heartbeat(token: str) -> int:
    """Write an audit row from the worker: proves the worker reaches the same database."""
    event = audit_log(action="worker.heartbeat", details={"token": token})
    return event.pk
