"""The bills' list prints its fixed parts from stored fragments: the same page as the plain
template gives, on the list, the awaiting list and a refused month."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from contributions.billing.views import BillListView
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
