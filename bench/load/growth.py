"""Page costs follow the unit, not the province: the mix's pages of one 500-person unit with
100,000 and then 1,000,000 persons in the database.

    .venv/bin/python bench/load/growth.py [--database load_growth] [--requests 15]
        [--to 1000000] [--plans]

Seeds (or reuses) a database of its own with bench/load/seed.py: 180 units × 500 persons plus one
unit of 10,000 (100,000 persons), three months of bills. Times the mix's pages of one 500-person
unit's agent with django.test.Client (DEBUG off, in this process: no network, no other load of
ours), and sums the shared buffers that EXPLAIN (ANALYZE, BUFFERS) reports for each page's
queries (the work a page does, which the machine's noise does not change). Then it grows the
rest of the database with COPY to ``--to`` persons (units of 500 with their bills; the measured
unit unchanged), runs VACUUM ANALYZE, and measures again. Prints both and the ratios; the target
is every page within 20 %.
With --plans it prints each page's plans at both sizes (docs/PERFORMANCE.md quotes them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

TOLERANCE = 0.20


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def plan_buffers(sql: str) -> tuple[int, list[str]]:
    """Shared buffers (hit + read) the statement touches, and its text plan."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        top = plan[0]["Plan"]
        buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        text = [row[0] for row in cursor.fetchall()]
    return buffers, text


def pages(agent, months) -> list[tuple]:
    """(label, method, url, data) of the mix's pages for the agent's unit."""
    from django.urls import reverse

    from contributions.models import MonthlyBill

    first, last = f"{months[0]:%Y-%m}", f"{months[-1]:%Y-%m}"
    bill = MonthlyBill.objects.filter(employer_id=agent.employer_id).order_by("-month").first()
    roster = reverse("enrollment:roster")
    detail = reverse("contributions:bill_detail", kwargs={"bill_reference": bill.reference})
    records = f"{reverse('contributions:record_list')}?month_from={first}&month_to={last}"
    return [
        ("dashboard", "GET", reverse("dashboard"), None),
        ("roster first page", "GET", roster, None),
        ("roster search results", "SEARCH", roster, {"q": "王"}),
        ("roster page 5", "GET", f"{roster}?page=5", None),
        ("add-employee GET", "GET", reverse("enrollment:add"), None),
        ("bill list", "GET", reverse("contributions:bill_list"), None),
        ("bill detail", "GET", detail, None),
        ("bill detail page 10", "GET", f"{detail}?page=10", None),
        ("records, 3 months", "GET", records, None),
        ("records, page 20", "GET", f"{records}&page=20", None),
        ("proof issue GET", "GET", reverse("contributions:proof_issue"), None),
        (
            "proof issue POST (unit)",
            "POST",
            reverse("contributions:proof_issue"),
            {"kind": "unit", "month_from": first, "month_to": last, "person_query": ""},
        ),
        ("roster export (csv)", "GET", reverse("enrollment:roster_csv"), None),
    ]


def measure_all(client, agent, months, requests: int, with_plans: bool) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    results = {}
    for label, method, url, data in pages(agent, months):
        if method == "SEARCH":
            response = client.post(url, data)
            assert response.status_code == 302, (label, response.status_code)
            url, method = response["Location"], "GET"
        times, counts = [], set()
        captured_sql: list[str] = []
        for index in range(requests + 2):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                if method == "POST":
                    response = client.post(url, data)
                    expected = 302
                else:
                    response = client.get(url)
                    expected = 200
                if hasattr(response, "streaming_content"):
                    b"".join(response.streaming_content)
                elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == expected, (label, response.status_code)
            if index >= 2:  # two warm-ups
                times.append(elapsed)
                counts.add(len(captured.captured_queries))
            captured_sql = [q["sql"] for q in captured.captured_queries]
        buffers, plans = 0, []
        for sql in captured_sql:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            touched, text = plan_buffers(sql)
            buffers += touched
            if with_plans:
                plans.append((touched, sql, text))
        results[label] = {
            "median": statistics.median(times),
            "queries": sorted(counts),
            "buffers": buffers,
            "plans": sorted(plans, key=lambda item: -item[0])[:3],
        }
        print(
            f"  {label:<26} median {results[label]['median']:7.1f} ms  "
            f"{'/'.join(map(str, sorted(counts))):>5} queries  {buffers:7d} buffers",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="load_growth")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--to", type=int, default=1_000_000, help="persons after growing")
    parser.add_argument("--plans", action="store_true", help="print the heaviest plans")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--json", help="also write the measurements to this file")
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("SMALL.json[,...]", "BIG.json[,...]"),
        help="print the table of earlier measurements (e.g. a 100,000-person database and a "
        "grown one, measured in turns with the same code; with several files per side each "
        "page's lowest median is taken) and exit",
    )
    args = parser.parse_args()
    if args.compare:
        small, big = (best_of(paths.split(",")) for paths in args.compare)
        compare(small, big, args.requests, args.plans)
        return
    if not args.database.startswith(("load", "bench")):
        sys.exit("growth.py seeds its database: give it a name starting with load or bench")
    url = f"{args.pg}/{args.database}"
    os.environ["DATABASE_URL"] = url
    from benchdb import django_setup, recreate_database
    from run import database_exists

    if args.reseed or not database_exists(args.pg, args.database):
        recreate_database(url)
    django_setup(url)
    import seed
    from django.test import Client

    from employers.models import Agent
    from enrollment.models import Person

    description = seed.meta_get("seed")
    if description is None:
        description = seed.seed_province(units=180, per_unit=500, big=10_000, months=3, agents=2)
    months = seed.bill_months(description["months"])
    agent = Agent.objects.select_related("user").get(pk=description["agents"][1])
    client = Client()
    client.force_login(agent.user)

    sizes = []
    for target in (None, args.to):
        if target is not None:
            print(f"\ngrowing the other units to {target:,} persons (COPY)", flush=True)
            started = time.perf_counter()
            seed.grow(target_persons=target, per_unit=500, months=description["months"])
            print(f"  grown in {time.perf_counter() - started:.0f} s (then VACUUM ANALYZE)")
        persons = Person.objects.count()
        print(f"\n{persons:,} persons in the database; {uptime()}")
        # A fresh login: growing takes longer than the 30-minute idle limit of a session.
        client.force_login(agent.user)
        results = measure_all(client, agent, months, args.requests, args.plans)
        sizes.append((persons, uptime(), results))
        if args.json:
            Path(args.json).write_text(
                json.dumps({"persons": persons, "uptime": uptime(), "results": results})
            )
        if persons >= args.to:
            break

    if len(sizes) < 2:
        print("\nthe database was already grown: run with --reseed to measure both sizes")
        return
    compare(
        {"persons": sizes[0][0], "uptime": sizes[0][1], "results": sizes[0][2]},
        {"persons": sizes[1][0], "uptime": sizes[1][1], "results": sizes[1][2]},
        args.requests,
        args.plans,
    )


def best_of(paths: list[str]) -> dict:
    """Measurements of one database taken several times: each page's lowest median (the run
    least disturbed by other work on the machine); buffers and plans from the first."""
    runs = [json.loads(Path(path).read_text()) for path in paths]
    best = runs[0]
    for run in runs[1:]:
        for label, result in run["results"].items():
            if result["median"] < best["results"][label]["median"]:
                best["results"][label]["median"] = result["median"]
    best["uptime"] = " | ".join(run["uptime"] for run in runs)
    return best


def compare(first: dict, second: dict, requests: int, with_plans: bool) -> None:
    small_n, small_up, small = first["persons"], first["uptime"], first["results"]
    big_n, big_up, big = second["persons"], second["uptime"], second["results"]
    print(f"\nthe unit's pages at {small_n:,} and {big_n:,} persons (median of {requests})")
    print(f"  at {small_n:,}: {small_up}\n  at {big_n:,}: {big_up}")
    header = (
        f"{'page':<26} {'ms @small':>9} {'ms @big':>8} {'ratio':>6} {'buffers @small':>14} "
        f"{'buffers @big':>12} {'ratio':>6} {'queries':>8}"
    )
    print(header)
    worst, worst_time = 0.0, 0.0
    for label in small:
        a, b = small[label], big[label]
        time_ratio = b["median"] / a["median"]
        buffer_ratio = b["buffers"] / a["buffers"] if a["buffers"] else 1.0
        worst = max(worst, buffer_ratio)
        worst_time = max(worst_time, time_ratio)
        queries = "/".join(map(str, a["queries"])) + " → " + "/".join(map(str, b["queries"]))
        print(
            f"{label:<26} {a['median']:9.1f} {b['median']:8.1f} {time_ratio:6.2f} "
            f"{a['buffers']:14d} {b['buffers']:12d} {buffer_ratio:6.2f} {queries:>8}"
        )
    verdict = "met" if worst <= 1 + TOLERANCE else "NOT met"
    print(f"\nevery page's buffers within {TOLERANCE:.0%}: {verdict} (worst ratio {worst:.2f})")
    verdict = "met" if worst_time <= 1 + TOLERANCE else "NOT met"
    print(
        f"every page's median time within {TOLERANCE:.0%}: {verdict} (worst ratio "
        f"{worst_time:.2f}; times on a shared machine, see the uptime lines)"
    )
    if with_plans:
        for persons, results in ((small_n, small), (big_n, big)):
            print(f"\n===== plans at {persons:,} persons (the three heaviest queries per page)")
            for label, result in results.items():
                for touched, sql, text in result["plans"]:
                    print(f"\n== {label}: {touched} buffers\n   {sql[:400]}")
                    for line in text[:30]:
                        print("   | " + line)


if __name__ == "__main__":
    main()
