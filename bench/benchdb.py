"""Shared set-up for the benchmarks in bench/: a fresh PostgreSQL database and Django.

The benchmarks use a database of their own (bench_portal by default): it is dropped and created
again at every start, so never point DATABASE_URL at a database whose data matters.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_portal"
# Databases other runs use: a benchmark never drops them.
PROTECTED_NAMES = {"portal", "test_portal", "postgres", "template0", "template1"}


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def recreate_database(url: str) -> str:
    """Drop and create the database named in ``url`` (PostgreSQL only); return its name."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        sys.exit(f"the benchmarks need PostgreSQL; DATABASE_URL is {parts.scheme}://...")
    name = parts.path.lstrip("/")
    if not name or name in PROTECTED_NAMES:
        sys.exit(f"refusing to drop database {name!r}: give the benchmark a database of its own")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    return name


def django_setup(url: str, *, redis_url: str | None = None) -> None:
    """Configure the environment the way production runs, then set Django up and migrate."""
    sys.path.insert(0, str(BASE_DIR))
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_DEBUG"] = "0"
    hosts = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
    os.environ["ALLOWED_HOSTS"] = ",".join(dict.fromkeys([*hosts, "testserver"]))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if redis_url is None:
        os.environ.pop("REDIS_URL", None)
    else:
        os.environ["REDIS_URL"] = redis_url
        os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    assert not settings.DEBUG, "the benchmarks run with DEBUG off"
    assert "testserver" in settings.ALLOWED_HOSTS or "*" in settings.ALLOWED_HOSTS
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    if "DatabaseCache" in settings.CACHES["default"]["BACKEND"]:
        call_command("createcachetable", verbosity=0)
    print(f"migrated a fresh database in {time.perf_counter() - started:.1f} s")


def machine_facts() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
                break
    except OSError:
        pass
    return (
        f"machine: {os.cpu_count()} cores ({cpu}), {memory} RAM, Python "
        f"{platform.python_version()}, PostgreSQL {pg_version} (shared_buffers {shared_buffers})"
    )


# Timing pages -----------------------------------------------------------------------------------

SLOW_QUERY_MS = 20.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def measure(client, url: str, *, requests: int, warmups: int, count_rows, before=None) -> dict:
    """Time GET url with the Django test client: median and p95 ms, the query counts seen, the
    median SQL ms, the rows ``count_rows(content)`` finds on the page, and the queries over
    SLOW_QUERY_MS. ``before`` (if given) runs before each timed request, untimed."""
    import statistics

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmups):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times, counts, sql_ms = [], [], []
    slow: dict[str, dict] = {}
    rows = 0
    for _ in range(requests):
        if before is not None:
            before()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code)
        rows = count_rows(response.content)
        times.append(elapsed)
        counts.append(len(captured.captured_queries))
        sql_ms.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
        for query in captured.captured_queries:
            ms = float(query["time"]) * 1000
            shape = query["sql"][:60]
            if ms >= SLOW_QUERY_MS and ms > slow.get(shape, {}).get("ms", 0):
                slow[shape] = {"ms": ms, "sql": query["sql"]}
    return {
        "median": statistics.median(times),
        "p95": percentile(times, 0.95),
        "queries": sorted(set(counts)),
        "sql_median": statistics.median(sql_ms),
        "rows": rows,
        "slow": list(slow.values()),
    }


def explain(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return [row[0] for row in cursor.fetchall()]
