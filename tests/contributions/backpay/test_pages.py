"""The 补缴申请 pages: compute then file, errors next to the field, who may open them, another
unit's applications, the list's cost, the menu, 已办业务查询 and the clerk's screens."""

from __future__ import annotations

import pytest
from django.urls import reverse

from contributions.backpay.services import backpay_compute, backpay_submit
from contributions.models import BackPayApplication, BillKind, MonthlyBill
from employers.models import Role
from portal.models import ReviewState
from tests.conftest import otp_verify
from tests.contributions.backpay.helpers import D, Unit, key, months_ago, months_post, pdf
from tests.factories import create_agent, create_clerk
from tests.portal.test_csp import inline_code

pytestmark = pytest.mark.django_db

INDEX = reverse("contributions:backpay_index")
APPLY = reverse("contributions:backpay_apply")


@pytest.fixture
def unit():
    return Unit("补缴页面有限公司")


@pytest.fixture
def agent_client(client, unit):
    client.force_login(unit.agent.user)
    return client


def applications_of(unit: Unit, tag: str, count: int = 1) -> list[BackPayApplication]:
    """``count`` filed applications, each for its own late joiner."""
    made = []
    for index in range(count):
        person = unit.late_joiner(f"{tag}职工{index}")
        months = [(months_ago(5), D("9000"))]
        figures = backpay_compute(
            agent=unit.agent, document_number=person.person.document_number, months=months
        )
        made.append(
            backpay_submit(
                agent=unit.agent,
                idempotency_key=key(),
                document_number=person.person.document_number,
                months=months,
                reason=f"{tag}漏缴",
                shown_total=figures.total,
                evidence=pdf(),
            )
        )
    return made


def test_compute_shows_the_figures_then_submit_files_them(agent_client, unit):
    lei = unit.late_joiner()
    rows = [(months_ago(5), "9000"), (months_ago(4), "9000")]
    data = months_post(rows, document_number=lei.person.document_number, action="compute")
    response = agent_client.post(APPLY, data)
    body = response.content.decode()
    figures = response.context["figures"]
    assert response.status_code == 200 and figures is not None
    assert f"data-total>{figures.total:,.2f}" in body
    assert "× 0.05% ×" in body and "滞纳天数从该月原缴费截止日" in body
    assert not BackPayApplication.objects.exists()
    shown = response.context["form"]["shown_total"].value()
    assert shown == str(figures.total)
    data.update(action="submit", shown_total=shown, evidence=pdf())
    response = agent_client.post(APPLY, data)
    application = BackPayApplication.objects.get()
    assert response.status_code == 302 and response["Location"] == application.get_absolute_url()
    assert application.total == figures.total
    page = agent_client.get(application.get_absolute_url()).content.decode()
    assert application.reference in page and lei.person.masked_document_number in page
    assert lei.person.document_number not in page


def test_submit_without_figures_shown_only_computes(agent_client, unit):
    lei = unit.late_joiner()
    data = months_post(
        [(months_ago(5), "9000")], document_number=lei.person.document_number, action="submit"
    )
    response = agent_client.post(APPLY, {**data, "evidence": pdf()})
    assert response.status_code == 200 and response.context["figures"] is not None
    assert not BackPayApplication.objects.exists()


def test_a_changed_total_shows_the_new_figures(agent_client, unit):
    lei = unit.late_joiner()
    data = months_post(
        [(months_ago(5), "9000")],
        document_number=lei.person.document_number,
        action="submit",
        shown_total="1.00",
    )
    response = agent_client.post(APPLY, {**data, "evidence": pdf()})
    body = response.content.decode()
    assert "计算结果已变化" in body and response.context["figures"] is not None
    assert not BackPayApplication.objects.exists()


def row_errors(response) -> list[dict]:
    return [row.errors for row in response.context["form"].rows if row.is_bound and row.errors]


def test_bad_input_is_answered_next_to_the_field_keeping_what_was_typed(agent_client, unit):
    lei = unit.late_joiner()
    # An unparseable month, a missing base, a base below the bound.
    data = months_post(
        [("2025年3月", "9000"), (months_ago(5), ""), (months_ago(4), "100")],
        document_number=lei.person.document_number,
        action="compute",
    )
    response = agent_client.post(APPLY, data)
    errors = row_errors(response)
    assert errors[0]["month"] == ["请按“年-月”填写月份,如 2025-03。"]
    assert errors[1]["base"] == ["请填写此项。"]
    body = response.content.decode()
    assert 'value="2025年3月"' in body and 'value="100"' in body
    assert "请修改下列补缴月份中标出的错误。" in body
    # Now the rows parse: the base below the bound is refused on its row, naming the bounds.
    data = months_post(
        [(months_ago(4), "100")], document_number=lei.person.document_number, action="compute"
    )
    response = agent_client.post(APPLY, data)
    [errors] = row_errors(response)
    assert "7162.00 元至 35811.00 元" in errors["base"][0]
    # A month inside the enrolment, on its row; an unknown person, on the person's field.
    data = months_post(
        [(months_ago(1), "9000")], document_number=lei.person.document_number, action="compute"
    )
    [errors] = row_errors(agent_client.post(APPLY, data))
    assert "月度核定" in errors["month"][0]
    data = months_post(
        [(months_ago(5), "9000")], document_number="110105199001011234", action="compute"
    )
    response = agent_client.post(APPLY, data)
    assert response.context["form"].errors["document_number"] == [
        "本单位没有该证件号码的参保人员,请核对证件号码。"
    ]
    # No month at all; no reason.
    data = months_post([], document_number=lei.person.document_number, action="compute")
    body = agent_client.post(APPLY, data).content.decode()
    assert "请至少填写一个补缴月份" in body
    data = months_post(
        [(months_ago(5), "9000")],
        document_number=lei.person.document_number,
        action="compute",
        reason="",
    )
    assert agent_client.post(APPLY, data).context["form"].errors["reason"] == ["请填写此项。"]


def test_more_than_12_months_at_once_are_refused(agent_client, unit):
    lei = unit.late_joiner(started=20)
    rows = [(months_ago(20 - index), "9000") for index in range(13)]
    data = months_post(rows, document_number=lei.person.document_number, action="compute")
    response = agent_client.post(APPLY, data)
    assert response.context["form"].non_field_errors() == [
        "一次最多申请 12 个月,更多月份请另行申请。"
    ]
    assert len(response.context["form"].rows) == 13


def test_submit_without_the_proof_is_refused_next_to_the_file_field(agent_client, unit):
    lei = unit.late_joiner()
    data = months_post(
        [(months_ago(5), "9000")], document_number=lei.person.document_number, action="compute"
    )
    shown = agent_client.post(APPLY, data).context["form"]["shown_total"].value()
    response = agent_client.post(APPLY, {**data, "action": "submit", "shown_total": shown})
    assert response.context["form"].errors["evidence"] == [
        "请上传该职工在补缴月份的劳动合同或工资发放记录。"
    ]
    assert response.context["figures"] is not None  # still shown, ready to file again
    assert not BackPayApplication.objects.exists()


def test_the_units_own_pages_open_and_another_units_are_404(agent_client, unit):
    [own] = applications_of(unit, "甲")
    other = Unit("别家有限公司", period=False)
    [theirs] = applications_of(other, "乙")
    own_attachment = own.attachments.get()
    their_attachment = theirs.attachments.get()
    assert agent_client.get(own.get_absolute_url()).status_code == 200
    download = agent_client.get(
        reverse("contributions:backpay_attachment", args=[own_attachment.pk])
    )
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    for url in (
        theirs.get_absolute_url(),
        reverse("contributions:backpay_attachment", args=[their_attachment.pk]),
    ):
        response = agent_client.get(url)
        assert response.status_code == 404, url
        assert "乙职工" not in response.content.decode()
    body = agent_client.get(INDEX).content.decode()
    assert own.reference in body and theirs.reference not in body


def test_agents_without_the_contributions_role_are_refused(client, unit):
    [own] = applications_of(unit, "甲")
    for role in (Role.QUERIES, Role.BENEFITS, Role.ENROLMENT):
        agent = create_agent(employer=unit.employer, roles=[role])
        client.force_login(agent.user)
        for url in (INDEX, APPLY, own.get_absolute_url()):
            response = client.get(url)
            assert response.status_code == 403, (role, url)
            assert "缴费申报员" in response.content.decode()
    admin = create_agent(employer=unit.employer, roles=[Role.UNIT_ADMIN])
    client.force_login(admin.user)
    assert client.get(APPLY).status_code == 200


def test_the_list_costs_the_same_queries_for_1_and_8_applications(
    agent_client, unit, django_assert_max_num_queries
):
    applications_of(unit, "甲", 1)
    agent_client.get(INDEX)  # warm the session
    with django_assert_max_num_queries(12) as one:
        agent_client.get(INDEX)
    applications_of(unit, "乙", 7)
    with django_assert_max_num_queries(12) as many:
        body = agent_client.get(INDEX).content.decode()
    assert body.count("乙职工") == 7
    assert len(many.captured_queries) == len(one.captured_queries)


def test_pages_carry_no_inline_code_and_the_menu_leads_to_the_list(agent_client, unit):
    [own] = applications_of(unit, "甲")
    for url in (INDEX, APPLY, own.get_absolute_url()):
        response = agent_client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response.content.decode()) == [], url
    home = agent_client.get(reverse("dashboard")).content.decode()
    assert f'href="{INDEX}"' in home
    assert f'href="{APPLY}"' in agent_client.get(INDEX).content.decode()


def test_the_application_is_in_the_units_filings_list(agent_client, unit):
    [own] = applications_of(unit, "甲")
    body = agent_client.get("/filings/").content.decode()
    assert "补缴申请" in body and f'href="{own.get_absolute_url()}"' in body
    response = agent_client.get("/filings/", {"kind": "backpay"})
    assert [row.reference for row in response.context["rows"]] == [own.reference]


# The clerk's screens ----------------------------------------------------------------------------


def test_the_clerk_sees_the_evidence_and_approving_bills_the_months(client, unit):
    [own] = applications_of(unit, "甲")
    otp_verify(client, create_clerk())
    queue = client.get(
        reverse("admin:contributions_backpayapplication_changelist"), {"queue": "all"}
    )
    assert own.reference in queue.content.decode()
    page = client.get(reverse("admin:contributions_backpayapplication_change", args=[own.pk]))
    body = page.content.decode()
    row = own.months.get()
    assert f"滞纳金 {row.contribution} × 0.05% × {row.late_days} 天" in body
    assert own.enrolment.person.masked_document_number in body
    assert own.enrolment.person.document_number not in body
    attachment = own.attachments.get()
    url = reverse("admin:contributions_backpayapplication_attachment", args=[own.pk, attachment.pk])
    assert url in body and client.get(url).status_code == 200
    assert inline_code(body) == []
    decide = reverse("admin:contributions_backpayapplication_decide", args=[own.pk])
    client.post(decide, {"approve": "1"})
    own.refresh_from_db()
    assert own.review_state == ReviewState.APPROVED
    bill = MonthlyBill.objects.get(kind=BillKind.BACKPAY)
    assert bill.total == own.total
    client.force_login(unit.agent.user)
    page = client.get(own.get_absolute_url()).content.decode()
    assert bill.reference in page
    bill_page = client.get(reverse("contributions:bill_detail", args=[bill.reference]))
    assert f"{bill.late_fee:,.2f}" in bill_page.content.decode()


def test_the_region_window_is_edited_in_the_admin(admin_client, unit):
    response = admin_client.get(reverse("admin:contributions_regioncontributionsettings_add"))
    assert "可网上补缴的月数" in response.content.decode()
