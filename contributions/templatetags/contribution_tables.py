"""The rows of the long tables of 缴费 pages (a bill's lines, the records, the bills), as HTML.

Through the template language each cell of each row is a variable to resolve, localize and
escape, and an ``{% if %}`` chain picks a badge colour: for a page of 100 lines that was the
largest part of the page's own work. Here a row is one format string filled with the escaped
cells, like Django admin's result list (``items_for_result``): the table around the rows, its
header and its empty row stay in the template, and the HTML is the same to the byte.
"""

from __future__ import annotations

from html import escape  # what Django's escape() does to a str, without its lazy-text wrapper

from django import template
from django.utils.safestring import SafeString

from contributions.models import BillKind, BillStatus

register = template.Library()

_BILL_LINE = """
    <tr>
      {who}
      <td>{type_label}</td>
      <td class="text-end">{base}</td>
      <td class="text-end">{employer_rate}</td><td class="text-end">{employer_amount}</td>
      <td class="text-end">{personal_rate}</td><td class="text-end">{personal_amount}</td>
    </tr>
  """
_BILL_LINE_PERSON = '<th scope="row">{name}</th><td>{masked_document_number}</td>'
_BILL_LINE_SAME_PERSON = "<td></td><td></td>"


@register.simple_tag
def bill_line_rows(lines) -> SafeString:
    """The <tr> of each BillLineRow; name and document number only on a person's first line."""
    html, last = [], None
    for line in lines:
        if line.enrolment_id != last:
            who = _BILL_LINE_PERSON.format(
                name=escape(line.name),
                masked_document_number=escape(line.masked_document_number),
            )
        else:
            who = _BILL_LINE_SAME_PERSON
        last = line.enrolment_id
        html.append(
            _BILL_LINE.format(
                who=who,
                type_label=escape(line.type_label),
                base=escape(line.base),
                employer_rate=escape(line.employer_rate),
                employer_amount=escape(line.employer_amount),
                personal_rate=escape(line.personal_rate),
                personal_amount=escape(line.personal_amount),
            )
        )
    return SafeString("".join(html))


_RECORD = """
    <tr data-record>
      <td>{month_label}</td>
      <th scope="row">{name}</th>
      <td>{masked_document_number}</td>
      <td>{type_label}</td>
      <td class="text-end">{base}</td>
      <td class="text-end">{employer_amount}</td>
      <td class="text-end">{personal_amount}</td>
      <td><span class="badge {badge}">{status_label}</span>{kind}</td>
    </tr>
  """
_RECORD_SUPPLEMENT = ' <small class="text-body-secondary">{}</small>'
# A record's state is its bill's: paid green, failed red, debited blue, else still to pay.
_RECORD_BADGES = {
    BillStatus.SETTLED: "text-bg-success",
    BillStatus.DEBIT_FAILED: "text-bg-danger",
    BillStatus.DEBITED: "text-bg-info",
}


@register.simple_tag
def record_rows(rows) -> SafeString:
    """The <tr> of each RecordRow, its state as a coloured badge; 补缴 lines say so."""
    return SafeString(
        "".join(
            _RECORD.format(
                month_label=escape(row.month_label),
                name=escape(row.name),
                masked_document_number=escape(row.masked_document_number),
                type_label=escape(row.type_label),
                base=escape(row.base),
                employer_amount=escape(row.employer_amount),
                personal_amount=escape(row.personal_amount),
                badge=_RECORD_BADGES.get(row.bill_status, "text-bg-warning"),
                status_label=escape(row.bill_status_label),
                kind=(
                    _RECORD_SUPPLEMENT.format(escape(row.bill_kind_label))
                    if row.bill_kind == BillKind.SUPPLEMENT
                    else ""
                ),
            )
            for row in rows
        )
    )
