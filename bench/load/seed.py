"""Seed a province slice for bench/load with COPY: units, persons, enrolments, bills and lines.

Used by run.py (the load benchmark) and growth.py (the tenfold-growth benchmark). The unit
accounts come from bench/bills.py (make_units), the names and ID numbers from bench/roster.py,
and the bills with their lines from the logic of bench/records.py (seed_bills); persons and
enrolments are written here with COPY instead of bulk_create, so that a million persons take
minutes. Each field's value is what Django would write (encrypted ID number, blind index,
insurance bitmap), taken from the model fields themselves.
"""

from __future__ import annotations

import datetime
import json
import random
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCH_DIR))

META_TABLE = "bench_load_meta"
REGION_CODE = "990000"
REGION_NAME = "负载测试省(基准测试)"
BIG_UNIT_NAME = "负载测试大单位"
CENT = Decimal("0.01")
RATES = {  # employer, personal (demo figures; 工伤 class 1), as bench/records.py
    "pension": (Decimal("0.16"), Decimal("0.08")),
    "medical": (Decimal("0.098"), Decimal("0.02")),
    "unemployment": (Decimal("0.005"), Decimal("0.005")),
    "work_injury": (Decimal("0.002"), Decimal("0")),
}
# Serials for ID numbers: persons of seeded units, then the add-employee POSTs of each run.
ADD_SERIAL_BASE = 12_000_000


def add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def bill_months(count: int) -> list[datetime.date]:
    """The ``count`` months before the current one, oldest first (the current one is open)."""
    from django.utils import timezone

    this_month = timezone.localdate().replace(day=1)
    return [add_months(this_month, -offset) for offset in range(count, 0, -1)]


# Metadata: what is seeded, so that a second run reuses it -----------------------------------------


def meta_get(key: str):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key text PRIMARY KEY, value jsonb NOT NULL)"
        )
        cursor.execute(f"SELECT value FROM {META_TABLE} WHERE key = %s", [key])
        row = cursor.fetchone()
    if row is None:
        return None
    return json.loads(row[0]) if isinstance(row[0], str) else row[0]


def meta_set(key: str, value) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key text PRIMARY KEY, value jsonb NOT NULL)"
        )
        cursor.execute(
            f"INSERT INTO {META_TABLE} (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [key, json.dumps(value)],
        )


# COPY --------------------------------------------------------------------------------------------


def reserve_ids(model, count: int) -> int:
    """Advance the table's id sequence by ``count``; return the first id reserved."""
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            "nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
            [table, table, count],
        )
        last = cursor.fetchone()[0]
    return last - count + 1


def copy_objects(model, objects: list) -> None:
    """Write model instances with COPY, each value prepared by its field the way save() does
    (ids must be set already)."""
    from django.db import connection

    fields = list(model._meta.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with connection.cursor() as cursor:
        raw = cursor.connection  # psycopg 3
        with raw.cursor().copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                copy.write_row(
                    [
                        field.get_db_prep_save(field.pre_save(obj, True), connection)
                        for field in fields
                    ]
                )


def copy_staff(assignments: list[tuple], first_serial: int, rng, batch: int = 20_000) -> int:
    """Persons with active enrolments: assignments = [(unit, count)]; returns the next serial."""
    from django.db import transaction
    from django.utils import timezone
    from roster import CODE_SETS, GIVEN, SURNAMES, resident_id

    from enrollment.models import EmploymentForm, Enrolment, HukouType, Person

    form = EmploymentForm.objects.get(region=None, code="11")
    code_sets = [codes for codes, _weight in CODE_SETS]
    weights = [weight for _codes, weight in CODE_SETS]
    now = timezone.now()
    serial = first_serial
    pending: list[tuple] = []

    def flush():
        person_id = reserve_ids(Person, len(pending))
        enrolment_id = reserve_ids(Enrolment, len(pending))
        persons, enrolments = [], []
        for offset, (unit, number) in enumerate(pending):
            document = resident_id(number)
            person = Person(
                id=person_id + offset,
                name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                document_number=document,
                sex=Person.Sex.MALE if int(document[16]) % 2 else Person.Sex.FEMALE,
                birth_date=datetime.date(
                    int(document[6:10]), int(document[10:12]), int(document[12:14])
                ),
                hukou_type=HukouType.LOCAL_URBAN,
                created_at=now,
                updated_at=now,
            )
            persons.append(person)
            enrolments.append(
                Enrolment(
                    id=enrolment_id + offset,
                    person_id=person.id,
                    employer_id=unit.pk,
                    employment_form_id=form.pk,
                    insurance_codes=rng.choices(code_sets, weights)[0],
                    start_month=datetime.date(2015 + rng.randrange(10), rng.randrange(12) + 1, 1),
                    contribution_base=Decimal(7162 + rng.randrange(20000)),
                    status=Enrolment.Status.ACTIVE,
                    created_at=now,
                    updated_at=now,
                )
            )
        with transaction.atomic():
            copy_objects(Person, persons)
            copy_objects(Enrolment, enrolments)
        pending.clear()

    for unit, count in assignments:
        for _ in range(count):
            pending.append((unit, serial))
            serial += 1
            if len(pending) >= batch:
                flush()
    if pending:
        flush()
    return serial


def copy_bills(units: list, months: list[datetime.date]) -> int:
    """One bill per unit and month with four lines per active enrolment (bench/records.py's
    seed_bills for many units at once): the last month debited, the others settled; each bill
    keeps its per-type sums (type_totals) as the billing engine writes them. Returns the lines."""
    from django.db import connection, transaction
    from django.utils import timezone

    from contributions.billing.line_order import bill_lines_number
    from contributions.common import new_reference
    from contributions.models import BillLine, MonthlyBill, PolicyPeriod
    from enrollment.models import Enrolment

    unit_ids = [unit.pk for unit in units]
    staff: dict[int, list] = {}
    for row in (
        Enrolment.objects.filter(employer_id__in=unit_ids, status="active")
        .order_by()
        .values_list("employer_id", "pk", "person_id", "contribution_base")
        .iterator(chunk_size=20_000)
    ):
        staff.setdefault(row[0], []).append(row[1:])
    region_ids = {unit.region_id for unit in units}
    periods = {
        (region_id, month): PolicyPeriod.objects.get(
            region_id=region_id, starts_on__lte=month, ends_on__gte=month
        )
        for region_id in region_ids
        for month in months
    }
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
    amounts: dict = {}
    count = 0
    now = timezone.now()
    for start in range(0, len(units), 200):
        chunk = units[start : start + 200]
        with transaction.atomic():
            bills = []
            for unit in chunk:
                for index, month in enumerate(months):
                    period = periods[(unit.region_id, month)]
                    last = index == len(months) - 1
                    bills.append(
                        MonthlyBill(
                            reference=new_reference("HD"),
                            employer=unit,
                            month=month,
                            period=period,
                            base_lower=period.base_lower,
                            base_upper=period.base_upper,
                            status="debited" if last else "settled",
                            person_count=len(staff.get(unit.pk, ())),
                            due_on=month.replace(day=28),
                            generated_at=now,
                        )
                    )
            MonthlyBill.objects.bulk_create(bills)
            with connection.cursor() as cursor:
                raw = cursor.connection
                sql = f"COPY {BillLine._meta.db_table} ({', '.join(columns)}) FROM STDIN"
                with raw.cursor().copy(sql) as copy:
                    for bill in bills:
                        per_type: dict[str, list] = {}
                        for enrolment_id, person_id, base in staff.get(bill.employer_id, ()):
                            base = min(max(Decimal(base), bill.base_lower), bill.base_upper)
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
                                        bill.employer_id,
                                        bill.month,
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
                                    kind, [0, Decimal(0), Decimal(0), Decimal(0)]
                                )
                                sums[0] += 1
                                sums[1] += employer_amount
                                sums[2] += personal_amount
                                sums[3] += base
                        bill.employer_total = sum((v[1] for v in per_type.values()), Decimal(0))
                        bill.personal_total = sum((v[2] for v in per_type.values()), Decimal(0))
                        bill.total = bill.employer_total + bill.personal_total
                        bill.type_totals = {
                            k: [v[0], f"{v[1]:.2f}", f"{v[2]:.2f}"] for k, v in per_type.items()
                        }
                        # The lines are all of the bill's month (contributions.common.line_sums).
                        bill.line_sums = (
                            {
                                bill.month.isoformat(): {
                                    k: [v[0], f"{v[3]:.2f}", f"{v[1]:.2f}", f"{v[2]:.2f}"]
                                    for k, v in per_type.items()
                                }
                            }
                            if per_type
                            else {}
                        )
            MonthlyBill.objects.bulk_update(
                bills, ["employer_total", "personal_total", "total", "type_totals", "line_sums"]
            )
            # The lines in page order, as the billing engine numbers them (BillLine.position).
            bill_lines_number([bill.pk for bill in bills])
    return count


# The province slice ------------------------------------------------------------------------------


def region_and_periods():
    from contributions.models import PolicyPeriod
    from portal.models import Region
    from tests.contributions.factories import make_period

    region, _ = Region.objects.get_or_create(code=REGION_CODE, defaults={"name": REGION_NAME})
    for starts_on, ends_on in (
        (datetime.date(2025, 7, 1), datetime.date(2026, 6, 30)),
        (datetime.date(2026, 7, 1), datetime.date(2027, 6, 30)),
        (datetime.date(2027, 7, 1), datetime.date(2028, 6, 30)),
    ):
        if not PolicyPeriod.objects.filter(region=region, starts_on=starts_on).exists():
            make_period(region, starts_on, ends_on)
    return region


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def seed_province(*, units: int, per_unit: int, big: int, months: int, agents: int) -> dict:
    """Units × per_unit persons plus one unit of ``big``, ``months`` bills each, and agents for
    the big unit and for ``agents - 1`` of the small ones. Returns the seed description."""
    from bills import make_units

    from employers.models import Employer
    from tests.factories import create_agent

    rng = random.Random(20261204)
    started = time.perf_counter()
    region = region_and_periods()
    (big_unit,) = make_units(region, 1, 0)
    Employer.objects.filter(pk=big_unit.pk).update(name=BIG_UNIT_NAME)
    small = make_units(region, units, 1)
    serial = copy_staff([(big_unit, big)], 0, rng)
    serial = copy_staff([(unit, per_unit) for unit in small], serial, rng)
    persons = big + units * per_unit
    print(f"  {persons:,} persons and enrolments in {time.perf_counter() - started:.0f} s")
    lines = copy_bills([big_unit, *small], bill_months(months))
    print(f"  {lines:,} bill lines in {time.perf_counter() - started:.0f} s")
    agent_units = [big_unit, *small[: max(0, agents - 1)]]
    agent_ids = []
    for index, unit in enumerate(agent_units):
        agent = create_agent(unit, name=f"负载经办{index}")
        agent_ids.append(agent.pk)
    vacuum_analyze()
    print(f"  seeded in {time.perf_counter() - started:.0f} s (then VACUUM ANALYZE)")
    description = {
        "units": units,
        "per_unit": per_unit,
        "big": big,
        "months": months,
        "agents": agent_ids,
        "big_unit": big_unit.pk,
    }
    meta_set("seed", description)
    meta_set("next_serial", serial)
    meta_set("next_unit_serial", units + 1)
    return description


def grow(*, target_persons: int, per_unit: int, months: int) -> int:
    """Add units of ``per_unit`` persons (with bills) in another region until the database holds
    ``target_persons`` persons; returns the persons added."""
    from bills import make_units

    from enrollment.models import Person

    have = Person.objects.count()
    need = target_persons - have
    if need <= 0:
        return 0
    rng = random.Random(have)
    region = region_and_periods()
    serial = meta_get("next_serial") or 200_000
    added = 0
    started = time.perf_counter()
    unit_serial = meta_get("next_unit_serial")
    while added < need:
        count = min(200, -(-(need - added) // per_unit))
        units = make_units(region, count, unit_serial)
        unit_serial += count
        sizes = [min(per_unit, need - added - index * per_unit) for index in range(count)]
        serial = copy_staff(list(zip(units, sizes, strict=True)), serial, rng)
        copy_bills(units, bill_months(months))
        added += sum(sizes)
        meta_set("next_serial", serial)
        meta_set("next_unit_serial", unit_serial)
        rate = added / (time.perf_counter() - started)
        print(f"  grew by {added:,} persons ({rate:,.0f} persons/s with their bills)", flush=True)
    vacuum_analyze()
    return added
