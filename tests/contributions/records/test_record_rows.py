"""The records page's rows read each person's document number once a page, and its fixed parts
come from stored fragments: the same rows and page as before."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from contributions.models import BillKind, BillStatus, InsuranceType
from contributions.records import selectors
from contributions.records.selectors import (
    BILL_STATUS_BADGES,
    ROW_ORDER,
    RecordRow,
    records_for_agent,
    records_page,
    records_totals_of,
)
from contributions.records.views import RecordListView
from employers.models import Role
from portal.identifiers import mask_id_number
from portal.templatetags.portal_tags import month_label
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.contributions.fragment_helpers import page_text, plain_template
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent

pytestmark = pytest.mark.django_db

JUL, AUG, SEP = datetime.date(2026, 7, 1), datetime.date(2026, 8, 1), datetime.date(2026, 9, 1)


@pytest.fixture
def unit():
    employer, _agent, _period, enrolments = create_unit_with_staff(3)
    enrolments += [create_enrolment(employer, name=f"员工{index:02d}") for index in range(12)]
    create_bill(employer, JUL, enrolments, status=BillStatus.SETTLED)
    create_bill(employer, AUG, enrolments, status=BillStatus.DEBITED)
    create_bill(employer, SEP, enrolments[:5], kind=BillKind.SUPPLEMENT, sequence=1)
    return employer, create_agent(employer, roles=[Role.QUERIES], name="查询员")


def _old_rows(agent, filters, number: int) -> list[RecordRow]:
    """A page's rows as _record_rows made them: every row's number decrypted and masked."""
    types = {kind: str(label) for kind, label in InsuranceType.choices}
    statuses = {status: str(label) for status, label in BillStatus.choices}
    lines = (
        records_for_agent(agent, **filters)
        .order_by(*ROW_ORDER)
        .values_list(
            "pk",
            "month",
            "person__name",
            "person__document_number",
            "insurance_type",
            "base",
            "employer_amount",
            "personal_amount",
            "bill__status",
            "bill__kind",
        )
    )
    start = (number - 1) * selectors.PAGE_SIZE
    return [
        RecordRow(
            pk=pk,
            month=month,
            month_label=month_label(month),
            name=name,
            masked_document_number=mask_id_number(document),
            type_label=types.get(kind, kind),
            base=f"{Decimal(str(base)):,.2f}",
            employer_amount=f"{Decimal(str(employer)):,.2f}",
            personal_amount=f"{Decimal(str(personal)):,.2f}",
            badge=BILL_STATUS_BADGES.get(status, "text-bg-warning"),
            bill_status_label=statuses.get(status, status),
            supplement_label=str(BillKind.SUPPLEMENT.label)
            if bill_kind == BillKind.SUPPLEMENT
            else "",
        )
        for pk, month, name, document, kind, base, employer, personal, status, bill_kind in lines[
            start : start + selectors.PAGE_SIZE
        ]
    ]


@pytest.mark.parametrize(
    "filters",
    [
        {"q": "", "insurance_type": ""},
        {"q": "", "insurance_type": InsuranceType.MEDICAL.value},
        {"q": "员工", "insurance_type": ""},  # a person filter: the ORM's page, not the compiled
    ],
)
def test_the_rows_are_the_ones_made_row_by_row(unit, filters):
    _, agent = unit
    filters = {**filters, "month_from": JUL, "month_to": SEP}
    totals = records_totals_of(agent=agent, filters=filters)
    assert totals.rows > selectors.PAGE_SIZE or filters["insurance_type"]
    pages = -(-totals.rows // selectors.PAGE_SIZE)
    for number in range(1, pages + 1):
        page = records_page(agent=agent, filters=filters, page_number=number, totals=totals)
        assert list(page.object_list) == _old_rows(agent, filters, number)


def test_each_persons_number_is_read_once_a_page(unit, monkeypatch):
    _, agent = unit
    filters = {"q": "", "insurance_type": "", "month_from": JUL, "month_to": SEP}
    totals = records_totals_of(agent=agent, filters=filters)
    from contributions import common

    seen = []
    real = common.mask_id_number
    monkeypatch.setattr(common, "mask_id_number", lambda value: seen.append(value) or real(value))
    rows = records_page(agent=agent, filters=filters, page_number=1, totals=totals).object_list
    assert len(seen) == len({row.name for row in rows}) < len(rows)  # a person once a page


@pytest.mark.parametrize("may_export", [False, True])
def test_the_page_is_the_plain_templates_page(
    client, settings, tmp_path, monkeypatch, unit, may_export
):
    employer, agent = unit
    if may_export:
        agent = create_agent(employer, roles=[Role.QUERIES, Role.UNIT_ADMIN], name="管理员")
    plain = plain_template(settings, tmp_path, RecordListView.template_name)
    client.force_login(agent.user)
    for url in (
        "/contributions/records/?month_from=2026-07&month_to=2026-09",
        "/contributions/records/?month_from=2026-07&month_to=2026-09&page=2",
        "/contributions/records/",
        "/contributions/records/?month_from=2026-08&insurance_type=pension",
        "/contributions/records/?month_from=2026-09&month_to=2026-07",  # an error: not stored
        "/contributions/records/?month_from=abc&insurance_type=zz",
    ):
        for language in ("zh-hans", "en"):
            headers = {"accept-language": language}
            monkeypatch.setattr(RecordListView, "template_name", "contributions/record_list.html")
            stored = [page_text(client.get(url, headers=headers)) for _ in range(2)]
            monkeypatch.setattr(RecordListView, "template_name", plain)
            plain_page = page_text(client.get(url, headers=headers))
            assert stored == [plain_page, plain_page]
    searched = client.post("/contributions/records/", {"q": "员工01", "month_from": "2026-07"})
    pages = []
    for name in ("contributions/record_list.html", "contributions/record_list.html", plain):
        monkeypatch.setattr(RecordListView, "template_name", name)
        pages.append(page_text(client.get(searched.url)))
        assert "导出" in pages[-1] or not may_export
    assert pages[0] == pages[1] == pages[2] and 'value="员工01"' in pages[0]
