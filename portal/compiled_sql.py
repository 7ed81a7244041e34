"""A query whose SQL is compiled once per process and then run with each request's values.

Building a queryset and compiling it to SQL costs the ORM about as much as PostgreSQL takes to
run a small indexed query; on pages every agent opens many times a minute (the inbox badge on
every page, the dashboard's counts) that is most of the query's cost. A CompiledQuery builds
its queryset once per database with sentinel values in place of the request's (the unit's id,
the agent's id), checks that each sentinel became a plain parameter and nowhere else, and then
runs the same SQL with the sentinels swapped for the real values.

Only for queries whose SQL does not depend on anything but the sentinels (no dates, no settings
read at build time) and whose columns need no conversion by a model field (ids, counts, plain
text); the caller gets the raw rows. A page of an ordered query passes ``limit`` and ``offset``
to ``rows()`` (the query itself unsliced): they go to the database as parameters, so every page
runs the same SQL.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import QuerySet

# Values no real id takes; each names one sentinel of a query.
_SENTINEL_BASE = -7_306_011_000


class CompiledQuery:
    """``build(**sentinels)`` returns the queryset; ``rows(**values)`` runs it with ``values``.

    >>> unread = CompiledQuery(lambda agent, unit: Message.objects.filter(...), "agent", "unit")
    >>> unread.rows(agent=agent.pk, unit=agent.employer_id)
    """

    def __init__(self, build: Callable[..., QuerySet], *names: str):
        self.build = build
        self.names = names
        self.sentinels = {name: _SENTINEL_BASE - index for index, name in enumerate(names)}
        self._compiled: dict[str, tuple[str, list, dict[int, str]]] = {}

    def sql(self, using: str = "default") -> tuple[str, list, dict[int, str]]:
        """The SQL, its parameters with sentinels, and which parameter positions take which
        value; compiled the first time for the database ``using``."""
        if using not in self._compiled:
            queryset = self.build(**self.sentinels)
            sql, params = queryset.query.get_compiler(using=using).as_sql()
            params = list(params)
            slots = {}
            for position, param in enumerate(params):
                for name, sentinel in self.sentinels.items():
                    # psycopg's backend passes ints typed (Int8, a subclass of int).
                    if isinstance(param, int) and param == sentinel:
                        slots[position] = name
            for name, sentinel in self.sentinels.items():
                if name not in slots.values() or str(sentinel) in sql:
                    raise ImproperlyConfigured(
                        f"CompiledQuery: {name!r} is not a plain parameter of the query"
                    )
            self._compiled[using] = (sql, params, slots)
        return self._compiled[using]

    def rows(
        self, using: str = "default", *, limit: int | None = None, offset: int = 0, **values
    ) -> list[tuple]:
        """Run the query with ``values`` (ints, one per name) and return its raw rows; with
        ``limit``, only that many rows after the first ``offset``."""
        if set(values) != set(self.names):
            raise TypeError(f"CompiledQuery.rows() takes exactly {sorted(self.names)}")
        for name, value in values.items():
            if type(value) is not int:
                raise TypeError(f"CompiledQuery: {name} must be an int, not {value!r}")
        sql, params, slots = self.sql(using)
        params = list(params)
        for position, name in slots.items():
            params[position] = type(params[position])(values[name])
        if limit is not None:
            if type(limit) is not int or type(offset) is not int or limit < 0 or offset < 0:
                raise TypeError("CompiledQuery: limit and offset must be ints, at least 0")
            sql = f"{sql} LIMIT %s OFFSET %s"
            params += [limit, offset]
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
