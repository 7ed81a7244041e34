"""减员: the filing, its rules, the pages, and the review that ends the enrolment."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from employers.models import Role
from enrollment.models import Enrolment, RemovalReason, RemoveEmployeeFiling
from enrollment.removal.review import masked_name
from enrollment.removal.services import removal_month_check, remove_employee_filing_submit
from enrollment.rules import add_months, first_of_month
from portal.models import AuditEvent, Notification, ReviewState
from portal.review import review_decide, review_precheck
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_clerk, create_employer

pytestmark = pytest.mark.django_db

URL = "/enrollment/remove/"


def this_month() -> datetime.date:
    return first_of_month(timezone.localdate())


@pytest.fixture
def agent():
    return create_agent(create_employer(), roles=[Role.ENROLMENT], name="减员经办人")


@pytest.fixture
def enrolment(agent):
    return create_enrolment(agent.employer, name="张三")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent.user)
    return client


def submit(agent, enrolment, **overrides):
    kwargs = {
        "agent": agent,
        "idempotency_key": uuid.uuid4(),
        "enrolment": enrolment,
        "reason": RemovalReason.CONTRACT_TERMINATED,
        "voluntary": True,
        "last_contribution_month": this_month(),
    }
    kwargs.update(overrides)
    return remove_employee_filing_submit(**kwargs)


def form_data(enrolment, **overrides):
    data = {
        "enrolment": enrolment.pk,
        "idempotency_key": str(uuid.uuid4()),
        "reason": RemovalReason.CONTRACT_ENDED,
        "voluntary": "no",
        "last_contribution_month": this_month().strftime("%Y-%m"),
    }
    data.update(overrides)
    return data


def field_error(exc: ValidationError, field: str) -> str:
    return " ".join(exc.message_dict[field])


# The service --------------------------------------------------------------------------------


def test_submit_queues_the_filing_for_the_units_region_with_an_audit_row(agent, enrolment):
    filing = submit(agent, enrolment)

    assert filing.reference.startswith("JY")
    assert filing.review_state == ReviewState.SUBMITTED
    assert filing.review_region_id == agent.employer.region_id
    assert filing.employer_id == agent.employer_id and filing.submitted_by == agent
    assert filing.due_at is not None
    assert AuditEvent.objects.filter(
        action="enrollment.remove_submit", object_id=str(filing.pk), outcome="success"
    ).exists()
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ACTIVE  # nothing changes before approval


def test_the_same_idempotency_key_returns_the_existing_filing(agent, enrolment):
    key = uuid.uuid4()
    first = submit(agent, enrolment, idempotency_key=key)
    second = submit(agent, enrolment, idempotency_key=key)
    assert first.pk == second.pk
    assert RemoveEmployeeFiling.objects.count() == 1


def test_another_units_idempotency_key_is_refused(agent, enrolment):
    other = create_agent(create_employer(), roles=[Role.ENROLMENT])
    key = uuid.uuid4()
    submit(other, create_enrolment(other.employer), idempotency_key=key)
    with pytest.raises(ValidationError):
        submit(agent, enrolment, idempotency_key=key)


def test_another_units_enrolment_is_refused(agent):
    foreign = create_enrolment(create_employer(), name="李四")
    with pytest.raises(ValidationError) as caught:
        submit(agent, foreign)
    assert "未找到" in field_error(caught.value, "enrolment")
    assert not RemoveEmployeeFiling.objects.exists()


@pytest.mark.parametrize(
    "status", [Enrolment.Status.PENDING, Enrolment.Status.SUSPENDED, Enrolment.Status.TERMINATED]
)
def test_only_an_active_enrolment_can_be_removed(agent, status):
    enrolment = create_enrolment(agent.employer, status=status)
    with pytest.raises(ValidationError) as caught:
        submit(agent, enrolment)
    assert "不是“正常”" in field_error(caught.value, "enrolment")


def test_an_open_removal_filing_blocks_a_second_one(agent, enrolment):
    first = submit(agent, enrolment)
    with pytest.raises(ValidationError) as caught:
        submit(agent, enrolment)
    assert first.reference in field_error(caught.value, "enrolment")


def test_a_rejected_filing_lets_the_unit_file_again(agent, enrolment):
    first = submit(agent, enrolment)
    review_decide(
        model=RemoveEmployeeFiling,
        pk=first.pk,
        actor=create_clerk(),
        decision="reject",
        comment="请核实末次缴费年月",
    )
    second = submit(agent, enrolment)
    assert second.pk != first.pk


def test_current_and_previous_month_are_accepted(agent):
    current = submit(agent, create_enrolment(agent.employer), last_contribution_month=this_month())
    previous_date = add_months(this_month(), -1).replace(day=15)
    previous = submit(
        agent, create_enrolment(agent.employer), last_contribution_month=previous_date
    )
    assert current.last_contribution_month == this_month()
    assert previous.last_contribution_month == add_months(this_month(), -1)  # stored as the 1st


@pytest.mark.parametrize(
    ("months", "message"), [(1, "不能晚于当月"), (2, "不能晚于当月"), (-2, "最早可选上月")]
)
def test_last_contribution_month_outside_the_window_is_refused(agent, enrolment, months, message):
    with pytest.raises(ValidationError) as caught:
        submit(agent, enrolment, last_contribution_month=add_months(this_month(), months))
    assert message in field_error(caught.value, "last_contribution_month")
    assert not RemoveEmployeeFiling.objects.exists()


def test_last_contribution_month_before_the_start_month_is_refused(agent):
    enrolment = create_enrolment(agent.employer, start_month=this_month())
    with pytest.raises(ValidationError) as caught:
        submit(agent, enrolment, last_contribution_month=add_months(this_month(), -1))
    assert "不能早于参保起始年月" in field_error(caught.value, "last_contribution_month")


def test_month_rule_counts_from_the_accepting_month():
    accepted = datetime.date(2026, 1, 20)
    start = datetime.date(2020, 1, 1)
    kwargs = {"accepted_on": accepted, "start_month": start}
    assert removal_month_check(
        last_contribution_month=datetime.date(2025, 12, 31), **kwargs
    ) == datetime.date(2025, 12, 1)
    with pytest.raises(ValidationError):
        removal_month_check(last_contribution_month=datetime.date(2025, 11, 1), **kwargs)
    with pytest.raises(ValidationError):
        removal_month_check(last_contribution_month=datetime.date(2026, 2, 1), **kwargs)


def test_an_unknown_reason_is_refused(agent, enrolment):
    with pytest.raises(ValidationError) as caught:
        submit(agent, enrolment, reason="bored")
    assert "reason" in caught.value.message_dict


# The pages ----------------------------------------------------------------------------------


def test_search_finds_the_units_active_employees_only(agent_client, agent, enrolment):
    create_enrolment(agent.employer, name="张四", status=Enrolment.Status.TERMINATED)
    create_enrolment(create_employer(), name="张五")
    response = agent_client.post(URL, {"search": "1", "q": "张"}, follow=True)
    [(address, _status)] = response.redirect_chain
    assert address.startswith(f"{URL}?s=")
    body = response.content.decode()
    assert "张三" in body
    assert "张四" not in body and "张五" not in body
    assert f"?enrolment={enrolment.pk}" in body


def test_post_files_once_and_redirects_to_the_detail(agent_client, enrolment):
    data = form_data(enrolment)
    response = agent_client.post(URL, data)
    filing = RemoveEmployeeFiling.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/enrollment/remove/{filing.reference}/"
    # Back and submit again (or a double click): the same filing, no second one.
    again = agent_client.post(URL, data)
    assert again.status_code == 302 and again["Location"] == response["Location"]
    assert RemoveEmployeeFiling.objects.count() == 1
    assert filing.voluntary is False and filing.reason == RemovalReason.CONTRACT_ENDED


def test_form_shows_the_selected_person_and_the_fields(agent_client, enrolment):
    body = agent_client.get(URL, {"enrolment": enrolment.pk}).content.decode()
    assert "张三" in body and enrolment.person.masked_document_number in body
    assert enrolment.person.document_number not in body
    for name in ("reason", "voluntary", "last_contribution_month", "idempotency_key"):
        assert f'name="{name}"' in body


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"reason": ""}, "reason", "请选择减员原因"),
        ({"reason": "bored"}, "reason", "请从列表中选择减员原因"),
        ({"voluntary": ""}, "voluntary", "请选择是否本人自愿离职"),
        ({"voluntary": "maybe"}, "voluntary", "请选择“是”或“否”"),
        ({"last_contribution_month": ""}, "last_contribution_month", "请选择末次缴费年月"),
        ({"last_contribution_month": "2026-13"}, "last_contribution_month", "请按“年-月”填写"),
        ({"last_contribution_month": "last"}, "last_contribution_month", "请按“年-月”填写"),
    ],
)
def test_bad_input_is_shown_next_to_its_field(agent_client, enrolment, overrides, field, message):
    response = agent_client.post(URL, form_data(enrolment, **overrides))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not RemoveEmployeeFiling.objects.exists()


def test_month_rule_message_is_next_to_the_month_field(agent_client, enrolment):
    too_early = add_months(this_month(), -3).strftime("%Y-%m")
    response = agent_client.post(URL, form_data(enrolment, last_contribution_month=too_early))
    assert "最早可选上月" in " ".join(response.context["form"].errors["last_contribution_month"])


def test_a_not_active_enrolment_is_refused_in_the_summary(agent_client, agent):
    enrolment = create_enrolment(agent.employer, status=Enrolment.Status.SUSPENDED)
    response = agent_client.post(URL, form_data(enrolment))
    assert response.status_code == 200
    assert "不能办理减员" in " ".join(response.context["form"].non_field_errors())


def test_another_units_enrolment_id_is_neither_shown_nor_filed(agent_client):
    foreign = create_enrolment(create_employer(), name="外单位人")
    page = agent_client.get(URL, {"enrolment": foreign.pk}).content.decode()
    assert "外单位人" not in page and 'name="reason"' not in page
    response = agent_client.post(URL, form_data(foreign))
    assert response.status_code == 200
    assert not RemoveEmployeeFiling.objects.exists()


def test_detail_shows_state_and_the_clerks_comment(agent_client, agent, enrolment):
    filing = submit(agent, enrolment)
    review_decide(
        model=RemoveEmployeeFiling,
        pk=filing.pk,
        actor=create_clerk(),
        decision="reject",
        comment="离职证明与末次缴费年月不符",
    )
    body = agent_client.get(f"/enrollment/remove/{filing.reference}/").content.decode()
    assert 'data-review-state="rejected"' in body and "审核未通过" in body
    assert "离职证明与末次缴费年月不符" in body


def test_detail_of_another_unit_or_unknown_reference_is_404(agent_client):
    other = create_agent(create_employer(), roles=[Role.ENROLMENT])
    filing = submit(other, create_enrolment(other.employer))
    assert agent_client.get(f"/enrollment/remove/{filing.reference}/").status_code == 404
    assert agent_client.get("/enrollment/remove/JY000000000000/").status_code == 404


def test_agent_without_the_enrolment_role_gets_403(client, enrolment, agent):
    filing = submit(agent, enrolment)
    reader = create_agent(agent.employer, roles=[Role.QUERIES])
    client.force_login(reader.user)
    assert client.get(URL).status_code == 403
    assert client.post(URL, form_data(enrolment)).status_code == 403
    assert client.get(f"/enrollment/remove/{filing.reference}/").status_code == 403
    assert RemoveEmployeeFiling.objects.count() == 1


def test_unit_admin_may_file(client, enrolment, agent):
    admin = create_agent(agent.employer, roles=[Role.UNIT_ADMIN])
    client.force_login(admin.user)
    assert client.post(URL, form_data(enrolment)).status_code == 302


# The review ---------------------------------------------------------------------------------


def test_prechecks_pass_for_an_active_enrolment(
    agent, enrolment, django_capture_on_commit_callbacks
):
    filing = submit(agent, enrolment)
    review_precheck(model_label=RemoveEmployeeFiling._meta.label, pk=filing.pk)
    filing.refresh_from_db()
    assert filing.review_state == ReviewState.PENDING
    assert filing.prechecks_passed is True
    assert {r["key"] for r in filing.precheck_results} == {"enrolment_active", "month_rule"}


def test_prechecks_fail_when_the_enrolment_is_no_longer_active(agent, enrolment):
    filing = submit(agent, enrolment)
    Enrolment.objects.filter(pk=enrolment.pk).update(status=Enrolment.Status.SUSPENDED)
    review_precheck(model_label=RemoveEmployeeFiling._meta.label, pk=filing.pk)
    filing.refresh_from_db()
    assert filing.prechecks_passed is False
    failed = [r for r in filing.precheck_results if not r["passed"]]
    assert [r["key"] for r in failed] == ["enrolment_active"]


def test_prechecks_flag_a_month_that_fell_out_of_the_window(agent, enrolment):
    filing = submit(agent, enrolment)
    RemoveEmployeeFiling.objects.filter(pk=filing.pk).update(
        last_contribution_month=add_months(this_month(), -4)
    )
    review_precheck(model_label=RemoveEmployeeFiling._meta.label, pk=filing.pk)
    filing.refresh_from_db()
    assert [r["key"] for r in filing.precheck_results if not r["passed"]] == ["month_rule"]


def test_approval_terminates_the_enrolment_and_texts_the_unit(agent, enrolment):
    month = add_months(this_month(), -1)
    filing = submit(agent, enrolment, last_contribution_month=month)
    clerk = create_clerk()
    result = review_decide(
        model=RemoveEmployeeFiling, pk=filing.pk, actor=clerk, decision="approve"
    )
    assert result.changed
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.TERMINATED
    assert enrolment.last_contribution_month == month
    assert enrolment.ended_on.month == month.month and (enrolment.ended_on.day >= 28)
    latest = enrolment.history.first()
    assert latest.status == Enrolment.Status.TERMINATED and latest.history_user == clerk
    sms = Notification.objects.get(template="remove_employee_approved")
    assert sms.recipient == agent.employer.contact_phone
    assert "张*" in sms.body and "张三" not in sms.body
    assert filing.reference in sms.body and month.strftime("%Y-%m") in sms.body


def test_rejection_leaves_the_enrolment_as_it_was(agent, enrolment):
    filing = submit(agent, enrolment)
    versions = enrolment.history.count()
    review_decide(
        model=RemoveEmployeeFiling,
        pk=filing.pk,
        actor=create_clerk(),
        decision="reject",
        comment="请补充解除劳动合同证明",
    )
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ACTIVE
    assert enrolment.last_contribution_month is None and enrolment.ended_on is None
    assert enrolment.history.count() == versions
    sms = Notification.objects.get(template="remove_employee_rejected")
    assert "张*" in sms.body and "张三" not in sms.body


def test_approval_is_refused_when_the_enrolment_is_no_longer_active(agent, enrolment):
    filing = submit(agent, enrolment)
    Enrolment.objects.filter(pk=enrolment.pk).update(status=Enrolment.Status.SUSPENDED)
    with pytest.raises(ValidationError):
        review_decide(
            model=RemoveEmployeeFiling, pk=filing.pk, actor=create_clerk(), decision="approve"
        )
    filing.refresh_from_db()
    assert filing.review_state == ReviewState.SUBMITTED
    assert not Notification.objects.filter(template="remove_employee_approved").exists()


def test_masked_name_keeps_the_surname():
    assert masked_name("张三") == "张*"
    assert masked_name("欧阳娜娜") == "欧***"
    assert masked_name("王") == "王*"


def test_clerk_sees_the_queue_and_the_evidence_in_admin(agent, enrolment):
    from django.test import Client

    from tests.conftest import otp_verify

    filing = submit(agent, enrolment)
    clerk = create_clerk()
    client = otp_verify(Client(), clerk)
    listing = client.get("/admin/enrollment/removeemployeefiling/")
    assert listing.status_code == 200 and filing.reference in listing.content.decode()
    found = client.get("/admin/enrollment/removeemployeefiling/", {"q": filing.reference})
    assert filing.reference in found.content.decode()
    detail = client.get(f"/admin/enrollment/removeemployeefiling/{filing.pk}/change/")
    body = detail.content.decode()
    assert detail.status_code == 200
    assert enrolment.person.masked_document_number in body
    assert enrolment.person.document_number not in body
    assert "解除劳动合同" in body


def test_search_query_count_does_not_grow_with_the_results(agent_client, agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for index in range(2):
        create_enrolment(agent.employer, name=f"陈{index}")
    url = agent_client.post(URL, {"search": "1", "q": "陈"})["Location"]
    agent_client.get(url)
    with CaptureQueriesContext(connection) as few:
        agent_client.get(url)
    for index in range(2, 15):
        create_enrolment(agent.employer, name=f"陈{index}")
    with CaptureQueriesContext(connection) as many:
        response = agent_client.get(url)
    assert len(response.context["candidates"]) == 15
    assert len(many.captured_queries) == len(few.captured_queries)
