"""Inserting many rows of a model at once: PostgreSQL COPY, else bulk_create.

The batch import writes about 70,000 rows for 10,000 persons. Django's bulk_create on PostgreSQL
sends each column as an array literal that psycopg builds in Python (UNNEST), which cost more
than half of the import's writing time; COPY ... FROM STDIN takes the same values through
psycopg's C row formatter. Values are prepared exactly as bulk_create prepares them (related
objects resolved, each field's pre_save — auto_now_add, the blind index, derived columns — then
get_db_prep_save, so encryption and JSON go through the fields' own code), and primary keys are
taken from the table's sequence first, so the objects come back with their ids as from
bulk_create. Other databases (SQLite in tests) use bulk_create itself, and so do a few rows on
PostgreSQL: one INSERT ... RETURNING is one round trip where COPY takes two (the sequence, then
the rows), and a form's filing writes a row at a time into five tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, router
from django.utils import timezone
from psycopg import sql

# Below this many rows an INSERT costs less than the sequence's round trip and a COPY.
COPY_MIN_ROWS = 10


def insert_many(model, objs: Sequence) -> list:
    """Insert new ``objs`` of ``model`` and set their primary keys; return them."""
    objs = list(objs)
    if not objs:
        return objs
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql" or len(objs) < COPY_MIN_ROWS:
        return model._default_manager.bulk_create(objs)
    meta = model._meta
    pk = meta.pk
    fields = [field for field in meta.concrete_fields if field is not pk]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk.column, len(objs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    rows = []
    for obj, new_id in zip(objs, ids, strict=True):
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
        setattr(obj, pk.attname, new_id)
        row = [new_id]
        for field in fields:
            row.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
        rows.append(row)
    statement = sql.SQL("COPY {table} ({columns}) FROM STDIN").format(
        table=sql.Identifier(meta.db_table),
        columns=sql.SQL(", ").join(
            sql.Identifier(column) for column in [pk.column, *(f.column for f in fields)]
        ),
    )
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias
    return objs


def insert_many_with_history(model, objs: Sequence, *, default_user=None) -> list:
    """insert_many, then one "+" history row per object, as simple_history's
    bulk_create_with_history writes them (same user, date and reason rules)."""
    from simple_history.utils import get_change_reason_from_object

    objs = insert_many(model, objs)
    history = model.history.model
    now = timezone.now()
    rows = []
    for instance in objs:
        row = history(
            history_date=getattr(instance, "_history_date", now),
            history_user=getattr(
                instance,
                "_history_user",
                default_user or history.get_default_history_user(instance),
            ),
            history_change_reason=get_change_reason_from_object(instance) or None,
            history_type="+",
            **{field.attname: getattr(instance, field.attname) for field in history.tracked_fields},
        )
        rows.append(row)
    insert_many(history, rows)
    return objs
