"""The Celery app: named queues, routes by module, a static beat schedule."""

import os

from celery import Celery, signals
from celery.schedules import crontab
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")

QUEUES = ("default", "reviews", "notifications", "imports")

app.conf.update(
    # Workers log through Django's LOGGING (its one console handler redacts personal data);
    # Celery would otherwise replace the root logger's handlers with its own, unfiltered.
    worker_hijack_root_logger=False,
    task_queues=[Queue(name, Exchange(name), routing_key=name) for name in QUEUES],
    task_default_queue="default",
    task_default_exchange="default",
    task_default_routing_key="default",
    task_routes={
        "portal.tasks.*": {"queue": "default"},
        "portal.notifications.*": {"queue": "notifications"},
        "portal.review.*": {"queue": "reviews"},
        "employers.tasks.*": {"queue": "reviews"},
        "enrollment.tasks.import_*": {"queue": "imports"},
        "enrollment.tasks.*": {"queue": "reviews"},
        "contributions.tasks.*": {"queue": "default"},
    },
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_track_started=True,
    result_expires=24 * 3600,
    timezone="Asia/Shanghai",
    enable_utc=True,
    broker_connection_retry_on_startup=True,
    beat_schedule={
        # Every 30 s: what could not be queued while the broker was down goes out within a
        # minute of its return (notifications, pre-checks); imports whose worker died, too.
        "notifications-resend-due": {
            "task": "portal.notifications.resend_due",
            "schedule": 30.0,
        },
        "review-requeue-prechecks": {
            "task": "portal.review.requeue_prechecks",
            "schedule": 30.0,
        },
        "enrollment-requeue-stuck-imports": {
            "task": "enrollment.tasks.requeue_stuck_imports",
            "schedule": 120.0,
        },
        # A penny-drop whose bank answer was lost is settled by a status query, never resent.
        "employers-penny-drops-resolve": {
            "task": "employers.tasks.penny_drops_resolve",
            "schedule": 60.0,
        },
        "review-watch-deadlines": {
            "task": "portal.review.watch_deadlines",
            "schedule": 5 * 60.0,
        },
        "questions-mark-overdue": {
            "task": "employers.tasks.questions_mark_overdue",
            "schedule": 5 * 60.0,  # as the review deadlines: 留言板 questions due in 2 working days
        },
        "captcha-clean": {
            "task": "employers.tasks.captcha_clean",
            "schedule": 5 * 60.0,  # expired image-captcha rows (the login form no longer sweeps)
        },
        "agents-disable-dormant": {
            "task": "employers.tasks.agents_disable_dormant",
            "schedule": crontab(hour=2, minute=30),  # daily, at night (Asia/Shanghai)
        },
        "enrollment-cleanup-orphan-files": {
            "task": "enrollment.tasks.cleanup_orphan_files",
            "schedule": crontab(hour=3, minute=45),  # daily: files of rolled-back writes
        },
        "contributions-exports-cleanup": {
            "task": "contributions.tasks.exports_cleanup",
            "schedule": crontab(hour=3, minute=15),  # daily: export files expire after 7 days
        },
        "contributions-bills-generate-all": {
            "task": "contributions.tasks.bills_generate_all",
            # The current month's bills of every active unit, on the 1st at 01:00 (Asia/Shanghai).
            "schedule": crontab(day_of_month=1, hour=1, minute=0),
        },
        "contributions-payments-settle-due": {
            "task": "contributions.tasks.payments_settle_due",
            "schedule": crontab(minute=5),  # hourly: debited contributions reach 已到账
        },
        "contributions-collection-poll-due": {
            "task": "contributions.tasks.collection_poll_due",
            # 税务征收: lost send answers and payment results not called back.
            "schedule": 15 * 60.0,
        },
        "contributions-payments-resolve-requested": {
            "task": "contributions.tasks.payments_resolve_requested",
            "schedule": 5 * 60.0,  # bank debits whose answer was lost: asked by status query
        },
        "contributions-collection-reconcile": {
            "task": "contributions.tasks.collection_reconcile_daily",
            "schedule": crontab(hour=6, minute=30),  # daily: yesterday's 对账, before clerks start
        },
    },
)

app.autodiscover_tasks()


# A worker's database connection lives as a web request's does. Celery's Django fixup closes
# every connection before and after each task unless CELERY_DB_REUSE_MAX (portal/settings.py)
# spaces the closes out, and a task then paid for a new PostgreSQL connection: a backend forked
# and authenticated, its catalog caches warmed and no statement prepared: ~1.7 ms of the
# worker's CPU and ~2 ms of PostgreSQL's for every task (load_bench). Instead, before and after
# each task, Django's own close_old_connections closes a connection that is older than
# CONN_MAX_AGE or left unusable by an error, and conn_health_checks (settings) tests a reused one
# before each task's first query: a connection the server ended is replaced there, and the task
# runs (tests/portal/test_worker_faults.py). Eager tasks run inside the caller's request or
# test: left alone.
@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(sender=None, **kwargs) -> None:
    if sender is not None and not getattr(sender.request, "is_eager", False):
        from django.db import close_old_connections

        close_old_connections()
