"""Benchmark: 批量增员 of 10,000 rows, validation and filing creation end to end, on PostgreSQL.

    .venv/bin/python bench/batch_add.py [--rows 10000]

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

    from enrollment.batch import DATA_SHEET, HEADERS

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
    from contributions.services import policy_seed_demo
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


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def run(agent, data: bytes, label: str):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection

    from enrollment.batch import batch_import_create, batch_process

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        upload = SimpleUploadedFile("名单.xlsx", data)
        batch = batch_import_create(agent=agent, file=upload)
        uploaded = time.perf_counter()
        batch = batch_process(batch.pk)
        finished = time.perf_counter()
    total = finished - started
    rows = batch.total_rows
    print(
        f"{label}: {rows} rows in {total:.2f} s (upload check {uploaded - started:.2f} s, "
        f"processing {finished - uploaded:.2f} s), {rows / total:.0f} rows/s, "
        f"{counter.count} SQL statements ({counter.count / max(rows, 1):.1f} per row); "
        f"status {batch.status}, created {batch.created_count}, "
        f"duplicates {batch.duplicate_count}, errors {batch.error_count}"
    )
    return batch, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
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

    first, seconds = run(agent, data, "first upload ")
    filings = AddEmployeeFiling.objects.count()
    second, _ = run(agent, data, "second upload")
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
