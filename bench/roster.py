"""Benchmark: the roster page (参保人员花名册) of a unit with 100,000 persons, on PostgreSQL.

    .venv/bin/python bench/roster.py [--persons 100000] [--requests 20] [--warmups 3]

Drops and creates the database named in DATABASE_URL (default bench_roster on 127.0.0.1),
migrates it, bulk-creates the unit's persons with active enrolments (plus 5 % terminated ones
and a second unit of 20,000, so that scoping and the status filter have something to do),
runs VACUUM ANALYZE, signs an agent with the enrolment role in with force_login, then times
/enrollment/roster/ with django.test.Client: the first page, a name search, a full document
number, the status filter, an insurance-type filter, and page 1000. It prints the median and
p95 in ms and the SQL queries per request, then EXPLAIN ANALYZE of every query over 20 ms.
The target is under 200 ms at a constant number of queries.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchdb import SLOW_QUERY_MS, explain, machine_facts, measure, recreate_database  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_roster"
TARGET_MS = 200.0
BATCH = 5000
ROSTER = "/enrollment/roster/"
UNIT_NAME = "花名册基准测试有限公司"
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗")
GIVEN = "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 涛 明 超 秀英 建华 志强 海燕".split()
CODE_SETS = [
    (["110", "210", "310", "410"], 80),
    (["310", "410"], 15),
    (["410"], 5),  # 非全日制: 工伤 only
]


def resident_id(serial: int) -> str:
    """A valid resident ID, unique per serial below 14,600 × 1,000."""
    from portal.identifiers import resident_id_check_char

    birth = datetime.date(1966, 1, 1) + datetime.timedelta(days=serial % 14600)
    first17 = f"110105{birth:%Y%m%d}{serial // 14600 % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def seed_unit(employer, count: int, *, status: str, first_serial: int, rng) -> list[str]:
    """Bulk-create ``count`` persons with enrolments in the unit; return their ID numbers."""
    from django.db import transaction

    from enrollment.models import EmploymentForm, Enrolment, HukouType, Person

    form = EmploymentForm.objects.get(region=None, code="11")
    codes = [codes for codes, _weight in CODE_SETS]
    weights = [weight for _codes, weight in CODE_SETS]
    numbers = []
    started = time.perf_counter()
    for offset in range(0, count, BATCH):
        size = min(BATCH, count - offset)
        persons = []
        for index in range(size):
            serial = first_serial + offset + index
            number = resident_id(serial)
            numbers.append(number)
            persons.append(
                Person(
                    name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                    document_number=number,
                    sex=Person.Sex.MALE if int(number[16]) % 2 else Person.Sex.FEMALE,
                    birth_date=datetime.date(
                        int(number[6:10]), int(number[10:12]), int(number[12:14])
                    ),
                    hukou_type=HukouType.LOCAL_URBAN,
                    phone=f"139{serial:08d}",
                )
            )
        with transaction.atomic():
            Person.objects.bulk_create(persons)
            Enrolment.objects.bulk_create(
                [
                    Enrolment(
                        person=person,
                        employer=employer,
                        employment_form=form,
                        insurance_codes=rng.choices(codes, weights)[0],
                        start_month=datetime.date(
                            2015 + rng.randrange(10), rng.randrange(12) + 1, 1
                        ),
                        contribution_base=7162 + rng.randrange(20000),
                        status=status,
                    )
                    for person in persons
                ]
            )
    rate = count / (time.perf_counter() - started)
    print(f"  {employer.name}: {count:,} rows ({rate:,.0f} rows/s)")
    return numbers


def seed(persons: int) -> dict:
    from django.db import connection

    from employers.models import Role
    from tests.factories import create_agent, create_employer

    rng = random.Random(20260301)
    started = time.perf_counter()
    unit = create_employer(name=UNIT_NAME)
    other = create_employer(name="另一家基准测试有限公司")
    numbers = seed_unit(unit, persons, status="active", first_serial=0, rng=rng)
    seed_unit(unit, persons // 20, status="terminated", first_serial=persons, rng=rng)
    seed_unit(other, 20000, status="active", first_serial=persons + persons // 20, rng=rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    agent = create_agent(unit, roles=[Role.ENROLMENT])
    print(f"seeded in {time.perf_counter() - started:.0f} s (then VACUUM ANALYZE)")
    return {"agent": agent, "number": numbers[persons // 2]}


def roster_rows(content: bytes) -> int:
    """The rows of a roster page: links to a person's page (not the roster's own link)."""
    return content.count(b'href="/enrollment/roster/') - content.count(
        b'href="/enrollment/roster/"'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
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
    if args.reuse:
        from employers.models import Agent

        agent = Agent.objects.get(employer__name=UNIT_NAME)
        lookups = {"agent": agent, "number": resident_id(args.persons // 2)}
    else:
        lookups = seed(args.persons)

    from django.test import Client

    client = Client()
    client.force_login(lookups["agent"].user)
    views = [
        ("first page", ROSTER),
        ("name search q=王伟", ROSTER + "?q=%E7%8E%8B%E4%BC%9F"),
        ("full document number", ROSTER + f"?q={lookups['number']}"),
        ("status=active", ROSTER + "?status=active"),
        ("status=terminated", ROSTER + "?status=terminated"),
        ("insurance_code=210", ROSTER + "?insurance_code=210"),
        ("insurance_code=410 + active", ROSTER + "?insurance_code=410&status=active"),
        ("page 1000", ROSTER + "?page=1000"),
    ]
    print(
        f"\nGET {ROSTER}: {args.requests} requests per view after {args.warmups} warm-ups "
        f"(django.test.Client, DEBUG off), {args.persons:,} active persons in the unit"
    )
    header = f"{'view':<30} {'median ms':>9} {'p95 ms':>8} {'queries':>8} {'SQL ms':>7} {'rows':>5}"
    print(header)
    print("-" * len(header))
    results = []
    for label, path in views:
        result = measure(
            client, path, requests=args.requests, warmups=args.warmups, count_rows=roster_rows
        )
        results.append((label, result))
        queries = "/".join(str(n) for n in result["queries"])
        verdict = "ok" if result["p95"] < TARGET_MS else "SLOW"
        print(
            f"{label:<30} {result['median']:9.1f} {result['p95']:8.1f} {queries:>8} "
            f"{result['sql_median']:7.1f} {result['rows']:5d}  {verdict}",
            flush=True,
        )
    worst = max(result["p95"] for _label, result in results)
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
            plan = explain(query["sql"])
            for line in plan[: args.plan_lines]:
                print("   | " + line)
    if not found:
        print("  none")


if __name__ == "__main__":
    main()
