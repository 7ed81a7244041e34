"""Benchmark: monthly bills (月度核定) on PostgreSQL.

    .venv/bin/python bench/bills.py [--persons 10000] [--units 1000] [--per-unit 100]

Drops and creates the database named in DATABASE_URL (default bench_bills on 127.0.0.1; the
shared portal and test databases are refused), migrates it and bulk-creates:

(a) one unit with ``--persons`` active employees, each with a declared base (some below the lower
    bound and some above the upper, so that the clamp has work), and times bill_generate for one
    month, an idempotent regeneration (nothing changed), a recomputation after one base changed,
    and the 补缴 supplement after the period's lower bound was raised on the confirmed bill;
(b) ``--units`` units of ``--per-unit`` employees each in another region, and times
    bills_generate_all for the month, then again (idempotent).

It prints times and SQL query counts; the queries per unit do not depend on the staff size.
Targets: (a) under 5 s for 10,000 employees.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchdb import machine_facts, recreate_database  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_bills"
TARGET_S = 5.0
BATCH = 5000
MONTH = datetime.date(2026, 8, 1)
CODES = ["110", "210", "310", "410", "510"]


def resident_id(serial: int) -> str:
    from portal.identifiers import resident_id_check_char

    birth = datetime.date(1966, 1, 1) + datetime.timedelta(days=serial % 14600)
    first17 = f"110105{birth:%Y%m%d}{serial // 14600 % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def make_region(code: str, name: str):
    from contributions.policy.services import policy_period_save
    from portal.models import Region
    from tests.contributions.factories import standard_rates

    region, _ = Region.objects.get_or_create(code=code, defaults={"name": name})
    period = policy_period_save(
        region=region,
        starts_on=datetime.date(2026, 7, 1),
        ends_on=datetime.date(2027, 6, 30),
        base_lower=Decimal("7162.00"),
        base_upper=Decimal("35811.00"),
        is_published=True,
        note="基准测试数据",
        rates=standard_rates(),
    ).period
    return region, period


def make_units(region, count: int, first: int) -> list:
    """Bulk-create ``count`` active units (with accounts) in the region."""
    from contributions.models import ContributionAccount
    from employers.models import Employer, OpenedAccount

    accounts = OpenedAccount.objects.bulk_create(
        [
            OpenedAccount(
                ss_number=f"B{first + index:010d}",
                uscc=f"91{first + index:016d}",
                name=f"基准测试单位{first + index}",
                region=region,
                legal_rep_name="王五",
                opened_on=datetime.date(2020, 1, 1),
            )
            for index in range(count)
        ]
    )
    units = Employer.objects.bulk_create(
        [
            Employer(
                account=account,
                name=account.name,
                uscc=account.uscc,
                ss_number=account.ss_number,
                region=region,
                legal_rep_name="王五",
                legal_rep_id_number=resident_id(9_000_000 + first + index),
                contact_phone="13900000000",
                bank_name="测试银行",
                bank_account="6222020200009876543",
                bank_account_name=account.name,
                status=Employer.Status.ACTIVE,
            )
            for index, account in enumerate(accounts)
        ]
    )
    ContributionAccount.objects.bulk_create(
        [
            ContributionAccount(
                employer=unit, risk_class=1 + index % 8, work_injury_float=Decimal("1.10")
            )
            for index, unit in enumerate(units)
        ]
    )
    return units


def staff(assignments: list[tuple], period, rng, first_serial: int) -> None:
    """Bulk-create persons, active enrolments and declared bases: assignments = [(unit, n)]."""
    from django.db import transaction

    from contributions.models import ContributionBase
    from enrollment.models import EmploymentForm, Enrolment, HukouType, Person

    form = EmploymentForm.objects.get(region=None, code="11")
    serial = first_serial
    pending: list[tuple] = []

    def flush():
        with transaction.atomic():
            persons = Person.objects.bulk_create(
                [
                    Person(
                        name="基准" + str(number),
                        document_number=resident_id(number),
                        sex=Person.Sex.MALE,
                        birth_date=datetime.date(1980, 1, 1),
                        hukou_type=HukouType.LOCAL_URBAN,
                    )
                    for _unit, number in pending
                ]
            )
            enrolments = Enrolment.objects.bulk_create(
                [
                    Enrolment(
                        person=person,
                        employer=unit,
                        employment_form=form,
                        insurance_codes=CODES,
                        start_month=datetime.date(2024, 1, 1),
                        contribution_base=Decimal(8000),
                        status=Enrolment.Status.ACTIVE,
                    )
                    for person, (unit, _number) in zip(persons, pending, strict=True)
                ]
            )
            ContributionBase.objects.bulk_create(
                [
                    ContributionBase(
                        enrolment=enrolment,
                        period=period,
                        base=Decimal(5000 + rng.randrange(35000 * 100)) / 100,
                    )
                    for enrolment in enrolments
                ]
            )
        pending.clear()

    for unit, count in assignments:
        for _ in range(count):
            pending.append((unit, serial))
            serial += 1
            if len(pending) >= BATCH:
                flush()
    if pending:
        flush()


class QueryCounter:
    """Count statements through connection.execute_wrapper (no 9,000-query log limit).

    The bill lines go in with COPY, which bypasses the wrapper: billing logs each COPY in
    connection.queries_log only when queries are logged, so they are counted from the bills
    written instead (one COPY per bill written).
    """

    def __init__(self):
        self.count = 0
        self.inserts = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if sql.lstrip().upper().startswith("INSERT"):
            self.inserts += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def timed(label: str, func, copies=lambda result: 0):
    from django.db import connection

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started, cpu = time.perf_counter(), time.process_time()
        result = func()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    copy_count = copies(result)
    total = counter.count + copy_count
    print(
        f"  {label:<58} {elapsed:6.2f} s (Python CPU {cpu:5.2f} s, SQL excl. COPY "
        f"{counter.seconds:5.2f} s)  {total:6d} queries ({counter.inserts} INSERT, "
        f"{copy_count} COPY)",
        flush=True,
    )
    return result, elapsed, total


def written(result) -> int:
    """Bills written by a call: one COPY of lines each."""
    if hasattr(result, "created"):
        return result.created + result.replaced + result.supplements
    if hasattr(result, "outcome"):
        return int(result.outcome in {"created", "replaced", "supplement"})
    return 1


def part_a(persons: int, rng) -> float:
    from django.db import connection

    from contributions.billing.engine import bill_generate, bill_generate_outcome
    from contributions.billing.runs import bills_recompute_period
    from contributions.models import BillLine, BillStatus, ContributionBase, MonthlyBill
    from contributions.policy.services import policy_period_save
    from tests.contributions.factories import standard_rates

    print(f"\n(a) one unit with {persons:,} active employees")
    started = time.perf_counter()
    region, period = make_region("110000", "北京市(基准测试)")
    (unit,) = make_units(region, 1, 0)
    staff([(unit, persons)], period, rng, 0)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"  seeded in {time.perf_counter() - started:.0f} s (then VACUUM ANALYZE)")

    bill, first, _ = timed(
        "bill_generate (new bill)", lambda: bill_generate(employer=unit, month=MONTH), written
    )
    lines = BillLine.objects.filter(bill=bill).count()
    print(f"    → {bill.person_count:,} persons, {lines:,} lines, total {bill.total} yuan")
    result, _, _ = timed(
        "bill_generate again, nothing changed (idempotent)",
        lambda: bill_generate_outcome(employer=unit, month=MONTH),
    )
    assert result.outcome == "unchanged", result.outcome
    ContributionBase.objects.filter(
        pk=ContributionBase.objects.filter(enrolment__employer=unit).values("pk")[:1]
    ).update(base=Decimal("12345.00"))
    result, _, _ = timed(
        "bill_generate after one base changed (in place)",
        lambda: bill_generate_outcome(employer=unit, month=MONTH),
        written,
    )
    assert result.outcome == "replaced", result.outcome
    MonthlyBill.objects.filter(pk=bill.pk).update(status=BillStatus.CONFIRMED)
    # Outside a transaction the on-commit hook runs at once, and the task runs eagerly (no Redis).
    timed(
        "policy_period_save: lower bound 7162 → 8000, recompute (补缴)",
        lambda: policy_period_save(
            region=region,
            starts_on=period.starts_on,
            ends_on=period.ends_on,
            base_lower=Decimal("8000.00"),
            base_upper=period.base_upper,
            is_published=True,
            note=period.note,
            rates=standard_rates(),
        ),
        lambda _result: 1,
    )
    supplement = MonthlyBill.objects.get(employer=unit, month=MONTH, sequence=1)
    print(
        f"    → supplement {supplement.reference}: {supplement.person_count:,} persons, "
        f"total {supplement.total} yuan"
    )
    timed(
        "bills_recompute_period again (nothing left)", lambda: bills_recompute_period(period=period)
    )
    return first


def part_b(units: int, per_unit: int, first_serial: int, rng) -> None:
    from django.db import connection

    from contributions.billing.runs import bills_generate_all

    print(f"\n(b) {units:,} units × {per_unit} employees = {units * per_unit:,} persons")
    started = time.perf_counter()
    region, period = make_region("120000", "天津市(基准测试)")
    unit_rows = make_units(region, units, 1)
    staff([(unit, per_unit) for unit in unit_rows], period, rng, first_serial)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"  seeded in {time.perf_counter() - started:.0f} s (then VACUUM ANALYZE)")
    summary, elapsed, queries = timed(
        "bills_generate_all (new bills)",
        lambda: bills_generate_all(month=MONTH, region=region),
        written,
    )
    print(
        f"    → {summary.created:,} bills, {summary.persons:,} persons, {summary.lines:,} lines, "
        f"total {summary.total} yuan; {elapsed / units * 1000:.1f} ms and "
        f"{queries / units:.2f} queries per unit"
    )
    summary, elapsed, queries = timed(
        "bills_generate_all again (idempotent, nothing changed)",
        lambda: bills_generate_all(month=MONTH, region=region),
    )
    print(f"    → {summary.unchanged:,} unchanged; {queries / units:.2f} queries per unit")
    small = max(1, units // 10)
    print(f"  queries per unit do not depend on the staff size ({small} units):")
    for size in (10, per_unit * 3):
        region_x, period_x = make_region(f"13{size:04d}", f"规模{size}(基准测试)")
        some = make_units(region_x, small, 100_000 + size * 1000)
        staff(
            [(unit, size) for unit in some], period_x, rng, first_serial + 2_000_000 + size * 10_000
        )
        summary, _e, queries = timed(
            f"bills_generate_all, {small} units × {size} employees",
            lambda region_x=region_x: bills_generate_all(month=MONTH, region=region_x),
            written,
        )
        print(f"    → {queries / small:.2f} queries per unit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--units", type=int, default=1_000)
    parser.add_argument("--per-unit", type=int, default=100)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    os.environ["DATABASE_URL"] = url
    name = recreate_database(url)
    print(f"database {name} dropped and created")
    from benchdb import django_setup

    django_setup(url)
    print(machine_facts())
    rng = random.Random(20260801)
    first = part_a(args.persons, rng)
    part_b(args.units, args.per_unit, args.persons, rng)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\ntarget: a bill for {args.persons:,} employees under {TARGET_S:.0f} s: "
        f"{'met' if first < TARGET_S else 'NOT met'} ({first:.2f} s); "
        f"load average {load} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
