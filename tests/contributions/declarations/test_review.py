"""缴费基数申报 through review: queue, clerk decisions in admin, notices, list and detail pages."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contributions.declarations.review import declaration_prechecks
from contributions.declarations.selectors import active_enrolments
from contributions.declarations.services import LineInput, base_declaration_submit
from contributions.models import BaseDeclaration, ContributionBase
from portal.models import Notification, ReviewState
from tests.conftest import otp_verify
from tests.contributions.declaration_helpers import URL, make_unit, screen_data
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_clerk

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit():
    return make_unit()  # no settings row: review required


@pytest.fixture
def agent_client(client, unit):
    client.force_login(unit.agent.user)
    return client


def submit(unit, values=("9000", "12000", "50000"), adjust=True) -> BaseDeclaration:
    lines = [
        LineInput(e.pk, Decimal(v), adjust=adjust) for e, v in zip(unit.staff, values, strict=True)
    ]
    return base_declaration_submit(
        agent=unit.agent,
        period=unit.period,
        lines=lines,
        source=BaseDeclaration.Source.SCREEN,
        idempotency_key=uuid.uuid4(),
    )


def decide_url(declaration) -> str:
    return reverse("admin:contributions_basedeclaration_decide", args=[declaration.pk])


def test_region_with_review_queues_and_applies_nothing_yet(agent_client, unit):
    data = screen_data(unit, ["9000", "12000", "8000"], str(uuid.uuid4()))
    response = agent_client.post(URL, data, follow=True)
    declaration = BaseDeclaration.objects.get()
    assert declaration.review_state == ReviewState.SUBMITTED
    assert declaration.review_region_id == unit.employer.region_id
    assert declaration.applied_at is None
    assert not ContributionBase.objects.filter(period=unit.period).exists()
    assert "请等待社保经办机构审核" in response.content.decode()


def test_clerk_approves_in_admin_and_the_bases_apply(admin_client, unit, sms_outbox):
    declaration = submit(unit)
    page = admin_client.get(
        reverse("admin:contributions_basedeclaration_change", args=[declaration.pk])
    ).content.decode()
    person = unit.staff[0].person
    assert person.masked_document_number in page and person.document_number not in page
    assert "35811.00" in page and "(已按上下限调整)" in page
    changelist = admin_client.get(reverse("admin:contributions_basedeclaration_changelist"))
    assert declaration.reference in changelist.content.decode()

    admin_client.post(decide_url(declaration), {"approve": "1"})
    declaration.refresh_from_db()
    assert declaration.review_state == ReviewState.APPROVED and declaration.applied_at
    bases = dict(
        ContributionBase.objects.filter(period=unit.period).values_list("enrolment_id", "base")
    )
    assert bases == {
        unit.staff[0].pk: Decimal("9000.00"),
        unit.staff[1].pk: Decimal("12000.00"),
        unit.staff[2].pk: Decimal("35811.00"),
    }
    notice = Notification.objects.get(template="base_declaration_approved")
    assert notice.recipient == unit.agent.phone
    assert declaration.reference in notice.body and person.name not in notice.body


def test_rejection_shows_the_comment_and_allows_declaring_again(admin_client, client, unit):
    declaration = submit(unit)
    admin_client.post(decide_url(declaration), {"reject": "1", "comment": "职工3工资证明不符"})
    declaration.refresh_from_db()
    assert declaration.review_state == ReviewState.REJECTED
    assert not ContributionBase.objects.filter(period=unit.period).exists()
    notice = Notification.objects.get(template="base_declaration_rejected")
    assert notice.recipient == unit.agent.phone

    client.force_login(unit.agent.user)
    detail = client.get(declaration.get_absolute_url()).content.decode()
    assert "职工3工资证明不符" in detail
    page = client.get(f"{URL}?period={unit.period.pk}").content.decode()
    assert "职工3工资证明不符" in page and declaration.reference in page
    again = submit(unit, values=("9000", "12000", "20000"), adjust=False)
    assert again.pk != declaration.pk and again.review_state == ReviewState.SUBMITTED


def test_second_declaration_while_one_is_open_is_refused_with_its_reference(agent_client, unit):
    declaration = submit(unit)
    data = screen_data(unit, ["9000", "12000", "8000"], str(uuid.uuid4()))
    html = agent_client.post(URL, data).content.decode()
    assert f"业务编号 {declaration.reference}" in html and "正在审核中" in html
    assert BaseDeclaration.objects.count() == 1


def test_opening_the_page_while_a_declaration_is_in_review_says_so(agent_client, unit):
    declaration = submit(unit)
    html = agent_client.get(URL).content.decode()
    assert "data-open-declaration" in html
    assert f"业务编号 {declaration.reference}" in html and "正在审核中" in html
    assert declaration.get_absolute_url() in html


def test_prechecks_flag_bounds_inactive_persons_and_adjustments(
    unit, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        declaration = submit(unit)
    declaration.refresh_from_db()
    results = {check["key"]: check for check in declaration.precheck_results}
    assert results["bases_in_bounds"]["passed"] and results["persons_active"]["passed"]
    assert not results["no_adjustment"]["passed"]
    assert declaration.review_state == ReviewState.PENDING
    # The bounds change and a person leaves after submission: the pre-checks see it.
    unit.period.base_upper = Decimal("30000.00")
    unit.period.save()
    unit.staff[0].status = "terminated"
    unit.staff[0].save()
    checks = {check["key"]: check for check in declaration_prechecks(declaration)}
    assert not checks["bases_in_bounds"]["passed"] and "1 人" in checks["bases_in_bounds"]["detail"]
    assert not checks["persons_active"]["passed"]


def test_clerk_group_may_review_declarations(client, unit):
    clerk = create_clerk()
    assert clerk.has_perm("contributions.change_basedeclaration")
    declaration = submit(unit)
    otp_verify(client, clerk)
    client.post(decide_url(declaration), {"approve": "1"})
    declaration.refresh_from_db()
    assert declaration.review_state == ReviewState.APPROVED


def test_list_and_detail_show_the_units_declarations(agent_client, unit):
    declaration = submit(unit)
    listing = agent_client.get(f"{URL}history/").content.decode()
    assert declaration.reference in listing and "已提交" in listing
    detail = agent_client.get(declaration.get_absolute_url()).content.decode()
    person = unit.staff[2].person
    assert person.masked_document_number in detail and person.document_number not in detail
    assert "已按上下限调整" in detail and "50000.00" in detail


def test_another_units_declaration_is_404(client, unit):
    declaration = submit(unit)
    other = make_unit()
    client.force_login(other.agent.user)
    assert client.get(declaration.get_absolute_url()).status_code == 404
    assert client.get(f"{URL}NOSUCHREF/").status_code == 404
    assert declaration.reference not in client.get(f"{URL}history/").content.decode()


def test_list_and_detail_query_counts_are_constant(agent_client, unit):
    first = submit(unit)
    agent_client.get(f"{URL}history/")
    with CaptureQueriesContext(connection) as few_list:
        agent_client.get(f"{URL}history/")
    with CaptureQueriesContext(connection) as few_detail:
        agent_client.get(first.get_absolute_url())
    for index in range(30):
        create_enrolment(unit.employer, name=f"新{index}")
    BaseDeclaration.objects.filter(pk=first.pk).update(review_state=ReviewState.REJECTED)
    ids = active_enrolments(unit.employer.pk).values_list("pk", flat=True)
    lines = [LineInput(pk, Decimal("9000")) for pk in ids]
    big = base_declaration_submit(
        agent=unit.agent,
        period=unit.period,
        lines=lines,
        source="screen",
        idempotency_key=uuid.uuid4(),
    )
    with CaptureQueriesContext(connection) as many_list:
        response = agent_client.get(f"{URL}history/")
    assert len(response.context["rows"]) == 2
    with CaptureQueriesContext(connection) as many_detail:
        response = agent_client.get(big.get_absolute_url())
    assert len(response.context["page"].object_list) == 33
    assert len(many_list.captured_queries) == len(few_list.captured_queries)
    assert len(many_detail.captured_queries) == len(few_detail.captured_queries)
