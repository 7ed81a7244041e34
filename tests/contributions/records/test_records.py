"""缴费记录查询: filters, totals checked by hand, bad input, tenant isolation, query counts."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contributions.common import add_months
from contributions.models import BillLine, BillStatus, ContributionBase
from employers.models import Role
from enrollment.models import Person
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent

pytestmark = pytest.mark.django_db

URL = "/contributions/records/"
JUL, AUG, SEP = datetime.date(2026, 7, 1), datetime.date(2026, 8, 1), datetime.date(2026, 9, 1)
RANGE = {"month_from": "2026-07", "month_to": "2026-09"}


@pytest.fixture
def unit():
    """Three employees (职工1 and 职工2 with bases of 8000, 王小明 with 12345.67) billed for
    July (settled), August (debited) and September (assessed); another unit billed for July."""
    employer, agent, period, enrolments = create_unit_with_staff(3)
    ContributionBase.objects.filter(enrolment=enrolments[2]).update(base=Decimal("12345.67"))
    Person.objects.filter(pk=enrolments[2].person_id).update(name="王小明")
    bills = {
        JUL: create_bill(employer, JUL, enrolments, status=BillStatus.SETTLED),
        AUG: create_bill(employer, AUG, enrolments, status=BillStatus.DEBITED),
        SEP: create_bill(employer, SEP, enrolments, status=BillStatus.ASSESSED),
    }
    other, _other_agent, _p, other_enrolments = create_unit_with_staff(2, period=period)
    create_bill(other, JUL, other_enrolments, status=BillStatus.SETTLED)
    queries_agent = create_agent(employer, roles=[Role.QUERIES], name="查询员")
    return {
        "employer": employer,
        "agent": queries_agent,
        "enrolments": enrolments,
        "bills": bills,
        "other_enrolments": other_enrolments,
    }


@pytest.fixture
def agent_client(client, unit):
    client.force_login(unit["agent"].user)
    return client


def search(client, **data):
    """Search as the page's form does: POST, then the results at ``?s=<token>``."""
    return client.post(URL, data, follow=True)


def totals_of(response):
    totals = response.context["totals"]
    by_type = {item.insurance_type: item for item in totals.by_type}
    return totals, by_type


# Totals, checked by hand ----------------------------------------------------------------------
# Per month: 8000 → 养老 1280.00/640.00, 医疗 784.00/160.00, 失业 40.00/40.00, 工伤(一类 0.2 %)
# 16.00/0 — employer 2120.00, personal 840.00. 12345.67 → 养老 1975.3072 → 1975.31 / 987.6536 →
# 987.65; 医疗 1209.87566 → 1209.88 / 246.9134 → 246.91; 失业 61.72835 → 61.73 / 61.73; 工伤
# 24.69134 → 24.69 — employer 3271.61, personal 1296.29. A month: employer 7511.61, personal
# 2976.29; three months: 22534.83 and 8928.87, 31463.70 in all.


def test_totals_of_three_months_by_hand(agent_client):
    response = agent_client.get(URL, RANGE)
    assert response.status_code == 200
    totals, by_type = totals_of(response)
    assert totals.rows == 3 * 4 * 3
    assert totals.employer == Decimal("22534.83")
    assert totals.personal == Decimal("8928.87")
    assert totals.total == Decimal("31463.70")
    # 养老: (1280 × 2 + 1975.31) × 3 and (640 × 2 + 987.65) × 3.
    assert by_type["pension"].employer == Decimal("13605.93")
    assert by_type["pension"].personal == Decimal("6802.95")
    assert by_type["work_injury"].employer == Decimal("170.07")  # (16 × 2 + 24.69) × 3
    assert by_type["work_injury"].personal == Decimal("0.00")
    body = response.content.decode()
    assert "22,534.83" in body and "31,463.70" in body


def test_rows_show_masked_id_and_the_bill_status(agent_client, unit):
    response = agent_client.get(URL, RANGE)
    body = response.content.decode()
    person = unit["enrolments"][0].person
    assert person.masked_document_number in body
    assert person.document_number not in body
    assert "已到账" in body and "已扣款" in body and "已核定" in body
    rows = response.context["page"].object_list
    assert len(rows) == 36
    assert rows[0].month == SEP  # newest month first


def test_rows_carry_the_status_badge_and_a_months_without_records_say_so(agent_client):
    body = agent_client.get(URL, RANGE).content.decode()
    for colour, label in (("success", "已到账"), ("info", "已扣款"), ("warning", "已核定")):
        assert f'<span class="badge text-bg-{colour}">{label}</span>' in body
    empty = agent_client.get(URL, {"month_from": "2026-01", "month_to": "2026-02"})
    assert empty.context["page"].object_list == []
    assert (
        '<tbody>\n  \n    <tr><td colspan="8" class="text-center text-body-secondary">'
        "没有符合条件的缴费记录。</td></tr>\n  \n  </tbody>"
    ) in empty.content.decode()


def test_filter_by_part_of_the_name(agent_client):
    totals, by_type = totals_of(search(agent_client, **RANGE, q="小明"))
    assert totals.rows == 12
    assert totals.employer == Decimal("9814.83")  # 3271.61 × 3
    assert totals.personal == Decimal("3888.87")  # 1296.29 × 3


def test_filter_by_the_full_id_number_only(agent_client, unit):
    number = unit["enrolments"][0].person.document_number
    totals, _ = totals_of(search(agent_client, **RANGE, q=number.lower()))
    assert totals.rows == 12
    assert totals.employer == Decimal("6360.00")
    totals, _ = totals_of(search(agent_client, **RANGE, q=number[:10]))
    assert totals.rows == 0


def test_filter_by_month_range_and_insurance_type(agent_client):
    totals, _ = totals_of(
        agent_client.get(
            URL, {"month_from": "2026-08", "month_to": "2026-08", "insurance_type": "pension"}
        )
    )
    assert totals.rows == 3
    assert totals.employer == Decimal("4535.31")
    assert totals.personal == Decimal("2267.65")


def test_another_units_person_is_never_found(agent_client, unit):
    number = unit["other_enrolments"][0].person.document_number
    response = search(agent_client, **RANGE, q=number)
    totals, _ = totals_of(response)
    assert totals.rows == 0
    assert unit["other_enrolments"][0].person.name not in response.content.decode()
    # Unfiltered, the other unit's July lines are not counted either.
    totals, _ = totals_of(agent_client.get(URL, {"month_from": "2026-07", "month_to": "2026-07"}))
    assert totals.rows == 12


# Bad input --------------------------------------------------------------------------------------


def next_month() -> str:
    return f"{add_months(timezone.localdate().replace(day=1), 1):%Y-%m}"


def test_a_future_month_is_refused_next_to_the_field(agent_client):
    response = agent_client.get(URL, {"month_from": "2026-07", "month_to": next_month()})
    assert response.status_code == 200
    assert response.context["form"].errors["month_to"] == ["不能查询未来月份"]
    assert "不能查询未来月份" in response.content.decode()
    assert "page" not in response.context
    assert next_month() in response.content.decode()  # what was typed is kept


@pytest.mark.parametrize("text", ["abc", "2026-13", "2026/7/99", "12345678"])
def test_a_month_that_is_not_a_month_is_refused(agent_client, text):
    response = agent_client.get(URL, {"month_from": text})
    assert "请按“年-月”格式填写,如 2026-07" in response.context["form"].errors["month_from"]
    assert "page" not in response.context


def test_start_after_end_and_too_long_ranges_are_refused(agent_client):
    response = agent_client.get(URL, {"month_from": "2026-09", "month_to": "2026-07"})
    assert response.context["form"].errors["month_to"] == ["截止年月不能早于起始年月"]
    response = agent_client.get(URL, {"month_from": "2020-01", "month_to": "2026-07"})
    assert response.context["form"].errors["month_to"] == ["一次最多查询 36 个月,请缩小年月范围"]


def test_a_refused_search_shows_the_form_again_and_keeps_nothing(agent_client, unit):
    number = unit["enrolments"][0].person.document_number
    response = agent_client.post(URL, {"q": number, "month_from": "2026-07", "month_to": "abc"})
    assert response.status_code == 200
    assert "请按“年-月”格式填写,如 2026-07" in response.context["form"].errors["month_to"]
    assert "page" not in response.context
    assert f'value="{number}"' in response.content.decode()  # what was typed is kept
    assert "search_tokens" not in agent_client.session


def test_without_months_the_last_twelve_months_are_shown(agent_client):
    response = agent_client.get(URL)
    current = timezone.localdate().replace(day=1)
    assert response.context["filters"]["month_to"] == current
    assert response.context["filters"]["month_from"] == add_months(current, -11)


def test_an_agent_without_the_query_role_is_refused(client, unit):
    other = create_agent(unit["employer"], roles=[Role.ENROLMENT], name="增减员经办人")
    client.force_login(other.user)
    assert client.get(URL, RANGE).status_code == 403


def test_the_menu_links_to_the_records_page(agent_client):
    body = agent_client.get(URL, RANGE).content.decode()
    assert 'href="/contributions/records/"' in body


# Query count ------------------------------------------------------------------------------------


def count_queries(client, params, *, cold: bool) -> int:
    if cold:
        cache.clear()  # nothing of the totals lives in the cache: a cleared one costs nothing
    if "q" in params:  # a search by name is POSTed once and read at ?s=<token>
        url, params = client.post(URL, params)["Location"], {}
    else:
        url = URL
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured.captured_queries)


def counts(client) -> list[int]:
    return [
        count_queries(client, RANGE, cold=True),
        count_queries(client, RANGE, cold=False),
        count_queries(client, {**RANGE, "page": "2"}, cold=False),
        count_queries(client, {**RANGE, "q": "职工"}, cold=False),
        count_queries(client, {**RANGE, "insurance_type": "medical"}, cold=False),
    ]


def test_query_count_does_not_grow_with_the_records(agent_client, unit):
    agent_client.get(URL)  # the first request of a session writes its own rows
    small = counts(agent_client)
    employer = unit["employer"]
    more = [create_enrolment(employer, name=f"新职工{i}") for i in range(30)]
    for month in (JUL, AUG, SEP):
        bill = unit["bills"][month]
        BillLine.objects.filter(bill=bill).delete()
        bill.delete()
        create_bill(employer, month, unit["enrolments"] + more, status=BillStatus.SETTLED)
    assert BillLine.objects.filter(employer=employer).count() == 33 * 4 * 3
    assert counts(agent_client) == small
    assert small[1] == small[0]  # the totals come from the bills' stored per-type sums


def test_totals_follow_a_regenerated_bill(agent_client, unit):
    assert totals_of(agent_client.get(URL, RANGE))[0].employer == Decimal("22534.83")
    # Regenerated as contributions.billing.engine does: new lines, totals and generated_at.
    bill = unit["bills"][SEP]
    BillLine.objects.filter(bill=bill).delete()
    replaced = create_bill(unit["employer"], SEP, unit["enrolments"][:1], sequence=9)
    BillLine.objects.filter(bill=replaced).update(bill=bill)
    bill.employer_total, bill.personal_total = replaced.employer_total, replaced.personal_total
    bill.type_totals = replaced.type_totals
    bill.line_sums = replaced.line_sums
    bill.generated_at = timezone.now()
    bill.save()
    replaced.delete()
    totals, _ = totals_of(agent_client.get(URL, RANGE))
    assert totals.rows == 12 + 12 + 4
    assert totals.employer == Decimal("7511.61") * 2 + Decimal("2120.00")
    totals, _ = totals_of(agent_client.get(URL, {"month_from": "2026-09", "month_to": "2026-09"}))
    assert totals.personal == Decimal("840.00")


def test_pages_of_fifty_with_the_totals_of_all(agent_client, unit):
    employer = unit["employer"]
    more = [create_enrolment(employer, name=f"新职工{i}") for i in range(5)]
    create_bill(employer, JUL, more, status=BillStatus.SETTLED, kind="supplement", sequence=1)
    response = agent_client.get(URL, {**RANGE, "page": "2"})
    totals, _ = totals_of(response)
    assert totals.rows == 56
    assert len(response.context["page"].object_list) == 6
    assert response.context["page"].paginator.num_pages == 2
    assert totals.employer == Decimal("22534.83") + 5 * Decimal("2120.00")


@pytest.mark.parametrize("insurance_type", ["", "pension"])
def test_pages_by_month_window_match_the_plain_order(
    agent_client, unit, monkeypatch, insurance_type
):
    from contributions.records import selectors as records

    monkeypatch.setattr(records, "PAGE_SIZE", 5)
    params = {**RANGE, "insurance_type": insurance_type}
    expected = list(
        records.records_for_agent(
            unit["agent"], month_from=JUL, month_to=SEP, insurance_type=insurance_type
        )
        .order_by(*records.ROW_ORDER)
        .values_list("pk", flat=True)
    )
    seen = []
    first = agent_client.get(URL, params)
    pages = first.context["page"].paginator.num_pages
    assert first.context["page"].paginator.month_rows  # the month window is in use
    for number in range(1, pages + 1):
        page = agent_client.get(URL, {**params, "page": number}).context["page"]
        seen += [row.pk for row in page.object_list]
    assert seen == expected
