"""Benchmark: 缴费基数申报 for a unit of 10,000 employees by Excel, and the 500-row screen.

    .venv/bin/python bench/declarations.py [--persons 10000]

Drops and creates the database named in DATABASE_URL (default bench_declarations on
127.0.0.1), seeds a unit with ``--persons`` active enrolments and last year's bases, and a
unit of 500 for the on-screen table. Through the test client, as an agent would, it times the
template download, the upload of that template (content check, read, match, submit and apply in
a region without review) and the 500-row screen page, with the SQL statement count of each.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchdb import django_setup, machine_facts, recreate_database  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_declarations"
BATCH = 2000


def resident_id(index: int) -> str:
    from portal.identifiers import resident_id_check_char

    birth = datetime.date(1970, 1, 1) + datetime.timedelta(days=index // 900 * 37)
    first17 = f"110105{birth:%Y%m%d}{index % 900 + 100:03d}"
    return first17 + resident_id_check_char(first17)


def seed_unit(employer, count: int, previous, first_serial: int) -> None:
    from django.db import transaction

    from contributions.models import ContributionBase
    from enrollment.models import EmploymentForm, Enrolment, HukouType, Person

    form = EmploymentForm.objects.get(region=None, code="11")
    for offset in range(0, count, BATCH):
        size = min(BATCH, count - offset)
        with transaction.atomic():
            persons = Person.objects.bulk_create(
                [
                    Person(
                        name=f"职工{first_serial + offset + i}",
                        document_number=resident_id(first_serial + offset + i),
                        sex=Person.Sex.MALE,
                        birth_date=datetime.date(1980, 1, 1),
                        hukou_type=HukouType.LOCAL_URBAN,
                    )
                    for i in range(size)
                ]
            )
            enrolments = Enrolment.objects.bulk_create(
                [
                    Enrolment(
                        person=person,
                        employer=employer,
                        employment_form=form,
                        insurance_codes=["110", "210", "310", "410"],
                        start_month=datetime.date(2020, 1, 1),
                        contribution_base=Decimal("8000"),
                        status=Enrolment.Status.ACTIVE,
                    )
                    for person in persons
                ]
            )
            ContributionBase.objects.bulk_create(
                [
                    ContributionBase(
                        enrolment=e, period=previous, base=Decimal(7200 + (e.pk % 28000))
                    )
                    for e in enrolments
                ]
            )


def timed(label: str, call):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        result = call()
        elapsed = time.perf_counter() - started
    print(f"{label}: {elapsed:.2f} s, {len(captured.captured_queries)} SQL statements")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=10_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    print(f"database {recreate_database(url)} dropped and created")
    django_setup(url)
    print(machine_facts())

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from contributions.models import (
        BaseDeclaration,
        ContributionBase,
        RegionContributionSettings,
    )
    from employers.models import Role
    from tests.contributions.factories import make_period
    from tests.factories import create_agent, create_employer

    big = create_employer(name="申报基准大单位有限公司")
    small = create_employer(name="申报基准小单位有限公司")
    RegionContributionSettings.objects.update_or_create(
        region=big.region, defaults={"declaration_requires_review": False}
    )
    previous = make_period(
        big.region,
        starts_on=datetime.date(2025, 7, 1),
        ends_on=datetime.date(2026, 6, 30),
        base_lower="6821.00",
        base_upper="34108.00",
    )
    period = make_period(big.region)
    started = time.perf_counter()
    seed_unit(big, args.persons, previous, 0)
    seed_unit(small, 500, previous, args.persons)
    print(f"seeded {args.persons + 500:,} enrolments in {time.perf_counter() - started:.0f} s")

    client = Client()
    client.force_login(create_agent(big, roles=[Role.CONTRIBUTIONS]).user)
    base = "/contributions/declarations/"
    response = timed(
        f"template of {args.persons:,} rows",
        lambda: client.get(f"{base}template.xlsx?period={period.pk}"),
    )
    assert response.status_code == 200
    content = response.content
    response = timed(
        f"upload of {args.persons:,} rows (check, match, submit, apply)",
        lambda: client.post(
            f"{base}upload/",
            {
                "period": period.pk,
                "idempotency_key": str(uuid.uuid4()),
                "file": SimpleUploadedFile("bench.xlsx", content),
            },
        ),
    )
    assert response.status_code == 302, response.status_code
    declaration = BaseDeclaration.objects.get(employer=big)
    applied = ContributionBase.objects.filter(period=period, declaration=declaration).count()
    print(f"  declaration {declaration.reference}: {applied:,} bases applied")
    response = timed(
        f"second upload of {args.persons:,} rows (every base updated)",
        lambda: client.post(
            f"{base}upload/",
            {
                "period": period.pk,
                "idempotency_key": str(uuid.uuid4()),
                "file": SimpleUploadedFile("bench.xlsx", content),
            },
        ),
    )
    assert response.status_code == 302, response.status_code
    second = BaseDeclaration.objects.filter(employer=big).exclude(pk=declaration.pk).get()
    applied = ContributionBase.objects.filter(period=period, declaration=second).count()
    print(f"  declaration {second.reference}: {applied:,} bases updated")

    client.force_login(create_agent(small, roles=[Role.CONTRIBUTIONS]).user)
    client.get(f"{base}?period={period.pk}")
    response = timed("screen page, 500 rows", lambda: client.get(f"{base}?period={period.pk}"))
    assert response.content.count(b'name="base_') == 500


if __name__ == "__main__":
    main()
