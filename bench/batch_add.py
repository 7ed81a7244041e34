"""Benchmark: 批量增员 of 10,000 rows, validation and filing creation end to end, on PostgreSQL.

    PORTAL_VAR_DIR=/tmp/b .venv/bin/python bench/batch_add.py [--rows 10000] [--phases]
        [--profile FILE]

Drops and creates the database named in DATABASE_URL (default bench_batch on 127.0.0.1),
migrates it, creates a unit with an enrolment agent and the demo policy bounds, and generates a
workbook of valid rows (unique resident IDs, varied 户籍类型, 用工形式 and bases). It then runs
the upload step (batch_import_create: content check, header check, row count, storing the file)
and the import itself (batch_process, in this process, as the worker on the imports queue would),
and prints the seconds, rows per second, SQL statements and the created / duplicate / error
counts. A second upload of the same file must give only duplicates and no new filing.

Celery is not eager here: the review pre-check each filing queues after commit goes to the
in-memory broker, as it would go to Redis for the reviews workers, instead of running inline.
The target is under 20 s for 10,000 rows.

--phases prints the seconds spent in each step (upload check, parse, row checks, the inserts per
table, the report); --profile FILE writes a cProfile of the first upload (profiling inflates
Python-heavy steps several times over). On a loaded machine read the CPU line: the seconds of
this process plus those of its PostgreSQL backend are about what the import takes idle.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchdb import django_setup, machine_facts, recreate_database  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_batch"
TARGET_SECONDS = 20.0
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红梅林"


def resident_id(index: int) -> str:
    """A valid resident ID, unique per index (birth date and sequence vary with it)."""
    from portal.identifiers import resident_id_check_char

    birth = datetime.date(1970, 1, 1) + datetime.timedelta(days=index // 900 * 37)
    sequence = index % 900 + 100
    first17 = f"110105{birth:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


def workbook(rows: int, start_month: str, employment_start: str) -> bytes:
    from openpyxl import Workbook

    from enrollment.batch.template import DATA_SHEET, HEADERS

    rng = random.Random(2026)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(DATA_SHEET)
    sheet.append(HEADERS)
    hukou = ["本市城镇", "本市农村", "外埠城镇", "外埠农村"]
    for index in range(rows):
        part_time = index % 20 == 19
        sheet.append(
            [
                rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
                "居民身份证",
                resident_id(index),
                "",
                "",
                "中国",
                rng.choice(hukou),
                f"139{index:08d}",
                "非全日制" if part_time else rng.choice(["城镇合同制职工", "劳务派遣"]),
                "410" if part_time else "110,210,310,410",
                start_month,
                employment_start,
                rng.randrange(7600, 35000),
            ]
        )
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def seed():
    from contributions.policy.services import policy_seed_demo
    from employers.models import Employer, OpenedAccount, Role
    from employers.services import agent_create, employer_create
    from portal.identifiers import resident_id_check_char, uscc_check_char
    from portal.models import Region

    region, _ = Region.objects.get_or_create(code="110000", defaults={"name": "北京市"})
    policy_seed_demo(region=region)
    uscc17 = "91110108000000001"
    account = OpenedAccount.objects.create(
        ss_number="11000000001",
        uscc=uscc17 + uscc_check_char(uscc17),
        name="批量增员测速有限公司",
        region=region,
        legal_rep_name="王测速",
        opened_on=datetime.date(2015, 1, 1),
    )
    legal17 = "11010519700101001"
    employer = employer_create(
        account=account,
        legal_rep_id_number=legal17 + resident_id_check_char(legal17),
        contact_phone="13800000001",
        bank_name="测试银行",
        bank_account="6222020200009876543",
        bank_account_name="批量增员测速有限公司",
        status=Employer.Status.ACTIVE,
    )
    agent17 = "11010519800101002"
    return agent_create(
        employer=employer,
        name="测速经办人",
        id_number=agent17 + resident_id_check_char(agent17),
        phone="13800000002",
        password="Bench2026pass",
        roles=[Role.ENROLMENT],
    )


def backend_cpu_seconds() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (same machine only)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def run(agent, data: bytes, label: str):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection

    from enrollment.batch.process import batch_import_create, batch_process

    counter = QueryCounter()
    backend_before = backend_cpu_seconds()
    cpu_started = time.process_time()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        upload = SimpleUploadedFile("名单.xlsx", data)
        batch = batch_import_create(agent=agent, file=upload)
        uploaded = time.perf_counter()
        batch = batch_process(batch.pk)
        finished = time.perf_counter()
    cpu = time.process_time() - cpu_started
    backend = backend_cpu_seconds() - backend_before
    total = finished - started
    rows = batch.total_rows
    print(
        f"{label}: {rows} rows in {total:.2f} s (upload check {uploaded - started:.2f} s, "
        f"processing {finished - uploaded:.2f} s), {rows / total:.0f} rows/s, "
        f"{counter.count} SQL statements ({counter.count / max(rows, 1):.1f} per row); "
        f"status {batch.status}, created {batch.created_count}, "
        f"duplicates {batch.duplicate_count}, errors {batch.error_count}"
    )
    # On a loaded machine the wall-clock time says little: CPU seconds of this process and of
    # its PostgreSQL backend are what the import itself cost (their sum is about the idle time
    # when the two do not overlap, which they mostly do not: the import waits for each query).
    print(
        f"  CPU: this process {cpu:.2f} s, PostgreSQL backend {backend:.2f} s, "
        f"sum {cpu + backend:.2f} s"
    )
    return batch, total


class PhaseTimings:
    """Seconds spent in named functions, measured by wrapping them (--phases)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def wrap(self, owner, attribute: str, label: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self.seconds[label] = self.seconds.get(label, 0.0) + elapsed

        setattr(owner, attribute, timed)

    def clear(self) -> None:
        self.seconds.clear()

    def summary(self) -> str:
        return ", ".join(f"{label} {value:.2f} s" for label, value in self.seconds.items())


def time_phases() -> PhaseTimings:
    from enrollment.add import bulk as add_bulk
    from enrollment.batch import checks, process, report

    timings = PhaseTimings()
    # A call goes through the name in its caller's module, so each module's binding is wrapped.
    for attribute, label in [
        ("batch_read_cells", "upload check"),
        ("batch_parse", "parse"),
        ("_existing_filings", "key look-up"),
        ("_known_documents", "known persons"),
        ("add_employee_filings_submit", "filing writes"),
        ("review_submit_many", "  review submission"),
        ("batch_report_workbook", "report"),
    ]:
        for module in (process, checks, add_bulk, report):
            if hasattr(module, attribute):
                timings.wrap(module, attribute, label)
    timings.wrap(checks.BatchChecks, "check", "row checks")

    from portal import bulk_insert

    def timed_insert(owner):
        original_insert = owner.insert_many

        def insert_many(model, objs, *args, **kwargs):
            started = time.perf_counter()
            try:
                return original_insert(model, objs, *args, **kwargs)
            finally:
                label = f"  insert {model.__name__}"
                timings.seconds[label] = timings.seconds.get(label, 0.0) + (
                    time.perf_counter() - started
                )

        owner.insert_many = insert_many

    timed_insert(add_bulk)
    timed_insert(bulk_insert)

    from django.db.models.query import QuerySet

    original = QuerySet.bulk_create

    def bulk_create(self, objs, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(self, objs, *args, **kwargs)
        finally:
            label = f"  bulk_create {self.model.__name__}"
            timings.seconds[label] = timings.seconds.get(label, 0.0) + (
                time.perf_counter() - started
            )

    QuerySet.bulk_create = bulk_create
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--phases", action="store_true", help="also print the seconds spent in each step"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="write a cProfile of the first upload to FILE"
    )
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    name = recreate_database(url)
    print(f"database {name} created")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"  # pre-checks go to the broker, not inline
    django_setup(url)
    os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
    print(machine_facts())

    from django.utils import timezone

    from enrollment.models import AddEmployeeFiling, Enrolment

    agent = seed()
    today = timezone.localdate()
    started = time.perf_counter()
    data = workbook(args.rows, today.strftime("%Y-%m"), today.replace(day=1).isoformat())
    print(
        f"generated a {args.rows}-row workbook ({len(data) / 1024:.0f} KiB) "
        f"in {time.perf_counter() - started:.1f} s"
    )

    timings = time_phases() if args.phases else None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    first, seconds = run(agent, data, "first upload ")
    if args.profile:
        profiler.disable()
        profiler.dump_stats(args.profile)
        print(f"profile written to {args.profile} (profiling slows the run down)")
    if timings is not None:
        print("  steps of the first upload: " + timings.summary())
        timings.clear()
    filings = AddEmployeeFiling.objects.count()
    second, _ = run(agent, data, "second upload")
    if timings is not None:
        print("  steps of the second upload: " + timings.summary())
    assert AddEmployeeFiling.objects.count() == filings, "the second upload created filings"
    assert Enrolment.objects.count() == filings
    print(
        f"filings after both uploads: {filings}; second upload duplicates "
        f"{second.duplicate_count}, created {second.created_count}"
    )
    verdict = "meets" if seconds < TARGET_SECONDS else "MISSES"
    rows = first.total_rows
    print(f"{verdict} the target: {seconds:.2f} s for {rows} rows (target < {TARGET_SECONDS:g} s)")


if __name__ == "__main__":
    main()
