"""A unit's proof from its bills' stored sums (MonthlyBill.line_sums) states what the sums of
its settled lines state: regular bills, supplements (补差), 补缴申请 bills, a person with two
enrolments, unsettled bills left out, bills without stored sums read from their lines."""

from __future__ import annotations

import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum

from contributions.billing.backpay import backpay_bill_create, backpay_figures
from contributions.billing.engine import bill_generate
from contributions.common import add_months
from contributions.models import BillKind, BillLine, BillStatus, ContributionBase, MonthlyBill
from contributions.proofs import content as proof_content
from contributions.proofs.content import proof_content_unit
from enrollment.models import Enrolment
from portal.pdf import in_form_language
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff

pytestmark = pytest.mark.django_db

JUL = datetime.date(2026, 7, 1)
AUG = datetime.date(2026, 8, 1)
SEP = datetime.date(2026, 9, 1)
OCT = datetime.date(2026, 10, 1)
D = Decimal


@in_form_language
def proof_content_unit_from_lines(*, employer, month_from, month_to) -> dict:
    """proof_content_unit as it was before MonthlyBill.line_sums: every settled line summed."""
    cells: dict = {}
    settled = proof_content._settled_lines(employer.pk, month_from, month_to)
    rows = list(
        settled.order_by()
        .values("month", "insurance_type", "bill__kind")
        .annotate(
            base_sum=Sum("base"),
            employer_sum=Sum("employer_amount"),
            personal_sum=Sum("personal_amount"),
            persons=Count("*"),
            first_bill=Min("bill_id"),
            last_bill=Max("bill_id"),
        )
    )
    staff = Enrolment.objects.filter(employer_id=employer.pk).aggregate(
        insured=Count("pk", filter=Q(status=Enrolment.Status.ACTIVE)),
        enrolments=Count("pk"),
        persons=Count("person_id", distinct=True),
    )
    if staff["persons"] != staff["enrolments"] or any(
        row["first_bill"] != row["last_bill"] for row in rows
    ):
        exact = {
            (row["month"], row["insurance_type"], row["bill__kind"]): row["persons"]
            for row in settled.order_by()
            .values("month", "insurance_type", "bill__kind")
            .annotate(persons=Count("person_id", distinct=True))
        }
        for row in rows:
            row["persons"] = exact[(row["month"], row["insurance_type"], row["bill__kind"])]
    rows.sort(key=lambda row: (row["month"], row["insurance_type"], row["bill__kind"]))
    for row in rows:
        key = (row["month"], row["insurance_type"])
        cell = cells.setdefault(
            key, {"base": None, "employer": D(0), "personal": D(0), "persons": 0, "regular": False}
        )
        cell["employer"] += row["employer_sum"]
        cell["personal"] += row["personal_sum"]
        if row["bill__kind"] in proof_content.WHOLE_BASE_KINDS:
            if not cell["regular"]:
                cell["base"], cell["persons"], cell["regular"] = D(0), 0, True
            cell["base"] += row["base_sum"]
            cell["persons"] += row["persons"]
        elif not cell["regular"]:
            cell["base"] = row["base_sum"]
            cell["persons"] = row["persons"]
    return {
        "version": 1,
        "kind": "unit",
        "unit": {**proof_content._unit_entry(employer), "insured_now": staff["insured"]},
        "month_from": proof_content._month_text(month_from),
        "month_to": proof_content._month_text(month_to),
        **proof_content._months_and_totals(month_from, month_to, cells, unit=True),
    }


def sums_from_lines(bill_id: int) -> dict:
    """What MonthlyBill.line_sums should hold, summed from the bill's lines."""
    sums: dict = {}
    for line in BillLine.objects.filter(bill_id=bill_id):
        entry = sums.setdefault(line.month.isoformat(), {}).setdefault(
            line.insurance_type, [0, D(0), D(0), D(0)]
        )
        entry[0] += 1
        entry[1] += line.base
        entry[2] += line.employer_amount
        entry[3] += line.personal_amount
    return {
        month: {k: [n, f"{b:.2f}", f"{e:.2f}", f"{p:.2f}"] for k, (n, b, e, p) in types.items()}
        for month, types in sums.items()
    }


def assert_stored_sums_match_the_lines():
    for pk, stored in MonthlyBill.objects.values_list("pk", "line_sums"):
        assert stored == sums_from_lines(pk), pk


def settle(bill) -> None:
    MonthlyBill.objects.filter(pk=bill.pk).update(status=BillStatus.SETTLED)


def set_base(enrolment, period, base: str) -> None:
    ContributionBase.objects.update_or_create(
        enrolment=enrolment, period=period, defaults={"base": D(base)}
    )


def backpay(employer, enrolment, month, base: str):
    figures = backpay_figures(
        employer=employer,
        person_id=enrolment.person_id,
        month=month,
        base=D(base),
        insurance_codes=enrolment.insurance_codes,
    )
    return backpay_bill_create(
        employer=employer,
        enrolment_id=enrolment.pk,
        month=month,
        figures=figures,
        late_fee=D("12.50"),
        note="补缴",
    )


RANGES = [(JUL, OCT), (AUG, AUG), (SEP, OCT), (add_months(JUL, -6), JUL), (AUG, SEP)]


def assert_same_as_from_lines(employer) -> None:
    for month_from, month_to in RANGES:
        new = proof_content_unit(employer=employer, month_from=month_from, month_to=month_to)
        old = proof_content_unit_from_lines(
            employer=employer, month_from=month_from, month_to=month_to
        )
        assert new == old, (month_from, month_to)


@pytest.fixture
def unit():
    """Bills as the engine and 补缴申请 write them: JUL only 补缴申请 (three bills, two persons),
    AUG regular + two supplements + a 补缴申请, SEP regular, OCT regular left assessed, and a
    confirmed (not settled) supplement of SEP."""
    employer, _agent, period, staff = create_unit_with_staff(4)
    backpay(employer, staff[0], JUL, "9000.00")
    backpay(employer, staff[1], JUL, "12000.00")
    backpay(employer, staff[0], JUL, "1000.00")  # a second 补缴申请 of the month: same person
    august = bill_generate(employer=employer, month=AUG, actor=None)
    settle(august)
    set_base(staff[0], period, "9500.00")
    settle(bill_generate(employer=employer, month=AUG))  # 补差 1
    set_base(staff[1], period, "7000.00")  # below the lower bound: a credit
    set_base(staff[2], period, "20000.00")
    settle(bill_generate(employer=employer, month=AUG))  # 补差 2
    new = Enrolment.objects.create(
        person=create_unit_with_staff(1)[3][0].person,  # a person from elsewhere
        employer=employer,
        employment_form=staff[0].employment_form,
        insurance_codes=["110", "310"],
        start_month=datetime.date(2024, 1, 1),
        contribution_base=D("8800.00"),
        status=Enrolment.Status.TERMINATED,
    )
    backpay(employer, new, AUG, "8800.00")
    settle(MonthlyBill.objects.get(employer=employer, month=AUG, kind=BillKind.BACKPAY))
    for bill in MonthlyBill.objects.filter(employer=employer, month=JUL):
        settle(bill)
    settle(bill_generate(employer=employer, month=SEP))
    set_base(staff[3], period, "10000.00")
    supplement = bill_generate(employer=employer, month=SEP)
    MonthlyBill.objects.filter(pk=supplement.pk).update(status=BillStatus.CONFIRMED)
    bill_generate(employer=employer, month=OCT)  # assessed
    return employer, staff


def test_the_unit_has_every_kind_of_bill(unit):
    employer, _staff = unit
    kinds = set(
        MonthlyBill.objects.filter(employer=employer).values_list("month", "kind", "status")
    )
    assert (JUL, BillKind.BACKPAY, BillStatus.SETTLED) in kinds
    assert (AUG, BillKind.SUPPLEMENT, BillStatus.SETTLED) in kinds
    assert (AUG, BillKind.BACKPAY, BillStatus.SETTLED) in kinds
    assert (SEP, BillKind.SUPPLEMENT, BillStatus.CONFIRMED) in kinds
    assert (OCT, BillKind.REGULAR, BillStatus.ASSESSED) in kinds
    assert MonthlyBill.objects.filter(employer=employer, month=AUG, kind="supplement").count() == 2
    assert_stored_sums_match_the_lines()


def test_proof_from_stored_sums_is_the_proof_from_the_lines(unit):
    employer, _staff = unit
    assert_same_as_from_lines(employer)
    content = proof_content_unit(employer=employer, month_from=JUL, month_to=OCT)
    july, august = content["months"][0], content["months"][1]
    assert july["items"][0]["persons"] == 2  # three 补缴申请 bills of one month, two persons
    assert august["items"][0]["persons"] == 5  # the regular bill's 4 and a 补缴申请
    assert [m["paid"] for m in content["months"]] == [True, True, True, False]


def test_a_person_with_two_enrolments_is_counted_once(unit):
    employer, staff = unit
    again = Enrolment.objects.create(
        person=staff[0].person,
        employer=employer,
        employment_form=staff[0].employment_form,
        insurance_codes=["110"],
        start_month=datetime.date(2020, 1, 1),
        contribution_base=D("8000.00"),
        status=Enrolment.Status.TERMINATED,
    )
    settle(create_bill(employer, SEP, [again, staff[0]], kind=BillKind.SUPPLEMENT, sequence=7))
    assert_stored_sums_match_the_lines()
    assert_same_as_from_lines(employer)
    september = proof_content_unit(employer=employer, month_from=SEP, month_to=SEP)["months"][0]
    assert september["items"][0]["persons"] == 4


def test_bills_without_stored_sums_are_summed_from_their_lines(unit):
    employer, _staff = unit
    settled = MonthlyBill.objects.filter(employer=employer, status=BillStatus.SETTLED)
    MonthlyBill.objects.filter(pk__in=list(settled.values_list("pk", flat=True)[::2])).update(
        line_sums={}
    )
    assert_same_as_from_lines(employer)
    settled.update(line_sums={})
    assert_same_as_from_lines(employer)


def test_the_migration_fills_the_sums_the_engine_writes(unit):
    employer, _staff = unit
    written = dict(MonthlyBill.objects.values_list("pk", "line_sums"))
    MonthlyBill.objects.update(line_sums={})
    migration = importlib.import_module("contributions.migrations.0012_bill_line_sums")
    migration.fill_line_sums(apps, None)
    assert dict(MonthlyBill.objects.values_list("pk", "line_sums")) == written
    assert_same_as_from_lines(employer)


def test_a_regenerated_bill_keeps_its_sums_with_its_lines(unit):
    employer, staff = unit
    october = MonthlyBill.objects.get(employer=employer, month=OCT)
    set_base(staff[1], october.period, "15000.00")  # one line of four: rewritten in place
    bill_generate(employer=employer, month=OCT)
    set_base(staff[0], october.period, "16000.00")
    set_base(staff[2], october.period, "17000.00")
    set_base(staff[3], october.period, "18000.00")  # most lines: all replaced
    bill_generate(employer=employer, month=OCT)
    assert_stored_sums_match_the_lines()
    settle(october)
    assert_same_as_from_lines(employer)


def test_the_load_benchmarks_seed_writes_the_sums_of_its_lines():
    """bench/load/seed.py writes bills and lines itself (COPY, PostgreSQL only)."""
    if connection.vendor != "postgresql":
        pytest.skip("COPY")
    from bench.load import seed

    employer, _agent, period, _staff = create_unit_with_staff(3)
    empty = create_unit_with_staff(0, period=period)[0]  # bills without lines
    assert seed.copy_bills([employer, empty], [JUL, AUG]) == 3 * 4 * 2
    assert MonthlyBill.objects.filter(employer=empty).count() == 2
    assert_stored_sums_match_the_lines()
    settle(MonthlyBill.objects.get(employer=employer, month=AUG))
    assert_same_as_from_lines(employer)
