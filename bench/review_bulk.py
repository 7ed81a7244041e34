"""Benchmark: a clerk approves 200 pending 增员 filings with one bulk action, on PostgreSQL.

    PORTAL_VAR_DIR=/tmp/b .venv/bin/python bench/review_bulk.py [--items 200] [--no-compare]

Drops and creates the database named in DATABASE_URL (default bench_review_bulk on 127.0.0.1),
migrates it, creates a unit with an enrolment agent and files ``--items`` 增员 filings through a
批量增员 import (enrollment.batch.process, as the imports worker would), runs their pre-checks
(portal.review.review_precheck, as the reviews worker would), then signs a clerk in with the TOTP
second factor and times the admin action: POST /admin/enrollment/addemployeefiling/ with
action=approve_selected and every filing ticked (django.test.Client, DEBUG off), the after-commit
work included (each notification queued to the in-memory broker: Celery is not eager here). It
prints the seconds, the SQL statements, and checks what was written: every filing approved, every
enrolment 正常, one transition, audit event, SMS outbox row and inbox message per filing.

Unless --no-compare, it then files as many again and times the same approvals one at a time
(portal.review.review_decide per filing, what the action did before portal.review_bulk). The
target is under 2 s for 200 filings.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchdb import django_setup, machine_facts, recreate_database  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_review_bulk"
TARGET_SECONDS = 2.0
CHANGELIST = "/admin/enrollment/addemployeefiling/"


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def pending_filings(agent, count: int, first: int) -> list[int]:
    """File ``count`` new persons by a batch import, run their pre-checks; return the pks."""
    from batch_add import workbook
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from enrollment.batch.process import batch_import_create, batch_process
    from enrollment.models import AddEmployeeFiling
    from portal.models import ReviewState
    from portal.review import review_precheck

    today = timezone.localdate()
    # The first ``first`` rows were filed by an earlier call: reported as duplicates, not filed.
    data = workbook(first + count, today.strftime("%Y-%m"), today.replace(day=1).isoformat())
    known = set(AddEmployeeFiling.objects.values_list("pk", flat=True))
    batch = batch_import_create(agent=agent, file=SimpleUploadedFile("名单.xlsx", data))
    batch_process(batch.pk)
    pks = sorted(set(AddEmployeeFiling.objects.values_list("pk", flat=True)) - known)
    for pk in pks:
        review_precheck(model_label="enrollment.AddEmployeeFiling", pk=pk)
    pending = AddEmployeeFiling.objects.filter(pk__in=pks, review_state=ReviewState.PENDING)
    assert pending.count() == len(pks) == count, (pending.count(), len(pks), count)
    return pks


def written(pks: list[int]) -> dict:
    from django.contrib.contenttypes.models import ContentType

    from enrollment.models import AddEmployeeFiling, Enrolment
    from portal.models import AuditEvent, InboxMessage, Notification, ReviewTransition

    filings = AddEmployeeFiling.objects.filter(pk__in=pks)
    content_type = ContentType.objects.get_for_model(AddEmployeeFiling)
    references = list(filings.values_list("reference", flat=True))
    return {
        "approved": filings.filter(review_state="approved").count(),
        "enrolments active": Enrolment.objects.filter(
            add_filing__in=pks, status=Enrolment.Status.ACTIVE
        ).count(),
        "transitions": ReviewTransition.objects.filter(
            content_type=content_type, object_id__in=pks, action="approve"
        ).count(),
        "audit events": AuditEvent.objects.filter(
            action="review.approve", object_id__in=[str(pk) for pk in pks]
        ).count(),
        "SMS": Notification.objects.filter(template="add_employee_approved").count(),
        "inbox": InboxMessage.objects.filter(
            template="add_employee_approved", reference__in=references
        ).count(),
    }


def time_bulk(client, pks: list[int]) -> tuple[float, int, str]:
    from django.db import connection

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        response = client.post(
            CHANGELIST,
            {"action": "approve_selected", "_selected_action": [str(pk) for pk in pks]},
        )
        elapsed = time.perf_counter() - started
    assert response.status_code == 302, response.status_code
    page = client.get(CHANGELIST).content.decode()
    messages = re.findall(r'<li class="(?:success|warning|error)">(.*?)</li>', page, re.S)
    return elapsed, counter.count, " / ".join(html.unescape(text) for text in messages)


def time_one_by_one(clerk, pks: list[int]) -> tuple[float, int]:
    from django.db import connection

    from enrollment.models import AddEmployeeFiling
    from portal.review import review_decide

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        for pk in pks:
            review_decide(model=AddEmployeeFiling, pk=pk, actor=clerk, decision="approve")
        elapsed = time.perf_counter() - started
    return elapsed, counter.count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument(
        "--no-compare", action="store_true", help="skip the one-at-a-time comparison"
    )
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    name = recreate_database(url)
    print(f"database {name}: dropped and created")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"  # after-commit work goes to the broker
    django_setup(url)
    os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
    print(machine_facts())

    from batch_add import seed
    from review_queue import make_clerk

    agent = seed()
    started = time.perf_counter()
    pks = pending_filings(agent, args.items, first=0)
    print(f"filed and pre-checked {len(pks)} filings in {time.perf_counter() - started:.1f} s")

    client = make_clerk("bench_clerk")
    elapsed, statements, summary = time_bulk(client, pks)
    verdict = "met" if elapsed < TARGET_SECONDS else "NOT met"
    print(
        f"bulk approval (admin action, set-based): {len(pks)} filings in {elapsed:.2f} s, "
        f"{statements} SQL statements; target < {TARGET_SECONDS:.0f} s {verdict}"
    )
    print(f"  message: {summary}")
    result = written(pks)
    print("  written: " + ", ".join(f"{key} {value}" for key, value in result.items()))
    assert all(value == len(pks) for value in result.values()), result

    if args.no_compare:
        return
    from django.contrib.auth import get_user_model

    more = pending_filings(agent, args.items, first=args.items)
    clerk = get_user_model().objects.get(username="bench_clerk")
    elapsed_single, statements_single = time_one_by_one(clerk, more)
    print(
        f"one at a time (review_decide per filing, before): {len(more)} filings in "
        f"{elapsed_single:.2f} s, {statements_single} SQL statements"
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
