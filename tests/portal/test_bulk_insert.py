"""portal.bulk_insert: a few rows in one INSERT, many by COPY on PostgreSQL; ids set either way."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.audit import audit_event
from portal.bulk_insert import COPY_MIN_ROWS, insert_many
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def events(count: int) -> list[AuditEvent]:
    return [audit_event(action=f"test.row{index}") for index in range(count)]


def test_a_few_rows_go_in_one_insert_and_get_their_ids():
    rows = events(COPY_MIN_ROWS - 1)
    with CaptureQueriesContext(connection) as queries:
        insert_many(AuditEvent, rows)
    assert [query["sql"].split()[0] for query in queries] == ["INSERT"]
    assert [row.pk for row in rows] == sorted(
        AuditEvent.objects.filter(action__startswith="test.row").values_list("pk", flat=True)
    )


def test_many_rows_go_by_copy_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    rows = events(COPY_MIN_ROWS)
    with CaptureQueriesContext(connection) as queries:
        insert_many(AuditEvent, rows)
    # The ids come from the sequence; the COPY itself goes past the cursor's execute().
    assert [query["sql"].split()[0] for query in queries] == ["SELECT"]
    stored = AuditEvent.objects.filter(pk__in=[row.pk for row in rows])
    assert sorted(stored.values_list("action", flat=True)) == sorted(row.action for row in rows)
