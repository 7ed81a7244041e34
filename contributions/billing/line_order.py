"""Bill lines in page order: BillLine.position, the number of each line on its bill's detail
page, written with the lines by the billing engine and renumbered when a person's name changes.

The order: person name (the database's collation, as an ORDER BY on the name gives), person,
insurance type in TYPE_ORDER (other types last), and the line's id for a person billed twice in
one bill. Stored so that the page reads its lines through the (bill, position) index instead of
reading every line's person and sorting them all on each view (50-100 ms for a 10,000-person
unit's 40,000 lines).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connections

from contributions.common import TYPE_ORDER
from contributions.models import BillLine
from enrollment.models import Enrolment, Person

if TYPE_CHECKING:
    from contributions.billing.engine import Figures
    from contributions.models import MonthlyBill

# Lines updated per statement.
BULK_BATCH = 2000

_LINES_IN_PAGE_ORDER = """
SELECT line.{id}, line.{position}, line.{bill}
FROM {line} line INNER JOIN {person_table} person ON person.{person_id} = line.{person}
WHERE line.{bill} IN ({bills})
ORDER BY line.{bill}, person.{name}, line.{person}, CASE line.{type} {ranks} ELSE %s END, line.{id}
"""


def _lines_in_page_order(connection, bill_ids: list[int]) -> list[tuple[int, int, int]]:
    """(id, position, bill) of the bills' lines, bill by bill in page order."""
    quote = connection.ops.quote_name
    field = BillLine._meta.get_field
    person = field("person").related_model
    sql = _LINES_IN_PAGE_ORDER.format(
        line=quote(BillLine._meta.db_table),
        position=quote(field("position").column),
        id=quote(field("id").column),
        bill=quote(field("bill").column),
        person=quote(field("person").column),
        type=quote(field("insurance_type").column),
        person_table=quote(person._meta.db_table),
        person_id=quote(person._meta.pk.column),
        name=quote(person._meta.get_field("name").column),
        ranks=" ".join("WHEN %s THEN %s" for _kind in TYPE_ORDER),
        bills=", ".join(["%s"] * len(bill_ids)),
    )
    ranks = [value for rank, kind in enumerate(TYPE_ORDER) for value in (kind, rank)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*bill_ids, *ranks, len(TYPE_ORDER)])
        return cursor.fetchall()


def bill_lines_number(bill_ids: list[int]) -> None:
    """Number the lines of these bills in page order (BillLine.position), after their lines
    were written: the lines read in that order (one query per 500 bills), and only those whose
    number changed written back, UPDATE ... FROM (VALUES) by id (PostgreSQL, SQLite 3.33+).

    Not one UPDATE with ROW_NUMBER() over the bill's lines: the lines of a bill just written are
    not yet in the table's statistics, and PostgreSQL then joined the numbered lines to the
    table in a nested loop over both (1,200 lines: 0.5 s; 40,000 lines would take minutes).
    Deleting lines alone keeps the others' order (the numbers have gaps then, which a page's
    ORDER BY position ... OFFSET does not mind)."""
    connection = connections[BillLine.objects.db]
    quote = connection.ops.quote_name
    table = quote(BillLine._meta.db_table)
    position, id_ = (quote(BillLine._meta.get_field(name).column) for name in ("position", "id"))
    for start in range(0, len(bill_ids), 500):
        changed, last_bill, number = [], None, 0
        for line_id, old, bill_id in _lines_in_page_order(
            connection, list(bill_ids[start : start + 500])
        ):
            number = number + 1 if bill_id == last_bill else 1
            last_bill = bill_id
            if old != number:
                changed += [line_id, number]
        for chunk in range(0, len(changed), 2 * BULK_BATCH):
            params = changed[chunk : chunk + 2 * BULK_BATCH]
            values = ", ".join(["(%s, %s)"] * (len(params) // 2))
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET {position} = v.column2 "  # noqa: S608 — names quoted
                    f"FROM (VALUES {values}) AS v WHERE {table}.{id_} = v.column1",
                    params,
                )


def bill_lines_renumber_for_person(person_id: int) -> None:
    """Number again the lines of every bill holding the person's lines: a new name moves them
    (registered with enrollment.renames from ContributionsConfig.ready())."""
    bill_ids = (
        BillLine.objects.filter(person_id=person_id)
        .order_by("bill_id")
        .values_list("bill_id", flat=True)
        .distinct()
    )
    bill_lines_number(list(bill_ids))


def lines_in_page_order(
    bill: MonthlyBill, lines: dict[tuple[int, str], Figures]
) -> dict[tuple[int, str], Figures] | None:
    """The lines in page order (bill_lines_number's: person name, person, insurance type; the
    enrolment for a person billed twice, whose lines are then written, and so numbered, in that
    order); None when a line's person is not one of the unit's enrolled persons."""
    persons = (
        Person.objects.filter(
            pk__in=Enrolment.objects.filter(employer_id=bill.employer_id).values("person_id")
        )
        .order_by("name", "pk")
        .values_list("pk", flat=True)
    )
    person_rank = {person_id: rank for rank, person_id in enumerate(persons)}
    if any(figures.person_id not in person_rank for figures in lines.values()):
        return None
    type_rank = {kind: rank for rank, kind in enumerate(TYPE_ORDER)}
    return dict(
        sorted(
            lines.items(),
            key=lambda item: (
                person_rank[item[1].person_id],
                type_rank.get(item[0][1], len(TYPE_ORDER)),
                item[0][0],
            ),
        )
    )
