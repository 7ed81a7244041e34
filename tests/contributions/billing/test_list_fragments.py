"""The bills' list prints its fixed parts from stored fragments: the same page as the plain
template gives, on the list, the awaiting list and a refused month."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from contributions.billing.views import BillListView
from contributions.models import BillKind, BillStatus, MonthlyBill
from employers.models import Role
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.contributions.fragment_helpers import page_text, plain_template

pytestmark = pytest.mark.django_db


def test_the_lists_are_the_plain_templates_pages(client, settings, tmp_path, monkeypatch):
    employer, agent, _, enrolments = create_unit_with_staff(2, roles=(Role.CONTRIBUTIONS.value,))
    create_bill(employer, datetime.date(2026, 8, 1), enrolments)
    create_bill(employer, datetime.date(2026, 9, 1), enrolments, sequence=2)
    plain = plain_template(settings, tmp_path, BillListView.template_name)
    client.force_login(agent.user)
    for url in (reverse("contributions:bill_list"), reverse("contributions:bill_awaiting")):
        for language in ("zh-hans", "en"):
            headers = {"accept-language": language}
            monkeypatch.setattr(BillListView, "template_name", "contributions/bill_list.html")
            stored = [page_text(client.get(url, headers=headers)) for _ in range(2)]
            monkeypatch.setattr(BillListView, "template_name", plain)
            plain_page = page_text(client.get(url, headers=headers))
            assert stored == [plain_page, plain_page]
    refused = []
    for name in ("contributions/bill_list.html", plain):
        monkeypatch.setattr(BillListView, "template_name", name)
        refused.append(page_text(client.post(reverse("contributions:bill_list"), {"month": "x"})))
    assert refused[0] == refused[1] and "is-invalid" in refused[0]


# The list's rows as the template printed them from the bills before bill_list_rows.
OLD_ROWS = """  {% for bill in page.object_list %}
    <tr>
      <th scope="row"><a href="{% url 'contributions:bill_detail' bill.reference %}">{{ bill.month|date:"Y-m" }}</a></th>
      <td>{{ bill.get_kind_display }}{% if bill.sequence %} #{{ bill.sequence }}{% endif %}</td>
      <td class="text-end">{{ bill.person_count }}</td>
      <td class="text-end">{{ bill.employer_total|money }}</td>
      <td class="text-end">{{ bill.personal_total|money }}</td>
      <td class="text-end fw-semibold">{{ bill.total|money }}</td>
      <td><span class="badge {% if bill.status == 'settled' %}text-bg-success{% elif bill.status == 'debit_failed' %}text-bg-danger{% elif bill.status == 'debited' %}text-bg-info{% elif bill.status == 'confirmed' %}text-bg-primary{% else %}text-bg-warning{% endif %}" data-status="{{ bill.status }}">{{ bill.get_status_display }}</span></td>
      <td>{{ bill.due_on|date:"Y-m-d" }}</td>
    </tr>
  {% empty %}"""  # noqa: E501


def _old_rows_template(settings, tmp_path) -> str:
    """The list's template with its rows printed from the bills, as before bill_list_rows."""
    source = (Path(django_settings.BASE_DIR) / "templates" / BillListView.template_name).read_text()
    start = source.index("  {% for_rows row in rows %}")
    end = source.index("  {% empty %}", start) + len("  {% empty %}")
    old = source[:start] + OLD_ROWS + source[end:]
    old = old.replace("{% endfor_rows %}", "{% endfor %}")
    target = tmp_path / "old" / BillListView.template_name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(old)
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [*engine["DIRS"], tmp_path]}, *settings.TEMPLATES[1:]]
    return f"old/{BillListView.template_name}"


def test_the_rows_print_what_the_bills_printed(client, settings, tmp_path, monkeypatch):
    """Every status and kind, a sequence number, a credit, an empty awaiting list: the rows
    printed from bill_list_rows are the rows the template printed from the bills."""
    employer, agent, _, enrolments = create_unit_with_staff(3, roles=(Role.CONTRIBUTIONS.value,))
    month = datetime.date(2026, 8, 1)
    for index, status in enumerate(BillStatus.values):
        create_bill(employer, month.replace(month=index + 7), enrolments, status=status)
    create_bill(employer, month, enrolments[:1], kind=BillKind.SUPPLEMENT, sequence=3)
    backpay = create_bill(employer, month, enrolments[:2], kind=BillKind.BACKPAY, sequence=12)
    MonthlyBill.objects.filter(pk=backpay.pk).update(total=Decimal("-1234567.5"), person_count=0)
    old = _old_rows_template(settings, tmp_path)
    client.force_login(agent.user)
    urls = [reverse("contributions:bill_list"), reverse("contributions:bill_awaiting")]
    for url in urls:
        for language in ("zh-hans", "en"):
            headers = {"accept-language": language}
            monkeypatch.setattr(BillListView, "template_name", "contributions/bill_list.html")
            new = [page_text(client.get(url, headers=headers)) for _ in range(2)]
            monkeypatch.setattr(BillListView, "template_name", old)
            assert new == [page_text(client.get(url, headers=headers))] * 2
            assert new[0].count("<tr>") >= 4 and "text-bg-" in new[0]
    assert "-1,234,567.50" in new[0]  # the credit, on the awaiting list
    MonthlyBill.objects.filter(employer=employer).update(status=BillStatus.SETTLED)
    pages = []
    for name in ("contributions/bill_list.html", old):
        monkeypatch.setattr(BillListView, "template_name", name)
        pages.append(page_text(client.get(urls[1])))
    assert pages[0] == pages[1] and "没有待确认或待缴费的核定单。" in pages[0]
