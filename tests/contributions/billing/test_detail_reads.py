"""The bill's page reads its bill, payments, region mode and lines through compiled queries and
prints its fixed parts from stored fragments: the same bill, rows and page as the ORM and the
plain template give."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import connection
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contributions.billing.selectors import (
    LINE_PAGE_SIZE,
    BillLineRow,
    bill_get_for_agent,
    bill_lines_page,
    bill_payments,
)
from contributions.billing.views import BillDetailView
from contributions.collection.services import region_collection_mode
from contributions.models import (
    BillLine,
    CollectionMode,
    InsuranceType,
    MonthlyBill,
    Payment,
    RegionContributionSettings,
)
from employers.models import Role
from portal.identifiers import mask_id_number
from portal.templatetags.portal_tags import percent
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.contributions.fragment_helpers import page_text, plain_template
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent

pytestmark = pytest.mark.django_db

AUGUST = datetime.date(2026, 8, 1)


def _fields(instance) -> dict:
    return {name: value for name, value in instance.__dict__.items() if name != "_state"}


def _detail(bill) -> str:
    return reverse("contributions:bill_detail", kwargs={"bill_reference": bill.reference})


@pytest.fixture
def unit():
    return create_unit_with_staff(3, roles=(Role.CONTRIBUTIONS.value,))


@pytest.fixture
def bill(unit):
    employer, _, _, enrolments = unit
    return create_bill(employer, AUGUST, enrolments)


def _orm_bill(agent, reference):
    """bill_get_for_agent as it was."""
    return get_object_or_404(
        MonthlyBill.objects.select_related("confirmed_by", "employer"),
        reference=reference,
        employer_id=agent.employer_id,
    )


def test_the_bill_is_the_one_get_object_or_404_gave(unit, bill):
    _, agent, _, _ = unit
    for confirmed_by in (None, agent):
        MonthlyBill.objects.filter(pk=bill.pk).update(confirmed_by=confirmed_by)
        mine, theirs = (
            bill_get_for_agent(agent=agent, reference=bill.reference),
            _orm_bill(agent, bill.reference),
        )
        assert _fields(mine) == _fields(theirs)
        assert _fields(mine.employer) == _fields(theirs.employer)
        assert (mine.confirmed_by is None) == (confirmed_by is None)
        if confirmed_by is not None:
            assert _fields(mine.confirmed_by) == _fields(theirs.confirmed_by)
        with CaptureQueriesContext(connection) as queries:
            mine.employer.region_id, mine.confirmed_by  # noqa: B018 — read with the bill
        assert len(queries) == 0
    stranger = create_agent()
    for who, reference in ((stranger, bill.reference), (agent, "HD-NOT-A-BILL")):
        with pytest.raises(Http404) as mine_404:
            bill_get_for_agent(agent=who, reference=reference)
        with pytest.raises(Http404) as theirs_404:
            _orm_bill(who, reference)
        assert str(mine_404.value) == str(theirs_404.value)


def test_the_payments_are_the_ones_the_orm_gave(unit, bill):
    employer, agent, _, _ = unit
    assert bill_payments(bill) == []
    other = create_agent(employer=employer)
    now = timezone.now()
    for index, (who, status) in enumerate(
        [(agent, Payment.Status.FAILED), (other, Payment.Status.DEBITED), (agent, "requested")]
    ):
        Payment.objects.create(
            reference=f"ZF{bill.pk}{index}",
            bill=bill,
            employer=employer,
            amount=bill.total,
            status=status,
            requested_by=who,
            requested_at=now - datetime.timedelta(minutes=index % 2),
            idempotency_key=uuid.uuid4(),
        )
    create_bill(employer, datetime.date(2026, 9, 1), unit[3])  # another bill, no payments
    mine = bill_payments(bill)
    theirs = list(
        Payment.objects.filter(bill=bill)
        .select_related("requested_by")
        .order_by("-requested_at", "-pk")
    )
    assert len(mine) == 3 and mine == theirs
    for one, other in zip(mine, theirs, strict=True):
        assert _fields(one) == _fields(other)
        assert _fields(one.requested_by) == _fields(other.requested_by)


def test_the_region_mode_is_the_one_the_orm_gave(unit):
    employer = unit[0]

    def orm_mode(region_id):
        mode = (
            RegionContributionSettings.objects.filter(region_id=region_id)
            .values_list("collection_mode", flat=True)
            .first()
        )
        return mode or CollectionMode.TAX_BUREAU

    region = employer.region_id
    for mode in (CollectionMode.DIRECT_DEBIT, CollectionMode.TAX_BUREAU):
        RegionContributionSettings.objects.filter(region_id=region).update(collection_mode=mode)
        assert region_collection_mode(region) == orm_mode(region) == mode
    RegionContributionSettings.objects.filter(region_id=region).delete()
    assert region_collection_mode(region) == orm_mode(region) == CollectionMode.TAX_BUREAU


def _old_line_rows(bill, number: int) -> list[BillLineRow]:
    """A page's rows as bill_line_rows made them: every line's document number decrypted and
    masked, every amount read back from its text before formatting."""
    from decimal import Decimal

    labels = {kind: str(label) for kind, label in InsuranceType.choices}
    lines = (
        BillLine.objects.filter(bill_id=bill.pk)
        .order_by("position")
        .values_list(
            "enrolment_id",
            "person__name",
            "person__document_number",
            "insurance_type",
            "base",
            "employer_rate",
            "employer_amount",
            "personal_rate",
            "personal_amount",
        )
    )
    start = (number - 1) * LINE_PAGE_SIZE
    rows, last = [], None
    for enrolment, name, document, kind, base, e_rate, e_amount, p_rate, p_amount in lines[
        start : start + LINE_PAGE_SIZE
    ]:
        rows.append(
            BillLineRow(
                enrolment_id=enrolment,
                first_of_person=enrolment != last,
                name=name,
                masked_document_number=mask_id_number(document),
                type_label=labels.get(kind, kind),
                base=f"{Decimal(str(base)):,.2f}",
                employer_rate=percent(e_rate),
                employer_amount=f"{Decimal(str(e_amount)):,.2f}",
                personal_rate=percent(p_rate),
                personal_amount=f"{Decimal(str(p_amount)):,.2f}",
            )
        )
        last = enrolment
    return rows


def test_the_lines_rows_are_the_ones_made_line_by_line(unit):
    employer = unit[0]
    many = [create_enrolment(employer, name=f"员工{index:02d}") for index in range(30)]
    large = create_bill(employer, AUGUST, many)  # 120 lines: two pages
    for number in (1, 2):
        rows = list(bill_lines_page(large, number).object_list)
        assert rows == _old_line_rows(large, number)
    # Each person's number decrypted once a page, not once a line.
    from contributions import common

    seen = []
    real = common.mask_id_number
    common.mask_id_number = lambda value: seen.append(value) or real(value)
    try:
        bill_lines_page(large, 1)
    finally:
        common.mask_id_number = real
    assert len(seen) == LINE_PAGE_SIZE // 4


@pytest.mark.parametrize("mode", [CollectionMode.DIRECT_DEBIT, CollectionMode.TAX_BUREAU])
def test_the_page_is_the_plain_templates_page(client, settings, tmp_path, monkeypatch, mode):
    employer, agent, _, enrolments = create_unit_with_staff(
        2, roles=(Role.CONTRIBUTIONS.value,), collection_mode=mode
    )
    bill = create_bill(employer, AUGUST, enrolments)
    plain = plain_template(settings, tmp_path, BillDetailView.template_name)
    client.force_login(agent.user)
    confirm = reverse("contributions:bill_confirm", kwargs={"bill_reference": bill.reference})
    for step in ("assessed", "confirmed"):
        if step == "confirmed":
            client.post(confirm)
            client.get(_detail(bill))  # shows (and spends) the confirmation's message
        for language in ("zh-hans", "en"):
            url = f"{_detail(bill)}?page=1"
            monkeypatch.setattr(BillDetailView, "template_name", "contributions/bill_detail.html")
            stored = [page_text(client.get(url, headers={"accept-language": language}))]
            stored.append(page_text(client.get(url, headers={"accept-language": language})))
            monkeypatch.setattr(BillDetailView, "template_name", plain)
            plain_page = page_text(client.get(url, headers={"accept-language": language}))
            assert stored == [plain_page, plain_page]
