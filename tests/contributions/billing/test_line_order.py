"""A bill's lines in page order (BillLine.position), numbered when the lines are written and
when a person's name changes: always the order the detail page sorted them in before
(person name, person, insurance type), on SQLite and PostgreSQL alike."""

import datetime
import importlib
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import OuterRef, Subquery

from contributions.billing.engine import bill_generate, bill_generate_outcome
from contributions.billing.line_order import bill_lines_number
from contributions.billing.selectors import _type_rank, bill_lines_page
from contributions.common import TYPE_ORDER
from contributions.models import BillLine, BillStatus, InsuranceType, MonthlyBill
from enrollment.add.bulk import person_prepare
from enrollment.add.services import CheckedPerson
from enrollment.models import EmploymentForm, Enrolment, HukouType, Person, PersonChangeFiling
from enrollment.personchange.services import person_change_submit
from portal.review import review_decide
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.enrollment.add_helpers import jpg_bytes, upload
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_clerk

pytestmark = pytest.mark.django_db

AUG = datetime.date(2026, 8, 1)
SEP = datetime.date(2026, 9, 1)
# Created in this order: the names sort neither as the ids nor backwards; two persons share a
# name (their order is then the person's id); each has two insurance types, written by the
# engine in TYPE_ORDER but asked for here the other way round.
NAMES = ("王五", "Zoe", "李四", "阿明", "王五", "张三", "adam")
TWO_TYPES = ("410", "110")  # work injury and pension


def old_order(bill) -> list[int]:
    """The line ids in the order the page sorted them before positions: each line's person name
    read in a subquery, then person, insurance type (and id for a person billed twice)."""
    name = Person.objects.filter(pk=OuterRef("person_id")).values("name")[:1]
    return list(
        BillLine.objects.filter(bill=bill)
        .annotate(person_name=Subquery(name), rank=_type_rank())
        .order_by("person_name", "person_id", "rank", "pk")
        .values_list("pk", flat=True)
    )


def stored_order(bill) -> list[int]:
    return list(
        BillLine.objects.filter(bill=bill).order_by("position").values_list("pk", flat=True)
    )


def assert_in_page_order(bill) -> None:
    expected = old_order(bill)
    assert expected and stored_order(bill) == expected
    positions = BillLine.objects.filter(bill=bill).values_list("position", flat=True)
    assert len(set(positions)) == len(expected)  # no ties left to chance


@pytest.fixture
def unit():
    employer, agent, period, _none = create_unit_with_staff(0)
    enrolments = [
        create_enrolment(employer, name=name, insurance_codes=TWO_TYPES) for name in NAMES
    ]
    return employer, agent, enrolments


def test_the_engines_lines_are_numbered_in_page_order(unit):
    employer, _agent, _enrolments = unit
    bill = bill_generate(employer=employer, month=AUG)
    assert_in_page_order(bill)
    positions = list(
        BillLine.objects.filter(bill=bill).order_by("position").values_list("position", flat=True)
    )
    assert positions == list(range(1, 2 * len(NAMES) + 1))
    # Not simply the order of the enrolments (the engine's) nor of the persons.
    persons = list(
        BillLine.objects.filter(bill=bill).order_by("position").values_list("person_id", flat=True)
    )
    assert persons != sorted(persons)


def test_a_person_billed_twice_in_a_bill_keeps_the_same_order_either_way(unit):
    employer, _agent, enrolments = unit
    first = enrolments[5]  # 张三, with a second enrolment still billed for August
    Enrolment.objects.filter(pk=first.pk).update(
        status=Enrolment.Status.TERMINATED, last_contribution_month=AUG
    )
    Enrolment.objects.create(
        person_id=first.person_id,
        employer=employer,
        employment_form=first.employment_form,
        insurance_codes=["110", "310"],
        start_month=AUG,
        contribution_base=Decimal("7000.00"),
        status=Enrolment.Status.ACTIVE,
    )
    bill = bill_generate(employer=employer, month=AUG)  # numbered as written
    assert_in_page_order(bill)
    written = stored_order(bill)
    BillLine.objects.filter(bill=bill).update(position=0)
    bill_lines_number([bill.pk])  # numbered afterwards
    assert stored_order(bill) == written


def test_regenerating_with_a_few_lines_changed_keeps_page_order(unit):
    employer, _agent, enrolments = unit
    bill = bill_generate(employer=employer, month=AUG)
    before = set(stored_order(bill))
    create_enrolment(employer, name="陈一", insurance_codes=TWO_TYPES)  # lines added
    Enrolment.objects.filter(pk=enrolments[1].pk).update(  # lines removed
        status=Enrolment.Status.SUSPENDED, last_contribution_month=None
    )
    Enrolment.objects.filter(pk=enrolments[2].pk).update(contribution_base=Decimal("9000.00"))
    result = bill_generate_outcome(employer=employer, month=AUG)
    assert result.outcome == "replaced" and result.bill.pk == bill.pk
    after = set(stored_order(bill))
    assert before & after and before - after and after - before  # lines kept, removed, added
    assert_in_page_order(bill)


def test_regenerating_with_most_lines_changed_keeps_page_order(unit):
    employer, _agent, enrolments = unit
    bill = bill_generate(employer=employer, month=AUG)
    Enrolment.objects.filter(employer=employer).update(contribution_base=Decimal("9000.00"))
    result = bill_generate_outcome(employer=employer, month=AUG)
    assert result.outcome == "replaced"
    assert_in_page_order(bill)


def test_a_supplement_bills_lines_are_numbered_too(unit):
    employer, _agent, enrolments = unit
    bill = bill_generate(employer=employer, month=AUG)
    MonthlyBill.objects.filter(pk=bill.pk).update(status=BillStatus.CONFIRMED)
    Enrolment.objects.filter(employer=employer).update(contribution_base=Decimal("9000.00"))
    supplement = bill_generate(employer=employer, month=AUG)
    assert supplement.pk != bill.pk
    assert_in_page_order(supplement)


def test_a_renamed_person_moves_in_every_bill_holding_the_persons_lines(unit):
    employer, agent, enrolments = unit
    august = bill_generate(employer=employer, month=AUG)
    september = bill_generate(employer=employer, month=SEP)
    untouched = stored_order(august)
    enrolment = enrolments[3]  # 阿明: from the middle to the end
    filing = person_change_submit(
        agent=agent,
        enrolment_id=enrolment.pk,
        idempotency_key=uuid.uuid4(),
        name="一",
        phone="",
        hukou_type=HukouType.LOCAL_URBAN,
        employment_form=EmploymentForm.objects.get(region=None, code="11"),
        reason="登记时姓名录入错误",
        scan=upload("户口簿.jpg", jpg_bytes(), "image/jpeg"),
    )
    review_decide(model=PersonChangeFiling, pk=filing.pk, actor=create_clerk(), decision="approve")
    assert Person.objects.get(pk=enrolment.person_id).name == "一"
    assert stored_order(august) != untouched
    assert_in_page_order(august)
    assert_in_page_order(september)


def test_a_known_person_added_again_under_a_new_name_moves(unit):
    employer, _agent, enrolments = unit
    bill = bill_generate(employer=employer, month=AUG)
    untouched = stored_order(bill)
    person = Person.objects.get(pk=enrolments[0].person_id)  # 王五, the first of two
    checked = CheckedPerson(
        document_type=person.document_type,
        document_number=person.document_number,
        sex=person.sex,
        birth_date=person.birth_date,
        start_month=AUG,
        employment_form=EmploymentForm.objects.get(region=None, code="11"),
        insurance_codes=list(TWO_TYPES),
        person=person,
    )
    person_prepare(
        checked,
        name="Aaron",
        nationality=person.nationality,
        hukou_type=person.hukou_type,
        phone="",
    )
    assert stored_order(bill) != untouched
    assert_in_page_order(bill)


def test_the_page_reads_the_lines_in_page_order(unit, monkeypatch):
    employer, _agent, _enrolments = unit
    bill = bill_generate(employer=employer, month=AUG)
    monkeypatch.setattr("contributions.billing.selectors.LINE_PAGE_SIZE", 3)
    lines = BillLine.objects.in_bulk(old_order(bill))
    labels = dict(InsuranceType.choices)
    expected = [
        (lines[pk].enrolment_id, str(labels[lines[pk].insurance_type])) for pk in old_order(bill)
    ]
    shown, number = [], 1
    while True:
        page = bill_lines_page(bill, number)
        shown += [(row.enrolment_id, row.type_label) for row in page]
        if not page.has_next():
            break
        number += 1
    assert number == 5 and shown == expected


def test_the_migration_numbers_existing_lines_as_the_engine_does(unit):
    employer, _agent, enrolments = unit
    bills = [
        bill_generate(employer=employer, month=AUG),
        create_bill(employer, SEP, enrolments, status=BillStatus.SETTLED),
    ]
    BillLine.objects.update(position=0)
    migration = importlib.import_module("contributions.migrations.0011_bill_line_position")
    with connection.cursor() as cursor:
        cursor.execute(migration.FILL_POSITIONS)
    for bill in bills:
        assert_in_page_order(bill)
    assert migration.FILL_POSITIONS.count("WHEN") == len(TYPE_ORDER)
