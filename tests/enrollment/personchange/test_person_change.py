"""个人信息变更: the checks, review (approve, reject, resubmit), the pages and the clerk's view."""

import re
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from employers.models import Role
from enrollment.models import (
    CouplingRule,
    EmploymentForm,
    Enrolment,
    HukouType,
    PersonChangeFiling,
)
from enrollment.personchange.services import (
    COUNTER_NOTE,
    NOT_HERE,
    UNCHANGED,
    person_change_resubmit,
    person_change_submit,
)
from portal.identifiers import mask_phone
from portal.models import AuditEvent, InboxMessage, Notification, ReviewState
from portal.review import review_decide, review_precheck
from tests.conftest import otp_verify
from tests.enrollment.add_helpers import jpg_bytes, pdf_bytes, unit_with_agent, upload
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import RegionFactory, create_agent, create_clerk, create_employer

pytestmark = pytest.mark.django_db

OLD_PHONE = "13811112222"
NEW_PHONE = "13933334444"


@pytest.fixture
def unit():
    return unit_with_agent()


@pytest.fixture
def employer(unit):
    return unit[0]


@pytest.fixture
def agent(unit):
    return unit[1]


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent.user)
    return client


@pytest.fixture
def enrolment(employer):
    return create_enrolment(employer, name="王小明", phone=OLD_PHONE)


@pytest.fixture
def dispatched():
    return EmploymentForm.objects.create(code="31", name="劳务派遣(测试)")


def fields(**overrides) -> dict:
    values = {
        "idempotency_key": uuid.uuid4(),
        "name": "王晓明",
        "phone": NEW_PHONE,
        "hukou_type": HukouType.LOCAL_RURAL,
        "employment_form": EmploymentForm.objects.get(region=None, code="11"),
        "reason": "登记时姓名录入错误,户口已迁入本市农村",
        "scan": upload("户口簿.jpg", jpg_bytes(), "image/jpeg"),
    }
    values.update(overrides)
    return values


def submit(agent, enrolment, **overrides) -> PersonChangeFiling:
    return person_change_submit(agent=agent, enrolment_id=enrolment.pk, **fields(**overrides))


def refused(agent, enrolment, **overrides) -> dict:
    with pytest.raises(ValidationError) as caught:
        submit(agent, enrolment, **overrides)
    return caught.value.message_dict


def post_data(**overrides) -> dict:
    data = {
        **fields(),
        "idempotency_key": str(uuid.uuid4()),
        "employment_form": str(EmploymentForm.objects.get(region=None, code="11").pk),
    }
    data.update(overrides)
    return data


# The service and the review -------------------------------------------------------------------


def test_submit_files_old_and_new_and_changes_nothing_yet(agent, enrolment):
    filing = submit(agent, enrolment)
    assert filing.reference.startswith("GR")
    assert filing.review_state == ReviewState.SUBMITTED
    assert filing.changed_fields == ["name", "phone", "hukou_type"]
    assert filing.previous == {
        "name": "王小明",
        "phone": mask_phone(OLD_PHONE),
        "hukou_type": HukouType.LOCAL_URBAN,
        "employment_form": enrolment.employment_form.name,
    }
    enrolment.person.refresh_from_db()
    assert enrolment.person.name == "王小明" and enrolment.person.phone == OLD_PHONE
    assert filing.attachments.count() == 1
    event = AuditEvent.objects.get(action="enrollment.person_change_submitted")
    assert NEW_PHONE not in str(event.details) and "王晓明" not in str(event.details)


def test_approval_applies_every_field_at_once_and_tells_the_unit(
    agent, employer, enrolment, dispatched
):
    filing = submit(agent, enrolment, employment_form=dispatched)
    assert filing.changed_fields == ["name", "phone", "hukou_type", "employment_form"]
    review_precheck(model_label="enrollment.PersonChangeFiling", pk=filing.pk)
    filing.refresh_from_db()
    assert filing.prechecks_passed, filing.precheck_results
    review_decide(model=PersonChangeFiling, pk=filing.pk, actor=create_clerk(), decision="approve")
    person = enrolment.person
    person.refresh_from_db()
    enrolment.refresh_from_db()
    assert (person.name, person.phone, person.hukou_type) == (
        "王晓明",
        NEW_PHONE,
        HukouType.LOCAL_RURAL,
    )
    assert person.document_number == enrolment.person.document_number  # never changed online
    assert enrolment.employment_form_id == dispatched.pk
    assert enrolment.history.first().employment_form_id == dispatched.pk
    event = AuditEvent.objects.get(action="enrollment.person_changed")
    assert event.details["fields"] == ["name", "phone", "hukou_type", "employment_form"]
    assert NEW_PHONE not in str(event.details) and "王晓明" not in str(event.details)
    sms = Notification.objects.get(template="person_change_approved")
    assert sms.recipient == employer.contact_phone and filing.reference in sms.body
    assert NEW_PHONE not in sms.body and "晓明" not in sms.body
    message = InboxMessage.objects.get(employer_id=employer.pk, template="person_change_approved")
    assert "姓名、手机号、户籍类型、用工形式" in message.body


def test_approval_is_refused_when_the_person_left_the_unit(agent, enrolment):
    filing = submit(agent, enrolment)
    Enrolment.objects.filter(pk=enrolment.pk).update(status=Enrolment.Status.TERMINATED)
    with pytest.raises(ValidationError, match="已不在本单位参保"):
        review_decide(
            model=PersonChangeFiling, pk=filing.pk, actor=create_clerk(), decision="approve"
        )
    filing.refresh_from_db()
    enrolment.person.refresh_from_db()
    assert filing.review_state == ReviewState.SUBMITTED  # the approval rolled back
    assert enrolment.person.name == "王小明"


def test_rejection_changes_nothing_and_resubmission_requeues(agent, agent_client, enrolment):
    filing = submit(agent, enrolment)
    review_decide(
        model=PersonChangeFiling,
        pk=filing.pk,
        actor=create_clerk(),
        decision="reject",
        comment="请上传户口簿首页",
    )
    enrolment.person.refresh_from_db()
    assert enrolment.person.name == "王小明"
    assert Notification.objects.filter(template="person_change_rejected").exists()
    page = agent_client.get(filing.get_absolute_url()).content.decode()
    assert "请上传户口簿首页" in page
    url = reverse("enrollment:person_change_resubmit", args=[filing.reference])
    page = agent_client.get(url).content.decode()
    assert "王晓明" in page and NEW_PHONE not in page and OLD_PHONE not in page
    data = post_data(phone="", hukou_type=HukouType.LOCAL_URBAN)
    del data["scan"]
    response = agent_client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    filing.refresh_from_db()
    assert filing.review_state == ReviewState.RESUBMITTED
    assert filing.changed_fields == ["name"]
    assert filing.attachments.count() == 1  # kept


def test_resubmission_of_a_filing_not_rejected_is_refused(agent, enrolment):
    filing = submit(agent, enrolment)
    values = fields()
    values.pop("idempotency_key")
    with pytest.raises(ValidationError, match="只有审核未通过"):
        person_change_resubmit(agent=agent, filing=filing, **values)


def test_the_same_key_files_once(agent, enrolment):
    key = uuid.uuid4()
    first = submit(agent, enrolment, idempotency_key=key)
    assert submit(agent, enrolment, idempotency_key=key) == first


# Bad input ----------------------------------------------------------------------------------


def test_nothing_changed_is_refused(agent, enrolment):
    errors = refused(
        agent,
        enrolment,
        name="王小明",
        phone="",
        hukou_type=HukouType.LOCAL_URBAN,
    )
    assert errors["__all__"] == [str(UNCHANGED)]


def test_each_bad_field_gets_its_message(agent, enrolment):
    other_region_form = EmploymentForm.objects.create(
        region=RegionFactory(code="310000", name="上海市(测试)"),
        code="77",
        name="外地用工形式",
    )
    errors = refused(
        agent,
        enrolment,
        name="王小明123",
        phone="12345",
        hukou_type=HukouType.NONE,
        employment_form=other_region_form,
        reason="  ",
        scan=None,
    )
    assert set(errors) == {
        "name",
        "phone",
        "hukou_type",
        "employment_form",
        "reason",
        "scan",
    }
    assert "持居民身份证人员" in errors["hukou_type"][0]
    bad = upload("户口簿.pdf", b"MZ\x90\x00 executable", "application/pdf")
    assert "可执行程序" in refused(agent, enrolment, scan=bad)["scan"][0]


def test_a_form_that_breaks_the_coupling_rules_is_refused(agent, enrolment, dispatched):
    CouplingRule.objects.create(
        employment_form_code=dispatched.code,
        allowed_codes=["410"],
        message="劳务派遣人员只参加工伤保险(测试)",
    )
    errors = refused(agent, enrolment, employment_form=dispatched)
    assert "劳务派遣人员只参加工伤保险" in errors["employment_form"][0]


def test_a_second_open_change_or_a_person_who_left_is_refused(agent, enrolment, employer):
    first = submit(agent, enrolment)
    with pytest.raises(ValidationError, match=first.reference):
        submit(agent, enrolment, name="王大明")
    left = create_enrolment(employer, status=Enrolment.Status.TERMINATED)
    with pytest.raises(ValidationError, match=re.escape(str(NOT_HERE))):
        submit(agent, left)
    stranger = create_enrolment(create_employer(name="别家单位"))
    with pytest.raises(ValidationError, match=re.escape(str(NOT_HERE))):
        submit(agent, stranger)


# Pages --------------------------------------------------------------------------------------


def test_form_page_says_the_id_number_is_changed_at_the_counter(agent_client, enrolment):
    url = reverse("enrollment:person_change", args=[enrolment.pk])
    page = agent_client.get(url).content.decode()
    assert str(COUNTER_NOTE) in page and "户口簿" in page
    assert mask_phone(OLD_PHONE) in page and OLD_PHONE not in page
    assert enrolment.person.document_number not in page
    assert 'name="document_number"' not in page
    response = agent_client.post(url, post_data())
    filing = PersonChangeFiling.objects.get(enrolment=enrolment)
    assert response.status_code == 302 and response["Location"] == filing.get_absolute_url()
    detail = agent_client.get(filing.get_absolute_url()).content.decode()
    assert "王小明" in detail and "王晓明" in detail
    assert mask_phone(NEW_PHONE) in detail and NEW_PHONE not in detail
    attachment = filing.attachments.get()
    download = agent_client.get(
        reverse("enrollment:person_change_attachment", args=[attachment.pk])
    )
    assert download.status_code == 200


def test_form_page_keeps_input_and_shows_messages_next_to_fields(agent_client, enrolment):
    url = reverse("enrollment:person_change", args=[enrolment.pk])
    data = post_data(phone="1234", reason="")
    del data["scan"]
    response = agent_client.post(url, data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["phone"] and "此项为必填项" in errors["reason"][0]
    assert "此项为必填项" in errors["scan"][0]
    assert 'value="王晓明"' in response.content.decode()


def test_pages_of_another_unit_are_404_and_other_roles_403(
    client, agent_client, agent, employer, enrolment
):
    stranger = create_enrolment(create_employer(name="别家单位"))
    url = reverse("enrollment:person_change", args=[stranger.pk])
    assert agent_client.get(url).status_code == 404
    other_agent = create_agent(employer=create_employer(name="另一单位"), roles=[Role.ENROLMENT])
    filing = submit(agent, enrolment)
    client.force_login(other_agent.user)
    assert client.get(filing.get_absolute_url()).status_code == 404
    attachment = filing.attachments.get()
    url = reverse("enrollment:person_change_attachment", args=[attachment.pk])
    assert client.get(url).status_code == 404
    queries = create_agent(employer=employer, roles=[Role.QUERIES])
    client.force_login(queries.user)
    assert client.get(reverse("enrollment:person_change_list")).status_code == 403


def test_list_query_count_is_constant(agent, agent_client, employer, django_assert_num_queries):
    url = reverse("enrollment:person_change_list")
    for index in range(2):
        submit(agent, create_enrolment(employer, name=f"甲{index}"))
    agent_client.get(url)
    with CaptureQueriesContext(connection) as few:
        agent_client.get(url)
    for index in range(12):
        submit(agent, create_enrolment(employer, name=f"乙{index}"))
    with django_assert_num_queries(len(few.captured_queries)):
        response = agent_client.get(url)
    assert len(response.context["filings"]) == 14
    assert str(COUNTER_NOTE) in response.content.decode()


def test_filings_list_shows_the_change(agent_client, agent, enrolment):
    filing = submit(agent, enrolment)
    page = agent_client.get(reverse("filings"), {"kind": "person_change"}).content.decode()
    assert filing.reference in page and "个人信息变更" in page


def test_clerk_sees_old_and_new_masked_and_approves_in_the_admin(client, agent, enrolment):
    filing = submit(agent, enrolment, scan=upload("证明.pdf", pdf_bytes(), "application/pdf"))
    clerk_client = otp_verify(client, create_clerk())
    url = reverse("admin:enrollment_personchangefiling_change", args=[filing.pk])
    page = clerk_client.get(url).content.decode()
    assert "王小明 → 王晓明" in page
    assert f"{mask_phone(OLD_PHONE)} → {mask_phone(NEW_PHONE)}" in page
    assert NEW_PHONE not in page and OLD_PHONE not in page
    assert enrolment.person.document_number not in page
    attachment_url = reverse(
        "admin:enrollment_personchangefiling_attachment",
        args=[filing.pk, filing.attachments.get().pk],
    )
    assert clerk_client.get(attachment_url).status_code == 200
    changelist = clerk_client.get(reverse("admin:enrollment_personchangefiling_changelist"))
    assert filing.reference in changelist.content.decode()
    decide = reverse("admin:enrollment_personchangefiling_decide", args=[filing.pk])
    clerk_client.post(decide, {"approve": "1"})
    enrolment.person.refresh_from_db()
    assert enrolment.person.name == "王晓明"


def test_the_roster_person_page_lists_the_units_changes(agent, agent_client, enrolment):
    filing = submit(agent, enrolment)
    url = reverse("enrollment:roster_detail", args=[enrolment.pk])
    page = agent_client.get(url).content.decode()
    assert filing.reference in page and "姓名、手机号、户籍类型" in page
    assert reverse("enrollment:person_change", args=[enrolment.pk]) in page
