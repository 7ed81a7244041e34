"""The long tables' rows ({% for_rows %}, portal/templatetags/row_tags.py) on the roster, bill
detail and records pages: the HTML the template language's {% for %} made of the same rows (that
markup is kept here), and a person's name escaped on each page."""

from __future__ import annotations

import datetime
import re
from types import SimpleNamespace

import pytest
from django.template import engines
from django.urls import reverse
from django.utils import translation

from contributions.models import BillKind, BillLine, BillStatus
from enrollment.models import Person
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff

pytestmark = pytest.mark.django_db

NAME = "<script>alert('x')</script> O'Brien & Co"
ESCAPED = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; O&#x27;Brien &amp; Co"
JUL, AUG, SEP, OCT = (datetime.date(2026, month, 1) for month in (7, 8, 9, 10))

OLD_BILL_LINES = """{% for line in lines %}
    <tr>
      {% ifchanged line.enrolment_id %}<th scope="row">{{ line.name }}</th><td>{{ line.masked_document_number }}</td>{% else %}<td></td><td></td>{% endifchanged %}
      <td>{{ line.type_label }}</td>
      <td class="text-end">{{ line.base }}</td>
      <td class="text-end">{{ line.employer_rate }}</td><td class="text-end">{{ line.employer_amount }}</td>
      <td class="text-end">{{ line.personal_rate }}</td><td class="text-end">{{ line.personal_amount }}</td>
    </tr>
  {% endfor %}"""  # noqa: E501

OLD_RECORDS = """{% for row in rows %}
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


@pytest.fixture
def unit():
    """Two employees, one named with markup, billed for four months in each bill state and
    once more for July (a supplement)."""
    employer, agent, _period, enrolments = create_unit_with_staff(2)
    Person.objects.filter(pk=enrolments[1].person_id).update(name=NAME)
    bills = [
        create_bill(employer, JUL, enrolments, status=BillStatus.SETTLED),
        create_bill(employer, AUG, enrolments, status=BillStatus.DEBITED),
        create_bill(employer, SEP, enrolments, status=BillStatus.DEBIT_FAILED),
        create_bill(employer, OCT, enrolments, status=BillStatus.ASSESSED),
        create_bill(employer, JUL, enrolments[1:2], kind=BillKind.SUPPLEMENT, sequence=1),
    ]
    return SimpleNamespace(employer=employer, agent=agent, bills=bills)


@pytest.fixture
def agent_client(client, unit):
    client.force_login(unit.agent.user)
    return client


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


def rows_of(response) -> str:
    """What the page's last table body holds."""
    return re.findall(r"<tbody>(.*?)</tbody>", response.content.decode(), re.S)[-1]


def records_url(month_from: str = "2026-07", month_to: str = "2026-10") -> str:
    return f"{reverse('contributions:record_list')}?month_from={month_from}&month_to={month_to}"


def bill_url(bill) -> str:
    return reverse("contributions:bill_detail", kwargs={"bill_reference": bill.reference})


@pytest.mark.parametrize("page", ["roster", "bill detail", "records"])
def test_a_name_with_markup_is_escaped_on_each_page(agent_client, unit, page):
    url = {
        "roster": reverse("enrollment:roster"),
        "bill detail": bill_url(unit.bills[0]),
        "records": records_url(),
    }[page]
    response = agent_client.get(url)
    assert response.status_code == 200
    html = rows_of(response)
    assert ESCAPED in html
    assert "<script>" not in html and "O'Brien" not in html


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_bill_detail_lines_are_the_old_markups(agent_client, unit, language):
    agent_client.cookies["django_language"] = language
    response = agent_client.get(bill_url(unit.bills[0]))
    lines = response.context["lines"].object_list
    assert rows_of(response) == "\n  " + render(OLD_BILL_LINES, lines=lines) + "\n  "
    assert len(lines) > 3 and rows_of(response).count('<th scope="row">') == 2


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_records_are_the_old_markups_with_each_badge(agent_client, unit, language):
    agent_client.cookies["django_language"] = language
    response = agent_client.get(records_url())
    rows = response.context["page"].object_list
    bills = {
        pk: (kind, status)
        for pk, kind, status in BillLine.objects.filter(
            pk__in=[row.pk for row in rows]
        ).values_list("pk", "bill__kind", "bill__status")
    }
    with translation.override(language):
        old_rows = [
            SimpleNamespace(
                **row._asdict(),
                bill_kind=bills[row.pk][0],
                bill_kind_label=str(BillKind(bills[row.pk][0]).label),
                bill_status=bills[row.pk][1],
            )
            for row in rows
        ]
        old = render(OLD_RECORDS, rows=old_rows)
    html = rows_of(response)
    assert html == "\n  " + old + "\n  "
    for colour in ("success", "danger", "info", "warning"):
        assert f'class="badge text-bg-{colour}"' in html
    assert (
        html.count(' <small class="text-body-secondary">')
        == len([kind for kind, _ in bills.values() if kind == BillKind.SUPPLEMENT])
        > 0
    )


@pytest.mark.parametrize(
    ("page", "empty"),
    [("bill detail", "本单没有缴费明细。"), ("records", "没有符合条件的缴费记录。")],
)
def test_a_table_without_rows_says_so(agent_client, unit, page, empty):
    url = {
        "bill detail": bill_url(create_bill(unit.employer, datetime.date(2026, 11, 1), [])),
        "records": records_url("2026-06", "2026-06"),
    }[page]
    html = rows_of(agent_client.get(url))
    assert empty in html and "<th" not in html
