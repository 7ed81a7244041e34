"""Inserting many rows of a model at once: PostgreSQL COPY, else bulk_create.

The batch import writes about 70,000 rows for 10,000 persons. Django's bulk_create on PostgreSQL
sends each column as an array literal that psycopg builds in Python (UNNEST), which cost more
than half of the import's writing time; COPY ... FROM STDIN takes the same values through
psycopg's C row formatter. Values are prepared exactly as bulk_create prepares them (related
objects resolved, each field's pre_save — auto_now_add, the blind index, derived columns — then
get_db_prep_save, so encryption and JSON go through the fields' own code), and primary keys are
taken from the table's sequence first, so the objects come back with their ids as from
bulk_create. A few rows (and any number on other databases, SQLite in tests) go in one
INSERT ... RETURNING, one round trip where COPY takes two (the sequence, then the rows): a form's
filing writes a row at a time into five tables. Its text is written once per process for each
model and number of rows, the values prepared as above; rows that bulk_create alone knows how to
write (an id already set, an expression for a value) and many rows elsewhere go to bulk_create.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from django.db import connections, router, transaction
from django.db.models import AutoField
from django.db.models.expressions import DatabaseDefault
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
        if len(objs) < COPY_MIN_ROWS and _insert_returning(model, objs, connection):
            return objs
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


# The INSERT of a few rows, by model, database and number of rows: its text written once per
# process (the ORM's compiler writes it anew for every call, most of a small insert's cost).
_INSERT_SQL: dict[tuple[type, str, int], tuple[str, list] | None] = {}


def _insert_statement(model, connection, count: int) -> tuple[str, list] | None:
    """``INSERT ... VALUES (...), ... RETURNING pk`` for ``count`` rows and the fields it takes,
    or None for a model whose rows the ORM writes otherwise (a parent table, a primary key not
    from the database, a column it returns or a placeholder of its own)."""
    key = (model, connection.alias, count)
    if key not in _INSERT_SQL:
        meta = model._meta
        pk = meta.pk
        fields = [field for field in meta.concrete_fields if not field.generated]
        fields = [field for field in fields if not isinstance(field, AutoField)]
        plain = (
            not meta.parents
            and isinstance(pk, AutoField)
            and list(meta.db_returning_fields) == [pk]
            and connection.features.can_return_rows_from_bulk_insert
            and not any(hasattr(field, "get_placeholder") for field in fields)
        )
        statement = None
        if plain:
            qn = connection.ops.quote_name
            returning, returning_params = connection.ops.return_insert_columns([pk])
            row = f"({', '.join(['%s'] * len(fields))})"
            if not returning_params:
                statement = (
                    f"{connection.ops.insert_statement()} {qn(meta.db_table)} "
                    f"({', '.join(qn(field.column) for field in fields)}) "
                    f"VALUES {', '.join([row] * count)} {returning}",
                    fields,
                )
        _INSERT_SQL[key] = statement
    return _INSERT_SQL[key]


def _insert_returning(model, objs: list, connection) -> bool:
    """Insert a few new rows in one statement whose text is written once per process; their
    values prepared as bulk_create prepares them. False, with nothing done, where bulk_create
    must write them (a row with its id set, a value that is an expression)."""
    statement = _insert_statement(model, connection, len(objs))
    if statement is None or any(obj.pk is not None for obj in objs):
        return False
    sql, fields = statement
    values = []
    for obj in objs:
        for field in fields:
            value = getattr(obj, field.attname)
            if hasattr(value, "resolve_expression") or isinstance(value, DatabaseDefault):
                return False
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    for obj in objs:
        for field in fields:
            values.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
    # As bulk_create's atomic(savepoint=False): a failed INSERT marks an enclosing block for
    # rollback.
    with transaction.mark_for_rollback_on_error(connection.alias), connection.cursor() as cursor:
        cursor.execute(sql, values)
        ids = [row[0] for row in cursor.fetchall()]
    pk = model._meta.pk  # the ids as the database returns them, as bulk_create sets them
    for obj, new_id in zip(objs, ids, strict=True):
        setattr(obj, pk.attname, new_id)
        obj._state.adding = False
        obj._state.db = connection.alias
    return True


@cache
def _history_model(model):
    """The model's historical model (simple_history's descriptor builds a manager class on each
    read of ``model.history``)."""
    return model.history.model


def insert_many_with_history(model, objs: Sequence, *, default_user=None) -> list:
    """insert_many, then one "+" history row per object, as simple_history's
    bulk_create_with_history writes them (same user, date and reason rules)."""
    from simple_history.utils import get_change_reason_from_object

    objs = insert_many(model, objs)
    history = _history_model(model)
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
