"""The roster export reads the document number's and the phone's envelopes and the insurance
codes' JSON as stored (enrollment.roster.exports.STORED_AS_TEXT): masked through
portal.crypto.masked_many, decrypted row by row for a full export. The same rows, CSV bytes and
workbook cells as the ORM's decrypted and parsed values gave (the rows as built before, kept
here), on this database, with the same queries."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from openpyxl import load_workbook

from enrollment.models import Enrolment, InsuranceCode, Person
from enrollment.roster.exports import (
    _insurance_text,
    _labels,
    _month_text,
    _safe,
    roster_csv_chunks,
    roster_export_rows,
    roster_xlsx,
)
from portal import crypto
from portal.identifiers import mask_id_number, mask_phone
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_employer
from tests.portal.helpers_pii import KEY_1, KEY_2, KEYS_ROTATED

pytestmark = pytest.mark.django_db

CODE_SETS = [["110", "210", "310", "410"], ["410"], ["110", "310"], [], ["210", "410"]]


def old_export_rows(queryset, *, full: bool):
    """The rows as roster_export_rows built them before: the ORM decrypting the envelopes and
    parsing the JSON for every row."""
    rows = queryset.order_by("pk").values_list(
        "person__name",
        "person__document_type",
        "person__document_number",
        "person__sex",
        "person__phone",
        "person__hukou_type",
        "employment_form__name",
        "insurance_codes",
        "start_month",
        "contribution_base",
        "status",
        "last_contribution_month",
        "person__birth_date",
    )
    insurance = {value: str(label) for value, label in InsuranceCode.choices}
    document_types = _labels(Person, "document_type")
    sexes = _labels(Person, "sex")
    hukou_types = _labels(Person, "hukou_type")
    statuses = _labels(Enrolment, "status")
    for (
        name,
        document_type,
        document_number,
        sex,
        phone,
        hukou_type,
        employment_form,
        codes,
        start_month,
        contribution_base,
        status,
        last_month,
        birth_date,
    ) in rows.iterator(chunk_size=2000):
        row = [
            _safe(name),
            document_types.get(document_type, document_type),
            document_number if full else mask_id_number(document_number),
            sexes.get(sex, sex),
            (phone if full else (mask_phone(phone) if phone else "")) or "",
            hukou_types.get(hukou_type, hukou_type),
            employment_form,
            _insurance_text(tuple(codes), insurance),
            _month_text(start_month),
            contribution_base,
            statuses[status],
            _month_text(last_month) if last_month else "",
        ]
        if full:
            row.insert(4, birth_date.isoformat())
        yield row


@pytest.fixture
def employer():
    return create_employer()


@pytest.fixture
def enrolments(employer):
    made = []
    for index in range(23):
        enrolment = create_enrolment(
            employer,
            name=["王{}", "=SUM({})", "-{}", "李,{}", '"张"{}'][index % 5].format(index),
            insurance_codes=CODE_SETS[index % len(CODE_SETS)],
            start_month=datetime.date(2024, 1 + index % 12, 1),
            status=Enrolment.Status.values[index % len(Enrolment.Status.values)],
        )
        if index % 3 == 0:
            enrolment.last_contribution_month = datetime.date(2025, 1 + index % 12, 1)
            enrolment.save()
        if index % 4 == 0:  # no phone
            Person.objects.filter(pk=enrolment.person_id).update(phone="")
        made.append(enrolment)
    # A lower-case check character typed in: stored normalised, printed as the ORM value was.
    made.append(create_enrolment(employer, name="赵x", document_number="11010519491231002x"))
    return made


def csv_bytes(rows, *, full: bool) -> bytes:
    return "".join(roster_csv_chunks(rows, full=full)).encode()


def xlsx_cells(rows, *, full: bool) -> list[list]:
    sheet = load_workbook(roster_xlsx(rows, full=full), read_only=True).worksheets[0]
    return [[(cell.value, cell.number_format) for cell in row] for row in sheet.iter_rows()]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("full", [False, True])
def test_rows_csv_and_workbook_are_what_the_orm_values_gave(employer, enrolments, full, language):
    queryset = Enrolment.objects.filter(employer=employer)
    with translation.override(language):
        old = list(old_export_rows(queryset, full=full))
        new = list(roster_export_rows(queryset, full=full))
        assert new == old and len(new) == len(enrolments)
        assert list(roster_export_rows(queryset, full=full)) == old  # again, from the caches
        assert csv_bytes(iter(new), full=full) == csv_bytes(iter(old), full=full)
        assert xlsx_cells(iter(new), full=full) == xlsx_cells(iter(old), full=full)
        labels = {value: str(label) for value, label in InsuranceCode.choices}
    numbers = {row[2] for row in new}
    if full:
        assert "11010519491231002X" in numbers
    else:
        assert "110105********002X" in numbers and all("*" in number for number in numbers)
    phones = [row[5 if full else 4] for row in new]
    assert "" in phones and all(phones[1:4])
    assert {row[8 if full else 7] for row in new} == {
        _insurance_text(tuple(codes), labels) for codes in CODE_SETS
    }


@pytest.mark.parametrize("full", [False, True])
def test_the_same_queries_as_before(employer, enrolments, full):
    queryset = Enrolment.objects.filter(employer=employer)
    with CaptureQueriesContext(connection) as old:
        list(old_export_rows(queryset, full=full))
    with CaptureQueriesContext(connection) as new:
        list(roster_export_rows(queryset, full=full))
    assert len(new.captured_queries) == len(old.captured_queries)


def test_a_full_export_keeps_no_plain_value(employer, enrolments):
    queryset = Enrolment.objects.filter(employer=employer)
    list(roster_export_rows(queryset, full=False))
    masked = dict(crypto._MASKED[1])
    full = list(roster_export_rows(queryset, full=True))
    assert crypto._MASKED[1] == masked  # nothing remembered by the full export
    plain = {row[2] for row in full} | {row[5] for row in full if row[5]}
    assert plain and not plain & set(crypto._MASKED[1].values())


def test_rows_follow_a_key_rotation(settings, employer):
    settings.PII_ENCRYPTION_KEYS = KEY_1
    old = create_enrolment(employer, document_number="11010519491231002X")
    settings.PII_ENCRYPTION_KEYS = KEYS_ROTATED
    create_enrolment(employer, document_number="440524188001010014")
    queryset = Enrolment.objects.filter(employer=employer)
    for full in (False, True):
        assert list(roster_export_rows(queryset, full=full)) == list(
            old_export_rows(queryset, full=full)
        )
    settings.PII_ENCRYPTION_KEYS = KEY_2  # k1 dropped: its rows cannot be exported, as before
    for full in (False, True):
        with pytest.raises(ImproperlyConfigured):
            list(roster_export_rows(queryset.filter(pk=old.pk), full=full))
        with pytest.raises(ImproperlyConfigured):
            list(old_export_rows(queryset.filter(pk=old.pk), full=full))


@pytest.mark.parametrize("full", [False, True])
def test_the_unit_export_compiled_once_gives_the_querysets_rows(employer, enrolments, full):
    from enrollment.roster.exports import roster_export_rows_of_unit

    create_enrolment(create_employer(), name="别的单位")  # another unit's: not exported
    queryset = Enrolment.objects.filter(employer=employer)
    old = list(old_export_rows(queryset, full=full))
    with CaptureQueriesContext(connection) as captured:
        rows = list(roster_export_rows_of_unit(employer.pk, full=full))
    assert rows == old and len(rows) == len(enrolments)
    assert len(captured.captured_queries) == 1
    assert list(roster_export_rows_of_unit(employer.pk, full=full)) == old  # compiled, again


def test_the_page_exports_the_whole_unit_or_the_filtered_rows(client, employer, enrolments):
    from employers.models import Role
    from tests.factories import create_agent

    agent = create_agent(employer, roles=[Role.ENROLMENT])
    client.force_login(agent.user)
    queryset = Enrolment.objects.filter(employer=employer)
    for data, expected in (
        ({}, queryset),
        ({"status": "terminated"}, queryset.filter(status="terminated")),
        ({"q": "王"}, queryset.filter(person__name__contains="王")),
    ):
        body = b"".join(client.post("/enrollment/roster/export.csv", data).streaming_content)
        assert body == csv_bytes(old_export_rows(expected, full=False), full=False)
