"""{% bill_line_rows %} and {% record_rows %}: the rows of the long tables, built in Python, are
the HTML the template language made of the same rows (the markup they replaced is kept here)."""

import datetime

import pytest
from django.template import engines
from django.utils import translation

from contributions.billing.selectors import BillLineRow
from contributions.models import BillKind, BillStatus
from contributions.records.selectors import RecordRow

TEMPLATE_BILL_LINES = """{% for line in lines %}
    <tr>
      {% ifchanged line.enrolment_id %}<th scope="row">{{ line.name }}</th><td>{{ line.masked_document_number }}</td>{% else %}<td></td><td></td>{% endifchanged %}
      <td>{{ line.type_label }}</td>
      <td class="text-end">{{ line.base }}</td>
      <td class="text-end">{{ line.employer_rate }}</td><td class="text-end">{{ line.employer_amount }}</td>
      <td class="text-end">{{ line.personal_rate }}</td><td class="text-end">{{ line.personal_amount }}</td>
    </tr>
  {% endfor %}"""  # noqa: E501

TEMPLATE_RECORDS = """{% for row in rows %}
    <tr data-record>
      <td>{{ row.month_label }}</td>
      <th scope="row">{{ row.name }}</th>
      <td>{{ row.masked_document_number }}</td>
      <td>{{ row.type_label }}</td>
      <td class="text-end">{{ row.base }}</td>
      <td class="text-end">{{ row.employer_amount }}</td>
      <td class="text-end">{{ row.personal_amount }}</td>
      <td><span class="badge {% if row.bill_status == 'settled' %}text-bg-success{% elif row.bill_status == 'debit_failed' %}text-bg-danger{% elif row.bill_status == 'debited' %}text-bg-info{% else %}text-bg-warning{% endif %}">{{ row.bill_status_label }}</span>{% if row.bill_kind == 'supplement' %} <small class="text-body-secondary">{{ row.bill_kind_label }}</small>{% endif %}</td>
    </tr>
  {% endfor %}"""  # noqa: E501


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


def line(enrolment_id, name, kind_label, amount="1,280.00"):
    return BillLineRow(
        enrolment_id,
        name,
        "1101**********0011",
        kind_label,
        "8,000.00",
        "16%",
        amount,
        "8%",
        "640.00",
    )


def record(status, kind=BillKind.REGULAR, name="张三"):
    return RecordRow(
        pk=1,
        month=datetime.date(2026, 7, 1),
        month_label="2026-07",
        name=name,
        masked_document_number="1101**********0011",
        type_label="养老保险",
        base="8,000.00",
        employer_amount="1,280.00",
        personal_amount="640.00",
        bill_status=status,
        bill_status_label=str(BillStatus(status).label),
        bill_kind=kind,
        bill_kind_label=str(BillKind(kind).label),
    )


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_bill_line_rows_are_the_templates_rows(language):
    with translation.override(language):
        lines = [
            line(1, "张三", "养老保险"),
            line(1, "张三", "医疗保险(含生育)"),
            line(2, "O'Brien <Tom> & Co", "养老保险", amount="-1,280.00"),
            line(3, "李四", "Work injury"),
        ]
        html = render("{% load contribution_tables %}{% bill_line_rows lines %}", lines=lines)
        assert html == render(TEMPLATE_BILL_LINES, lines=lines)
    assert html.count('<th scope="row">') == 3  # a person's name once, on the first line
    assert "O&#x27;Brien &lt;Tom&gt; &amp; Co" in html
    assert "1101**********0011" in html and "110105" not in html


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_record_rows_are_the_templates_rows_with_each_badge(language):
    with translation.override(language):
        rows = [record(status) for status in BillStatus.values]
        rows += [record(BillStatus.SETTLED, BillKind.SUPPLEMENT, name="<script>")]
        html = render("{% load contribution_tables %}{% record_rows rows %}", rows=rows)
        assert html == render(TEMPLATE_RECORDS, rows=rows)
        assert str(BillKind.SUPPLEMENT.label) in html
    for colour in ("success", "danger", "info", "warning"):
        assert f'class="badge text-bg-{colour}"' in html
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_empty_lists_render_nothing():
    assert render("{% load contribution_tables %}{% bill_line_rows lines %}", lines=[]) == ""
    assert render("{% load contribution_tables %}{% record_rows rows %}", rows=[]) == ""
