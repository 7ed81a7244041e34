"""缴费基数申报 on screen: prefill, bad input, bounds and the adjust button, submission."""

from __future__ import annotations

import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contributions.declarations.rules import parse_amount
from contributions.declarations.selectors import default_period
from contributions.declarations.services import LineInput, base_declaration_submit
from contributions.models import BaseDeclaration, BaseDeclarationLine, ContributionBase
from employers.models import Role
from portal.models import AuditEvent
from tests.contributions.declaration_helpers import LOWER, UPPER, URL, make_unit, screen_data
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent

pytestmark = pytest.mark.django_db

BOUNDS_TEXT = "应在 7162.00 元至 35811.00 元之间"


@pytest.fixture
def unit():
    return make_unit(review=False)


@pytest.fixture
def agent_client(client, unit):
    client.force_login(unit.agent.user)
    return client


def page_url(unit) -> str:
    return f"{URL}?period={unit.period.pk}"


def input_value(html: str, name: str) -> str:
    match = re.search(rf'<input type="text" name="{name}"[^>]*value="([^"]*)"', html)
    assert match, f"no input {name}"
    return match.group(1)


def error_of(html: str, name: str) -> str:
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{name}_error">([^<]*)</div>', html
    )
    return match.group(1) if match else ""


def test_page_prefills_last_years_bases_and_shows_the_bounds(agent_client, unit):
    response = agent_client.get(page_url(unit))
    html = response.content.decode()
    assert response.status_code == 200
    assert "缴费基数下限 7162.00 元,上限 35811.00 元" in html
    # Last year's ContributionBase, else the enrolment's own wage (8000).
    assert input_value(html, unit.field(0)) == "9000.00"
    assert input_value(html, unit.field(1)) == "12000.00"
    assert input_value(html, unit.field(2)) == "8000.00"
    person = unit.staff[0].person
    assert person.masked_document_number in html and person.document_number not in html
    rows = response.context["screen_rows"]
    assert [row.row.previous_base for row in rows] == [
        Decimal("9000.00"),
        Decimal("12000.00"),
        Decimal("8000.00"),
    ]


def test_page_prefills_what_this_period_already_has(agent_client, unit):
    ContributionBase.objects.create(
        enrolment=unit.staff[1], period=unit.period, base=Decimal("15000.00")
    )
    html = agent_client.get(page_url(unit)).content.decode()
    assert input_value(html, unit.field(1)) == "15000.00"


def test_demo_period_is_labelled(agent_client, unit):
    unit.period.note = "演示数据:仿照北京市口径"
    unit.period.save()
    assert "演示数据,非官方公布数字" in agent_client.get(page_url(unit)).content.decode()


def test_default_period_is_the_next_published_one_else_the_current_one(unit):
    periods = [unit.period, unit.previous]
    assert default_period(periods, datetime.date(2026, 6, 15)) == unit.period
    assert default_period(periods, datetime.date(2026, 11, 1)) == unit.period
    assert default_period([unit.previous], datetime.date(2026, 3, 1)) == unit.previous


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "“abc”不是有效的金额"),
        ("-1", "金额不能为负数"),
        ("1.234", "金额最多保留两位小数"),
        ("", "请填写月平均工资"),
    ],
)
def test_bad_value_message_next_to_the_field_with_the_value_kept(
    agent_client, unit, typed, message
):
    data = screen_data(unit, [typed, "9000", "12000"], str(uuid.uuid4()))
    response = agent_client.post(URL, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in error_of(html, unit.field(0))
    assert input_value(html, unit.field(0)) == typed
    assert input_value(html, unit.field(1)) == "9000"  # the other rows keep what was typed too
    assert error_of(html, unit.field(1)) == ""
    assert not BaseDeclaration.objects.exists()


def test_parse_amount_accepts_commas_and_whole_yuan():
    assert parse_amount("12,000") == Decimal("12000.00")
    assert parse_amount(" 8000.5 ") == Decimal("8000.50")


def test_out_of_bounds_refused_with_the_bounds_and_the_adjust_button(agent_client, unit):
    data = screen_data(unit, ["5000", "50000", "9000"], str(uuid.uuid4()))
    html = agent_client.post(URL, data).content.decode()
    assert BOUNDS_TEXT in error_of(html, unit.field(0))
    assert BOUNDS_TEXT in error_of(html, unit.field(1))
    assert error_of(html, unit.field(2)) == ""
    assert "一键调整到上下限" in html and 'value="adjust"' in html
    assert input_value(html, unit.field(0)) == "5000"
    assert (
        not BaseDeclaration.objects.exists()
        and not ContributionBase.objects.filter(period=unit.period).exists()
    )


def test_adjust_sets_exactly_the_bounds_marks_the_rows_and_saves_nothing(agent_client, unit):
    key = str(uuid.uuid4())
    data = screen_data(unit, ["5000", "50000", "abc"], key, action="adjust")
    response = agent_client.post(URL, data)
    html = response.content.decode()
    assert input_value(html, unit.field(0)) == "7162.00"
    assert input_value(html, unit.field(1)) == "35811.00"
    assert input_value(html, unit.field(2)) == "abc"  # an unreadable value is not touched
    assert "“abc”不是有效的金额" in error_of(html, unit.field(2))
    marked = set(re.findall(r'data-adjusted-row="(\d+)"', html))
    assert marked == {str(unit.staff[0].pk), str(unit.staff[1].pk)}
    assert "填写的工资 5000.00 元" in html and "填写的工资 50000.00 元" in html
    assert not BaseDeclaration.objects.exists()

    # Fix the third row and submit what the page now holds: the wages are kept on the lines.
    adjusted = re.search(r'name="adjusted" value="([^"]*)"', html).group(1)
    data = screen_data(
        unit, ["7162.00", "35811.00", "9000"], key, adjusted=adjusted.replace("&quot;", '"')
    )
    response = agent_client.post(URL, data)
    declaration = BaseDeclaration.objects.get()
    assert response.status_code == 302 and response["Location"] == declaration.get_absolute_url()
    lines = {
        line.enrolment_id: line
        for line in BaseDeclarationLine.objects.filter(declaration=declaration)
    }
    low, high, plain = (lines[e.pk] for e in unit.staff)
    assert (low.wage, low.declared_base, low.adjusted_to_bound) == (Decimal("5000"), LOWER, True)
    assert (high.wage, high.declared_base, high.adjusted_to_bound) == (
        Decimal("50000"),
        UPPER,
        True,
    )
    assert (plain.wage, plain.declared_base, plain.adjusted_to_bound) == (
        Decimal("9000"),
        Decimal("9000"),
        False,
    )


def test_changing_an_adjusted_value_drops_the_adjustment(agent_client, unit):
    key = str(uuid.uuid4())
    data = screen_data(unit, ["8000", "9000", "10000"], key, adjusted=f"{unit.staff[0].pk}:5000")
    agent_client.post(URL, data)
    line = BaseDeclarationLine.objects.get(enrolment=unit.staff[0])
    assert (line.wage, line.declared_base, line.adjusted_to_bound) == (
        Decimal("8000"),
        Decimal("8000"),
        False,
    )


def test_bases_exactly_at_each_bound_are_accepted(agent_client, unit):
    data = screen_data(unit, ["7162.00", "35811", "7162"], str(uuid.uuid4()))
    assert agent_client.post(URL, data).status_code == 302
    bases = dict(
        ContributionBase.objects.filter(period=unit.period).values_list("enrolment_id", "base")
    )
    assert bases == {unit.staff[0].pk: LOWER, unit.staff[1].pk: UPPER, unit.staff[2].pk: LOWER}
    assert not BaseDeclarationLine.objects.filter(adjusted_to_bound=True).exists()


def test_region_without_review_applies_at_once(agent_client, unit):
    ContributionBase.objects.create(
        enrolment=unit.staff[0], period=unit.period, base=Decimal("7500.00")
    )
    data = screen_data(unit, ["9500", "12500.50", "8000"], str(uuid.uuid4()))
    response = agent_client.post(URL, data, follow=True)
    declaration = BaseDeclaration.objects.get()
    assert declaration.applied_at is not None and declaration.review_state == ""
    assert "已提交并生效" in response.content.decode()
    rows = {row.enrolment_id: row for row in ContributionBase.objects.filter(period=unit.period)}
    assert {k: v.base for k, v in rows.items()} == {
        unit.staff[0].pk: Decimal("9500.00"),  # updated
        unit.staff[1].pk: Decimal("12500.50"),
        unit.staff[2].pk: Decimal("8000.00"),
    }
    assert all(row.declaration_id == declaration.pk for row in rows.values())
    assert rows[unit.staff[0].pk].history.count() == 2  # created, then updated by the declaration
    assert ContributionBase.objects.filter(period=unit.previous).count() == 2  # untouched
    actions = set(
        AuditEvent.objects.filter(object_id=str(declaration.pk)).values_list("action", flat=True)
    )
    assert {"contributions.declaration_submitted", "contributions.declaration_applied"} <= actions


def test_double_submission_makes_one_declaration(agent_client, unit):
    data = screen_data(unit, ["9000", "12000", "8000"], str(uuid.uuid4()))
    first = agent_client.post(URL, data)
    second = agent_client.post(URL, data)
    declaration = BaseDeclaration.objects.get()
    assert first["Location"] == second["Location"] == declaration.get_absolute_url()
    assert BaseDeclarationLine.objects.count() == 3


def test_persons_outside_the_unit_or_not_active_are_refused_by_the_service(unit):
    from django.core.exceptions import ValidationError

    left = create_enrolment(unit.employer, name="已减员", status="terminated")
    with pytest.raises(ValidationError) as caught:
        base_declaration_submit(
            agent=unit.agent,
            period=unit.period,
            lines=[LineInput(left.pk, Decimal("9000")), LineInput(unit.staff[0].pk, Decimal("1"))],
            source="screen",
            idempotency_key=uuid.uuid4(),
        )
    text = " ".join(caught.value.messages)
    assert f"人员编号 {left.pk} 不是本单位正常参保的职工" in text and BOUNDS_TEXT in text
    assert not BaseDeclaration.objects.exists()


def test_queries_only_agent_gets_403(client, unit):
    reader = create_agent(unit.employer, roles=[Role.QUERIES], name="查询员")
    client.force_login(reader.user)
    for path in (URL, f"{URL}history/", f"{URL}template.xlsx", f"{URL}upload/"):
        assert client.get(path).status_code == 403
    data = screen_data(unit, ["9000", "12000", "8000"], str(uuid.uuid4()))
    assert client.post(URL, data).status_code == 403
    assert not BaseDeclaration.objects.exists()


def test_another_units_period_is_404(agent_client, unit):
    from portal.models import Region
    from tests.contributions.factories import make_period

    other = make_period(Region.objects.create(code="310000", name="上海市(测试)"))
    assert agent_client.get(f"{URL}?period={other.pk}").status_code == 404
    data = screen_data(unit, ["9000", "12000", "8000"], str(uuid.uuid4()), period=other.pk)
    assert agent_client.post(URL, data).status_code == 404


def test_declare_page_query_count_is_constant(agent_client, unit):
    agent_client.get(page_url(unit))
    with CaptureQueriesContext(connection) as few:
        agent_client.get(page_url(unit))
    for index in range(20):
        enrolment = create_enrolment(unit.employer, name=f"新职工{index}")
        ContributionBase.objects.create(
            enrolment=enrolment, period=unit.previous, base=Decimal("9000")
        )
    with CaptureQueriesContext(connection) as many:
        response = agent_client.get(page_url(unit))
    assert len(response.context["screen_rows"]) == 23
    assert len(many.captured_queries) == len(few.captured_queries)


def test_large_units_are_sent_to_excel(agent_client, unit, monkeypatch):
    from contributions.declarations import selectors as declaration_selectors

    monkeypatch.setattr(declaration_selectors, "SCREEN_LIMIT", 2)
    html = agent_client.get(page_url(unit)).content.decode()
    assert "超过 2 人,请下载 Excel 模板" in html and 'name="base_' not in html
    data = screen_data(unit, ["9000", "12000", "8000"], str(uuid.uuid4()))
    assert agent_client.post(URL, data).status_code == 302
    assert not BaseDeclaration.objects.exists()


def test_region_without_published_policy_says_so(client):
    from contributions.models import PolicyPeriod

    unit = make_unit(review=False)
    PolicyPeriod.objects.update(is_published=False)
    client.force_login(unit.agent.user)
    response = client.get(URL)
    assert response.status_code == 200 and "尚未发布缴费政策" in response.content.decode()
    assert client.get(f"{URL}template.xlsx").status_code == 404
