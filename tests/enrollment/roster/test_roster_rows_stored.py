"""The roster rows read the document number's envelope and the insurance codes' JSON as stored
(enrollment.roster.selectors.STORED_AS_TEXT) and print them through per-process caches: the same
rows as decrypting and parsing them in the ORM gave, on this database."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enrollment.models import Enrolment
from enrollment.roster.selectors import (
    PAGE_SIZE,
    UnitRosterPaginator,
    roster_page,
    roster_row_list,
)
from portal.identifiers import mask_id_number
from portal.templatetags.portal_tags import money
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer
from tests.portal.helpers_pii import KEY_1, KEY_2, KEYS_ROTATED

pytestmark = pytest.mark.django_db

CODE_SETS = [["110", "210", "310", "410"], ["410"], ["110", "310"], [], ["210", "410"]]


@pytest.fixture
def employer():
    return create_employer()


@pytest.fixture
def enrolments(employer):
    made = []
    for index in range(PAGE_SIZE + 7):
        made.append(
            create_enrolment(
                employer,
                name=f"王{index}",
                insurance_codes=CODE_SETS[index % len(CODE_SETS)],
                start_month=datetime.date(2024, 1 + index % 12, 1),
            )
        )
    # A lower-case check character typed in: stored normalised, masked as the ORM value was.
    made.append(create_enrolment(employer, name="李x", document_number="11010519491231002x"))
    return made


def old_cells(ids) -> dict[int, tuple[str, str]]:
    """The masked number and the codes as the rows were built before: the ORM decrypting the
    envelope and parsing the JSON, then mask_id_number and a join."""
    return {
        pk: (mask_id_number(number), " ".join(codes))
        for pk, number, codes in Enrolment.objects.filter(pk__in=ids).values_list(
            "pk", "person__document_number", "insurance_codes"
        )
    }


def cells(rows) -> dict[int, tuple[str, str]]:
    return {row.pk: (row.masked_document_number, row.insurance_codes) for row in rows}


def test_rows_print_what_the_orm_values_gave(enrolments):
    ids = [enrolment.pk for enrolment in enrolments]
    rows = roster_row_list(ids)
    assert len(rows) == len(ids)
    assert cells(rows) == old_cells(ids)
    assert cells(rows)[enrolments[-1].pk] == ("110105********002X", "110 210 310 410")
    assert {row.insurance_codes for row in rows} == {" ".join(codes) for codes in CODE_SETS}
    assert cells(roster_row_list(ids)) == old_cells(ids)  # again, from the caches


def test_every_paginator_prints_the_same_cells(employer, enrolments):
    agent = create_agent(employer)
    unit_pages = UnitRosterPaginator(employer.pk, PAGE_SIZE)
    for number in (1, 2):
        for page in (
            unit_pages.page(number),
            roster_page(agent, number),
            roster_page(agent, number, q="王"),  # a name search
        ):
            rows = page.object_list
            assert rows and cells(rows) == old_cells([row.pk for row in rows])
    found = roster_page(agent, 1, q=enrolments[3].person.document_number).object_list
    assert cells(found) == old_cells([enrolments[3].pk])


def test_a_page_is_still_one_query_and_reads_no_phone(enrolments):
    ids = [enrolment.pk for enrolment in enrolments[:PAGE_SIZE]]
    with CaptureQueriesContext(connection) as captured:
        roster_row_list(ids)
    assert len(captured.captured_queries) == 1
    assert "phone" not in captured.captured_queries[0]["sql"]


def test_rows_follow_a_key_rotation(settings, employer):
    settings.PII_ENCRYPTION_KEYS = KEY_1
    old = create_enrolment(employer, document_number="11010519491231002X")
    assert roster_row_list([old.pk])[0].masked_document_number == "110105********002X"
    settings.PII_ENCRYPTION_KEYS = KEYS_ROTATED
    new = create_enrolment(employer, document_number="440524188001010014")
    rows = roster_row_list([old.pk, new.pk])
    assert cells(rows) == old_cells([old.pk, new.pk])
    settings.PII_ENCRYPTION_KEYS = KEY_2  # k1 dropped: its rows cannot be shown, as before
    with pytest.raises(ImproperlyConfigured):
        roster_row_list([old.pk])
    with pytest.raises(ImproperlyConfigured):
        old_cells([old.pk])
    assert cells(roster_row_list([new.pk])) == old_cells([new.pk])


def test_each_amount_prints_as_money_printed_it(enrolments):
    """A page formats each distinct amount once (by its text): every row still shows what
    portal_tags.money gives for its own value."""
    amounts = ["0.00", "-0.00", "12345.6", "12345.60", "9000", "1234567.89", "0.5", "-3.25"]
    for enrolment, amount in zip(enrolments, amounts * 8, strict=False):
        Enrolment.objects.filter(pk=enrolment.pk).update(contribution_base=Decimal(amount))
    ids = [enrolment.pk for enrolment in enrolments]
    stored = dict(Enrolment.objects.filter(pk__in=ids).values_list("pk", "contribution_base"))
    rows = roster_row_list(ids)
    assert {row.pk: row.contribution_base for row in rows} == {
        pk: money(value) for pk, value in stored.items()
    }
    assert {row.contribution_base for row in rows} >= {"0.00", "12,345.60", "1,234,567.89"}
