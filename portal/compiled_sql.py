"""A query whose SQL is compiled once per process and then run with each request's values.

Building a queryset and compiling it to SQL costs the ORM about as much as PostgreSQL takes to
run a small indexed query; on pages every agent opens many times a minute (the inbox badge on
every page, the dashboard's counts) that is most of the query's cost. A CompiledQuery builds
its queryset once per database with sentinel values in place of the request's (the unit's id,
the agent's id), checks that each sentinel became a plain parameter and nowhere else, and then
runs the same SQL with the sentinels swapped for the real values.

Only for queries whose SQL does not depend on anything but the sentinels (no dates computed at
build time, no settings read then): a sentinel is an int (an id) unless named with its type, a
``datetime.date`` or an aware ``datetime.datetime`` (``today``, ``now``), which the database's
adapter turns into a parameter as the ORM would. The rows come back as tuples, each column
converted as the ORM converts it (SQLite's dates arrive as text); ``instances()`` makes model
instances of a query of whole rows, ``related_instances()`` of one with ``select_related()``. A
page of an ordered query passes ``limit`` and ``offset`` to ``rows()`` (the query itself
unsliced): they go to the database as parameters, so every page runs the same SQL. A slice inside
the query (a page of ids picked in a subquery) takes sentinels of the kind ``Slice``: the ORM
writes a slice's bounds into the SQL text, and each is turned back into a parameter there. A list
of ids for ``__in`` takes a sentinel of the kind ``Ints(size)``. A sentinel named with ``str`` (a
reference, a code, a blind index, compared as it is) or ``uuid.UUID`` (an idempotency key) is a
parameter as the ORM passes it (a UUID as hex text where the database has no uuid type).
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

# Values no real id, day or instant takes; each names one sentinel of a query.
_SENTINEL_BASE = -7_306_011_000
_SENTINEL_DAY = datetime.date(1111, 1, 11)
_SENTINEL_INSTANT = datetime.datetime(1111, 1, 11, 11, 11, 11, 111_000, tzinfo=datetime.UTC)
# A slice's bounds must be positive (the ORM refuses negative indexing), and its LIMIT is
# written as the difference of the two: offset + limit - offset gives the limit's sentinel back.
_SENTINEL_SLICE = 7_306_011_000


class Slice(int):
    """The kind of a sentinel that a query slices with: ``queryset[offset : offset + limit]``,
    inside a subquery too; the ORM writes it into the SQL as ``LIMIT n`` or ``OFFSET n``."""


class Ints:
    """The kind of a sentinel that is a list of 1 to ``size`` ints given to ``__in`` (and to
    nothing else): compiled with ``size`` parameters; a shorter list is padded by repeating its
    last value, which an IN list means the same with."""

    def __init__(self, size: int):
        self.size = size


def _sentinel(kind: type, index: int):
    if kind is str:
        return f"compiled-sql-sentinel-{-_SENTINEL_BASE + index}"
    if kind is uuid.UUID:
        return uuid.UUID(int=-_SENTINEL_BASE + index)
    if kind is Slice:
        return _SENTINEL_SLICE + index
    if kind is datetime.datetime:
        return _SENTINEL_INSTANT + datetime.timedelta(microseconds=index)
    if kind is datetime.date:
        return _SENTINEL_DAY + datetime.timedelta(days=index)
    return _SENTINEL_BASE - index


def _adapt(connection, kind: type, value):
    """The parameter the ORM passes for ``value`` of ``kind`` (an int as it is)."""
    if kind is datetime.datetime:
        return connection.ops.adapt_datetimefield_value(value)
    if kind is datetime.date:
        return connection.ops.adapt_datefield_value(value)
    if kind is uuid.UUID:
        return value if connection.features.has_native_uuid_field else value.hex
    return value


_KIND_NAMES = {
    int: "an int",
    Slice: "an int, at least 0",
    datetime.date: "a date",
    datetime.datetime: "an aware datetime",
    str: "a str",
    uuid.UUID: "a UUID",
}


def _is_a(kind: type, value) -> bool:
    if kind is datetime.datetime:
        return isinstance(value, datetime.datetime) and value.tzinfo is not None
    if kind is datetime.date:
        return type(value) is datetime.date
    if kind is Slice:
        return type(value) is int and value >= 0
    if kind is str or kind is uuid.UUID:
        return isinstance(value, kind)
    return type(value) is int


def _bounds_as_parameters(sql: str, params: list, bounds: dict[str, int]):
    """``sql`` and ``params`` with each slice bound written in the SQL (``LIMIT n``, ``OFFSET n``)
    made a parameter; and which parameter positions the bounds took."""
    found = []
    for name, sentinel in bounds.items():
        written = list(re.finditer(rf"\b(?:LIMIT|OFFSET) ({sentinel})\b", sql))
        if len(written) != 1 or sql.count(str(sentinel)) != 1:
            raise ImproperlyConfigured(f"CompiledQuery: {name!r} is not one slice bound")
        found.append((written[0].start(1), written[0].end(1), name))
    # The parameters before a bound are the %s before it in the text (%% is a literal %), and
    # the bounds already made parameters before it.
    placeholders = [m.start() for m in re.finditer(r"%.", sql) if m.group() == "%s"]
    pieces, params, slots, done = [], list(params), {}, 0
    for index, (start, end, name) in enumerate(sorted(found)):
        position = index + sum(1 for placeholder in placeholders if placeholder < start)
        params.insert(position, bounds[name])
        slots[position] = name
        pieces += [sql[done:start], "%s"]
        done = end
    return "".join([*pieces, sql[done:]]), params, slots


# A constant the ORM passes as a parameter that reads the same written in the SQL on every
# backend: no quote, backslash or percent sign to escape.
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9_]+\Z")


def _literal(param) -> str | None:
    """The SQL literal of a constant parameter, or None to keep it a parameter: a plain text,
    or an int the ORM passes typed int4 on PostgreSQL (Exists' ``SELECT 1``, an IntegerField's
    value), which an integer literal is there too. Other ints stay parameters: an int2 or int8
    written as a literal would be an int4 (and SQLite has no conversion cache to spare)."""
    if isinstance(param, str) and _PLAIN_TEXT.match(param):
        # str.__str__: the text itself, not a TextChoices member's str().
        return f"'{str.__str__(param)}'"
    # Not negative: a minus sign after another ("x -%s") would start a comment.
    if type(param).__name__ == "Int4" and 0 <= param < 2**31:
        return str(int(param))
    return None


def _constants_inlined(sql: str, params: list, slots: dict[int, str]):
    """``sql`` and ``params`` with each constant text or int4 parameter (not a sentinel's)
    written in the SQL as a literal; and the sentinels' new parameter positions."""
    pieces, kept, moved, done, index = [], [], {}, 0, 0
    for match in re.finditer(r"%.", sql):
        if match.group() != "%s":
            continue
        param = params[index]
        literal = None if index in slots else _literal(param)
        if literal is not None:
            pieces += [sql[done : match.start()], literal]
            done = match.end()
        else:
            if index in slots:
                moved[len(kept)] = slots[index]
            kept.append(param)
        index += 1
    if index != len(params):
        raise ImproperlyConfigured("CompiledQuery: the parameters do not match the SQL")
    return "".join([*pieces, sql[done:]]), kept, moved


class CompiledQuery:
    """``build(**sentinels)`` returns the queryset; ``rows(**values)`` runs it with ``values``.

    >>> unread = CompiledQuery(lambda agent, unit: Message.objects.filter(...), "agent", "unit")
    >>> unread.rows(agent=agent.pk, unit=agent.employer_id)
    >>> locks = CompiledQuery(lambda unit, now: ..., "unit", now=datetime.datetime)

    A subclass with ``inline_constants = True`` writes the query's constant texts (kind keys,
    states: letters, digits and underscores) and int4s into its SQL as literals: a query with
    many such constants then passes only its sentinels as parameters, which keeps it within the
    sizes psycopg converts once and caches (50 parameters) rather than on every run.
    """

    inline_constants = False

    def __init__(self, build: Callable[..., QuerySet], *names: str, **typed: type):
        self.build = build
        kinds = {**dict.fromkeys(names, int), **typed}
        if {"using", "limit", "offset"} & set(kinds):
            raise ImproperlyConfigured("CompiledQuery: using, limit and offset are rows()' own")
        self.names = tuple(kinds)
        # A list of ints is compiled as that many ints, named name[0], name[1]...
        self.lists = {name: kind.size for name, kind in kinds.items() if isinstance(kind, Ints)}
        self.kinds = {}
        for name, kind in kinds.items():
            if name in self.lists:
                self.kinds.update((f"{name}[{j}]", int) for j in range(self.lists[name]))
            else:
                self.kinds[name] = kind
        self.sentinels = {
            name: _sentinel(kind, index) for index, (name, kind) in enumerate(self.kinds.items())
        }
        self._compiled: dict[str, tuple[str, list, dict[int, str], dict]] = {}
        self._models: dict[str, type[Model] | None] = {}
        # For related_instances(): the model, its columns' names and span, the populators.
        self._related: dict[str, tuple | None] = {}

    def _unflattened(self, values: dict) -> dict:
        """``values`` by the names build() takes: the items of a list together."""
        values = dict(values)
        for name, size in self.lists.items():
            values[name] = [values.pop(f"{name}[{j}]") for j in range(size)]
        return values

    def instances(self, using: str = "default", **values) -> list[Model]:
        """Run a query of whole model instances (no values(), select_related(), annotations or
        deferred fields) and return them, built as the ORM builds them from its rows."""
        rows = self.rows(using, **values)
        model = self._models[using]
        if model is None:
            raise ImproperlyConfigured("CompiledQuery: instances() needs a query of whole rows")
        names = [field.attname for field in model._meta.concrete_fields]
        return [model.from_db(using, names, row) for row in rows]

    def related_instances(self, using: str = "default", **values) -> list[Model]:
        """Run a query of whole model instances with ``select_related()`` (no values(),
        annotations or deferred fields) and return them with their related instances, built
        and linked as the ORM builds and links them from its rows."""
        rows = self.rows(using, **values)
        related = self._related[using]
        if related is None:
            raise ImproperlyConfigured(
                "CompiledQuery: related_instances() needs a query of whole rows"
            )
        model, names, start, end, populators = related
        built = []
        for row in rows:
            instance = model.from_db(using, names, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            built.append(instance)
        return built

    def sql(self, using: str = "default") -> tuple[str, list, dict[int, str], dict]:
        """The SQL, its parameters with sentinels, which parameter positions take which value,
        and the converters of the columns; compiled the first time for the database ``using``."""
        if using not in self._compiled:
            connection = connections[using]
            queryset = self.build(**self._unflattened(self.sentinels))
            query = queryset.query
            fields = [
                *(queryset._fields or ()),
                *(name for name in query.annotation_select if name not in queryset._fields),
            ]
            if queryset._fields and fields != [
                *query.extra_select,
                *query.values_select,
                *query.annotation_select,
            ]:
                # values_list() reorders such rows in Python; rows() returns the SQL's order.
                raise ImproperlyConfigured("CompiledQuery: name the fields before the annotations")
            compiler = query.get_compiler(using=using)
            sql, params = compiler.as_sql()
            bounds = {
                name: sentinel
                for name, sentinel in self.sentinels.items()
                if self.kinds[name] is Slice
            }
            sql, params, slots = _bounds_as_parameters(sql, list(params), bounds)
            adapted = {
                name: _adapt(connection, self.kinds[name], sentinel)
                for name, sentinel in self.sentinels.items()
                if name not in bounds
            }
            for position, param in enumerate(params):
                if position in slots:
                    continue
                for name, sentinel in adapted.items():
                    # psycopg's backend passes ints typed (Int8, a subclass of int).
                    if type(param) is not bool and param == sentinel:
                        slots[position] = name
            for name, sentinel in adapted.items():
                if name not in slots.values() or str(sentinel) in sql:
                    raise ImproperlyConfigured(
                        f"CompiledQuery: {name!r} is not a plain parameter of the query"
                    )
            if self.inline_constants:
                sql, params, slots = _constants_inlined(sql, params, slots)
            converters = compiler.get_converters(
                [column for column, *_rest in compiler.select[: compiler.col_count]]
            )
            whole = (
                not queryset._fields
                and not query.select_related
                and not query.annotation_select
                and not query.extra_select
                and query.deferred_loading == (frozenset(), True)
                and compiler.col_count == len(queryset.model._meta.concrete_fields)
            )
            self._models[using] = queryset.model if whole else None
            self._related[using] = None
            if (
                not queryset._fields
                and not query.annotation_select
                and not query.extra_select
                and query.deferred_loading == (frozenset(), True)
            ):
                select, klass_info = compiler.select, compiler.klass_info
                start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
                self._related[using] = (
                    klass_info["model"],
                    [column[0].target.attname for column in select[start:end]],
                    start,
                    end,
                    get_related_populators(klass_info, select, using),
                )
            self._compiled[using] = (sql, params, slots, converters)
        return self._compiled[using]

    def rows(
        self, using: str = "default", *, limit: int | None = None, offset: int = 0, **values
    ) -> list[tuple]:
        """Run the query with ``values`` (one per name, of its type) and return its rows; with
        ``limit``, only that many rows after the first ``offset``."""
        if set(values) != set(self.names):
            raise TypeError(f"CompiledQuery.rows() takes exactly {sorted(self.names)}")
        for name, size in self.lists.items():
            value = values.pop(name)
            if not isinstance(value, list | tuple) or not 1 <= len(value) <= size:
                raise TypeError(f"CompiledQuery: {name} must be a list of 1 to {size} ints")
            padded = [*value, *[value[-1]] * (size - len(value))]
            values.update((f"{name}[{j}]", item) for j, item in enumerate(padded))
        for name, value in values.items():
            if not _is_a(self.kinds[name], value):
                raise TypeError(f"CompiledQuery: {name} must be {_KIND_NAMES[self.kinds[name]]}")
        connection = connections[using]
        sql, params, slots, converters = self.sql(using)
        params = list(params)
        for position, name in slots.items():
            value = _adapt(connection, self.kinds[name], values[name])
            params[position] = type(params[position])(value) if type(value) is int else value
        if limit is not None:
            if type(limit) is not int or type(offset) is not int or limit < 0 or offset < 0:
                raise TypeError("CompiledQuery: limit and offset must be ints, at least 0")
            sql = f"{sql} LIMIT %s OFFSET %s"
            params += [limit, offset]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            rows = [_converted(row, converters, connection) for row in rows]
        return rows


def _converted(row: tuple, converters: dict, connection) -> tuple:
    row = list(row)
    for position, (functions, expression) in converters.items():
        for function in functions:
            row[position] = function(row[position], expression, connection)
    return tuple(row)
