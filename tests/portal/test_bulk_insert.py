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


def _events_of(user, prefix: str) -> list[AuditEvent]:
    return [
        audit_event(
            action=f"{prefix}.{index}",
            actor=user,
            employer_id=None,
            details={"index": index, "name": "王芳", "list": [1, "二"], "none": None},
        )
        for index in range(3)
    ]


def _stored(prefix: str) -> list[dict]:
    rows = AuditEvent.objects.filter(action__startswith=prefix).order_by("pk").values()
    return [
        {
            **{key: value for key, value in row.items() if key not in ("id", "created_at")},
            "action": row["action"].split(".", 1)[1],
        }
        for row in rows
    ]


def test_a_few_rows_are_written_as_bulk_create_writes_them(django_user_model):
    user = django_user_model.objects.create_user(username="writer")
    ours, django_s = _events_of(user, "ours"), _events_of(user, "django")
    for event in ours + django_s:
        event.ip_address = "10.0.0.1"
    with CaptureQueriesContext(connection) as queries:
        insert_many(AuditEvent, ours)
    AuditEvent.objects.bulk_create(django_s)
    assert len(queries) == 1 and " VALUES " in queries[0]["sql"]  # one statement, its text ours
    assert _stored("ours.") == _stored("django.") and len(_stored("ours.")) == 3
    stored = list(AuditEvent.objects.filter(action__startswith="ours.").order_by("pk"))
    assert [event.pk for event in ours] == [event.pk for event in stored]
    assert [event.created_at for event in ours] == [event.created_at for event in stored]
    assert all(not event._state.adding and event._state.db == "default" for event in ours)
    # The same statement again (its text kept) takes the new rows' values.
    again = _events_of(user, "again")
    insert_many(AuditEvent, again)
    assert [row["details"] for row in _stored("again.")] == [e.details for e in again]


def test_rows_the_orm_must_write_go_through_bulk_create(monkeypatch):
    from django.db.models.functions import Now

    calls = []
    original = AuditEvent._default_manager.bulk_create
    monkeypatch.setattr(
        AuditEvent._default_manager,
        "bulk_create",
        lambda objs: calls.append(len(objs)) or original(objs),
    )
    with_expression = events(2)
    with_expression[0].created_at = Now()
    insert_many(AuditEvent, with_expression)
    with_pk = events(1)
    with_pk[0].pk = 987_654
    insert_many(AuditEvent, with_pk)
    assert calls == [2, 1]
    assert AuditEvent.objects.filter(pk=987_654).exists()
    assert AuditEvent.objects.get(pk=with_expression[0].pk).created_at is not None


@pytest.mark.parametrize("write", ["insert_many", "bulk_create"])
def test_a_refused_insert_marks_the_enclosing_block_for_rollback_as_bulk_create(write):
    from django.db import IntegrityError, transaction

    from portal.models import WorkdayCalendarYear

    WorkdayCalendarYear.objects.create(year=2040)
    rows = [WorkdayCalendarYear(year=2041), WorkdayCalendarYear(year=2040)]
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            if write == "insert_many":
                insert_many(WorkdayCalendarYear, rows)
            else:
                WorkdayCalendarYear.objects.bulk_create(rows)
        assert transaction.get_connection().needs_rollback
        transaction.set_rollback(True)
    assert list(WorkdayCalendarYear.objects.values_list("year", flat=True)) == [2040]
