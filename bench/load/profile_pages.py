"""Where a mix page's time goes, in one process: each page of the load benchmark's mix for one
agent, timed and its queries counted, and optionally profiled (cProfile).

    .venv/bin/python bench/load/profile_pages.py [--database load_bench] [--big]
        [--requests 20] [--profile "bill detail"] [--sort tottime] [--limit 40]
        [--queries "bill detail"]

Uses the load benchmark's seeded database (bench/load/run.py seeds it) and its settings; no
server, no Celery worker: the add-employee POST's pre-check task goes to an in-memory broker and
is not run, so the POST is measured without it (the worker's share).
Prints per page the mean and best wall time, the queries and their time; --profile prints the
top functions of one page (or "all").
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="load_bench")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--big", action="store_true", help="the 10,000-person unit's agent")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--profile", default="", help="a page name, or 'all'")
    parser.add_argument("--queries", default="", help="print the SQL of one request of a page")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--limit", type=int, default=40)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.load.settings",
        DATABASE_URL=f"{args.pg}/{args.database}",
        REDIS_URL=args.redis,
        DJANGO_DEBUG="0",
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("PORTAL_VAR_DIR", "/tmp/profile-pages-var")
    import django

    django.setup()
    import run
    import seed
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from employers.models import Agent

    description = seed.meta_get("seed")
    big_unit = description["big_unit"]
    agent = next(
        a
        for a in Agent.objects.filter(pk__in=description["agents"]).order_by("pk")
        if (a.employer_id == big_unit) == args.big
    )
    fake_args = argparse.Namespace(
        months=description["months"],
        agents=len(description["agents"]),
        big=description["big"],
        per_unit=description["per_unit"],
        steps=[1],
        step_seconds=1,
        warmup_seconds=0,
        rounds=1,
        timeout=30,
        port=0,
    )
    plan = run.make_plan(fake_args, {**description, "agents": [agent.pk]}, Path("/tmp"))
    spec = plan["agents"][0]
    # Tasks sent by a page (the add-employee pre-checks) stay in memory: no worker here.
    from portal.celery import app as celery_app

    celery_app.conf.broker_url = "memory://"
    celery_app.conf.task_always_eager = False
    plan["new_documents"] = run.new_documents(args.requests + 10)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.cookies[settings.SESSION_COOKIE_NAME] = spec["session_key"]
    urls = spec["urls"]
    # A name search is a POST that answers with the results' address (?s=<token>), as the mix
    # does it; a GET with ?q= would show the unfiltered first page.
    searched = client.post(urls["roster"], {"q": "王"})
    search_results = searched.headers.get("Location", urls["roster"])
    pages = [
        ("dashboard", "get", urls["dashboard"], {}),
        ("roster first page", "get", urls["roster"], {}),
        ("roster page N", "get", urls["roster_page_n"], {}),
        ("roster search results", "get", search_results, {}),
        ("add-employee GET", "get", urls["add"], {}),
        ("add-employee POST", "post", urls["add"], "add"),
        ("bill list", "get", urls["bills"], {}),
        ("bill detail", "get", urls["bill_detail"], {}),
        ("records", "get", urls["records"], {}),
        ("proof issue GET", "get", urls["proof_issue"], {}),
        ("proof issue POST", "post", urls["proof_issue"], plan["proof_form"]),
        ("roster export (csv)", "get", urls["export"], {}),
        ("reference", "get", urls["reference"], {}),
    ]

    def form_data(data):
        if data != "add":
            return data
        from django.core.files.uploadedfile import SimpleUploadedFile

        from tests.enrollment.add_helpers import jpg_bytes, pdf_bytes

        return {
            **plan["add_form"],
            "idempotency_key": str(uuid.uuid4()),
            "document_number": plan["new_documents"].pop(),
            "name": "王芳",
            "labour_contract": SimpleUploadedFile("合同.pdf", pdf_bytes(), "application/pdf"),
            "id_scan": SimpleUploadedFile("身份证.jpg", jpg_bytes(), "image/jpeg"),
        }

    profiler = cProfile.Profile()
    print(f"agent {agent.pk} of unit {agent.employer_id} ({'big' if args.big else 'small'})")
    print(f"{'page':24} {'status':>6} {'mean ms':>8} {'best ms':>8} {'queries':>8} {'sql ms':>7}")
    for name, method, url, data in pages:
        wanted = args.profile in (name, "all")
        for _ in range(2):
            getattr(client, method)(url, form_data(data))
        times, sql = [], []
        with CaptureQueriesContext(connection) as captured:
            for _ in range(args.requests):
                before = len(captured.captured_queries)
                started = time.perf_counter()
                if wanted:
                    profiler.enable()
                response = getattr(client, method)(url, form_data(data))
                if wanted:
                    profiler.disable()
                if hasattr(response, "streaming_content"):
                    b"".join(response.streaming_content)
                times.append((time.perf_counter() - started) * 1000)
                sql.append(sum(float(q["time"]) for q in captured.captured_queries[before:]) * 1000)
        queries = len(captured.captured_queries) // args.requests
        if args.queries == name:
            for query in captured.captured_queries[-queries:]:
                print(f"  {float(query['time']) * 1000:6.1f} ms  {query['sql'][:300]}")
        print(
            f"{name:24} {response.status_code:>6} {statistics.mean(times):8.1f} "
            f"{min(times):8.1f} {queries:8} {statistics.mean(sql):7.1f}"
        )
    if args.profile:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(args.sort).print_stats(args.limit)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
