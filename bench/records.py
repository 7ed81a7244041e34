"""Benchmark: 缴费记录查询 of a unit with 10,000 persons over 12 months, on PostgreSQL.

    .venv/bin/python bench/records.py [--persons 10000] [--months 12] [--requests 20] [--reuse]

Drops and creates the database named in DATABASE_URL (default bench_records on 127.0.0.1),
migrates it, bulk-creates the unit's persons with active enrolments and 12 monthly bills with
4 insurance types per person (480,000 bill lines, written with COPY), plus a second unit of
2,000 persons so that scoping has something to do; runs VACUUM ANALYZE, signs an agent with the
queries role in with force_login, then times /contributions/records/ with django.test.Client:
all 12 months (totals over 480,000 lines), a deep page, one insurance type, one month, a name,
a full document number, and one person and one month (with the missing-record cause); the
"empty cache" row clears the cache before each request (the totals come from the bills' stored
per-type sums, so it should cost the same). It prints the median and p95 in ms and the SQL
queries per request, then EXPLAIN ANALYZE of every query over 20 ms. The target is under 300 ms
at a constant number of queries.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchdb import SLOW_QUERY_MS, explain, machine_facts, measure, recreate_database  # noqa: E402
from roster import seed_unit  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_records"
TARGET_MS = 300.0
RECORDS = "/contributions/records/"
UNIT_NAME = "缴费记录基准测试有限公司"
FIRST_MONTH = datetime.date(2025, 11, 1)
CENT = Decimal("0.01")
RATES = {  # employer, personal (demo figures; 工伤 class 1)
    "pension": (Decimal("0.16"), Decimal("0.08")),
    "medical": (Decimal("0.098"), Decimal("0.02")),
    "unemployment": (Decimal("0.005"), Decimal("0.005")),
    "work_injury": (Decimal("0.002"), Decimal("0")),
}


def add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def seed_bills(employer, months: int, rng) -> int:
    """One settled regular bill per month with 4 lines per active enrolment, by COPY."""
    from django.db import connection, transaction

    from contributions.billing.line_order import bill_lines_number
    from contributions.common import new_reference
    from contributions.models import BillLine, MonthlyBill, PolicyPeriod
    from enrollment.models import Enrolment

    enrolments = list(
        Enrolment.objects.filter(employer=employer, status="active").values_list(
            "pk", "person_id", "contribution_base"
        )
    )
    started = time.perf_counter()
    columns = (
        "bill_id",
        "employer_id",
        "month",
        "enrolment_id",
        "person_id",
        "insurance_type",
        "base",
        "employer_rate",
        "personal_rate",
        "employer_amount",
        "personal_amount",
    )
    table = BillLine._meta.db_table
    amounts = {}
    count = 0
    for offset in range(months):
        month = add_months(FIRST_MONTH, offset)
        period = PolicyPeriod.objects.get(
            region=employer.region, starts_on__lte=month, ends_on__gte=month
        )
        last = offset == months - 1
        with transaction.atomic():
            bill = MonthlyBill.objects.create(
                reference=new_reference("HD"),
                employer=employer,
                month=month,
                period=period,
                base_lower=period.base_lower,
                base_upper=period.base_upper,
                status="debited" if last else "settled",
                person_count=len(enrolments),
                due_on=month.replace(day=28),
            )
            per_type: dict[str, list] = {}
            with connection.cursor() as cursor:
                raw = cursor.connection  # psycopg 3
                with raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for enrolment_id, person_id, base in enrolments:
                        base = min(max(Decimal(base), period.base_lower), period.base_upper)
                        for kind, (employer_rate, personal_rate) in RATES.items():
                            key = (base, kind)
                            if key not in amounts:
                                amounts[key] = (
                                    (base * employer_rate).quantize(CENT, ROUND_HALF_UP),
                                    (base * personal_rate).quantize(CENT, ROUND_HALF_UP),
                                )
                            employer_amount, personal_amount = amounts[key]
                            copy.write_row(
                                (
                                    bill.pk,
                                    employer.pk,
                                    month,
                                    enrolment_id,
                                    person_id,
                                    kind,
                                    base,
                                    employer_rate,
                                    personal_rate,
                                    employer_amount,
                                    personal_amount,
                                )
                            )
                            count += 1
                            sums = per_type.setdefault(
                                kind, [0, Decimal("0"), Decimal("0"), Decimal("0")]
                            )
                            sums[0] += 1
                            sums[1] += employer_amount
                            sums[2] += personal_amount
                            sums[3] += base
            bill.employer_total = sum(v[1] for v in per_type.values())
            bill.personal_total = sum(v[2] for v in per_type.values())
            bill.total = bill.employer_total + bill.personal_total
            bill.type_totals = {
                k: [v[0], f"{v[1]:.2f}", f"{v[2]:.2f}"] for k, v in per_type.items()
            }
            # The lines are all of the bill's month (contributions.common.line_sums).
            bill.line_sums = (
                {
                    month.isoformat(): {
                        k: [v[0], f"{v[3]:.2f}", f"{v[1]:.2f}", f"{v[2]:.2f}"]
                        for k, v in per_type.items()
                    }
                }
                if per_type
                else {}
            )
            bill.save(
                update_fields=[
                    "employer_total",
                    "personal_total",
                    "total",
                    "type_totals",
                    "line_sums",
                ]
            )
            bill_lines_number([bill.pk])  # in page order, as the billing engine numbers them
    rate = count / (time.perf_counter() - started)
    print(f"  {employer.name}: {count:,} bill lines in {months} bills ({rate:,.0f} rows/s)")
    return count


def seed(persons: int, months: int) -> dict:
    from django.db import connection

    from contributions.models import ContributionAccount
    from employers.models import Role
    from tests.contributions.factories import make_period
    from tests.factories import create_agent, create_employer

    rng = random.Random(20261125)
    started = time.perf_counter()
    unit = create_employer(name=UNIT_NAME)
    other = create_employer(name="另一家缴费基准测试有限公司")
    for employer in (unit, other):
        ContributionAccount.objects.get_or_create(employer=employer)
    make_period(unit.region, datetime.date(2025, 7, 1), datetime.date(2026, 6, 30))
    make_period(unit.region, datetime.date(2026, 7, 1), datetime.date(2027, 6, 30))
    numbers = seed_unit(unit, persons, status="active", first_serial=0, rng=rng)
    seed_unit(other, persons // 5, status="active", first_serial=persons, rng=rng)
    seed_bills(unit, months, rng)
    seed_bills(other, months, rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    agent = create_agent(unit, roles=[Role.QUERIES])
    print(f"seeded in {time.perf_counter() - started:.0f} s (then VACUUM ANALYZE)")
    return {"agent": agent, "number": numbers[persons // 2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--warmups", type=int, default=3)
    parser.add_argument("--plan-lines", type=int, default=25)
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    os.environ["DATABASE_URL"] = url
    if not args.reuse:
        name = recreate_database(url)
        print(f"database {name} dropped and created")
    from benchdb import django_setup

    django_setup(url)
    print(machine_facts())
    from roster import resident_id

    if args.reuse:
        from employers.models import Agent

        agent = Agent.objects.get(employer__name=UNIT_NAME)
        lookups = {"agent": agent, "number": resident_id(args.persons // 2)}
    else:
        lookups = seed(args.persons, args.months)

    from django.test import Client

    first = f"{FIRST_MONTH:%Y-%m}"
    last = f"{add_months(FIRST_MONTH, args.months - 1):%Y-%m}"
    whole = f"{RECORDS}?month_from={first}&month_to={last}"
    client = Client()
    client.force_login(lookups["agent"].user)

    def cold():
        from django.core.cache import cache

        cache.clear()

    views = [
        (f"{args.months} months, all", whole),
        (f"{args.months} months, empty cache", whole, cold),
        ("page 2000", whole + "&page=2000"),
        ("insurance_type=pension", whole + "&insurance_type=pension"),
        ("one month", f"{RECORDS}?month_from={last}&month_to={last}"),
        ("name search q=王伟", whole + "&q=%E7%8E%8B%E4%BC%9F"),
        ("full document number", whole + f"&q={lookups['number']}"),
        (
            "one person, one month + cause",
            f"{RECORDS}?month_from={last}&month_to={last}&q={lookups['number']}",
        ),
    ]
    print(
        f"\nGET {RECORDS}: {args.requests} requests per view after {args.warmups} warm-ups "
        f"(django.test.Client, DEBUG off), {args.persons:,} persons × {args.months} months "
        f"× 4 types = {args.persons * args.months * 4:,} lines in the unit"
    )
    header = f"{'view':<32} {'median ms':>9} {'p95 ms':>8} {'queries':>8} {'SQL ms':>7} {'rows':>5}"
    print(header)
    print("-" * len(header))
    results = []
    for label, path, *before in views:
        result = measure(
            client,
            path,
            requests=args.requests,
            warmups=args.warmups,
            count_rows=lambda content: content.count(b"<tr data-record>"),
            before=next(iter(before), None),
        )
        results.append((label, result))
        queries = "/".join(str(n) for n in result["queries"])
        verdict = "ok" if result["p95"] < TARGET_MS else "SLOW"
        print(
            f"{label:<32} {result['median']:9.1f} {result['p95']:8.1f} {queries:>8} "
            f"{result['sql_median']:7.1f} {result['rows']:5d}  {verdict}",
            flush=True,
        )
    worst = max(result["p95"] for label, result in results)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"target p95 < {TARGET_MS:.0f} ms: {'met' if worst < TARGET_MS else 'NOT met'} "
        f"(worst p95 {worst:.1f} ms); load average {load} on {os.cpu_count()} cores"
    )
    print(f"\nQueries over {SLOW_QUERY_MS:.0f} ms, with EXPLAIN (ANALYZE, BUFFERS) run now:")
    found = False
    for label, result in results:
        for query in result["slow"]:
            found = True
            print(f"\n== {label}: {query['ms']:.0f} ms in the run")
            print("   " + query["sql"][:600])
            for line in explain(query["sql"])[: args.plan_lines]:
                print("   | " + line)
    if not found:
        print("  none")


if __name__ == "__main__":
    main()
