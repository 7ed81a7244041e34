"""续保: the checks, the add-employee review path (approve, reject, resubmit), the pages."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from employers.models import Role
from enrollment.models import AddEmployeeFiling, EmploymentForm, Enrolment, Person
from enrollment.resume.rules import NOT_LATEST, NOT_RESUMABLE, PENDING_ALREADY
from enrollment.resume.services import resume_filing_resubmit, resume_filing_submit
from enrollment.rules import OTHER_UNIT_MESSAGE, add_months
from portal.models import AuditEvent, InboxMessage, Notification, ReviewState
from portal.review import review_decide, review_precheck
from tests.enrollment.add_helpers import (
    jpg_bytes,
    pdf_bytes,
    this_month,
    unit_with_agent,
    upload,
)
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_clerk, create_employer

pytestmark = pytest.mark.django_db


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


def ended(employer, *, status=Enrolment.Status.TERMINATED, last_months_ago=2, **kwargs):
    """An enrolment of the unit that ended (or was suspended) ``last_months_ago`` months ago."""
    enrolment = create_enrolment(employer, status=status, **kwargs)
    enrolment.last_contribution_month = add_months(this_month(), -last_months_ago)
    if status == Enrolment.Status.TERMINATED:
        enrolment.ended_on = add_months(this_month(), -last_months_ago + 1) - datetime.timedelta(1)
    enrolment.save()
    return enrolment


def fields(**overrides) -> dict:
    values = {
        "idempotency_key": uuid.uuid4(),
        "start_month": this_month(),
        "employment_start": None,
        "employment_form": EmploymentForm.objects.get(region=None, code="11"),
        "insurance_codes": ["110", "210", "310", "410"],
        "contribution_base": Decimal("9000.00"),
        "attachments": [("labour_contract", upload("合同.pdf", pdf_bytes(), "application/pdf"))],
    }
    values.update(overrides)
    return values


def submit(agent, previous, **overrides) -> AddEmployeeFiling:
    return resume_filing_submit(agent=agent, enrolment_id=previous.pk, **fields(**overrides))


def refused(agent, previous, **overrides) -> dict:
    with pytest.raises(ValidationError) as caught:
        submit(agent, previous, **overrides)
    return caught.value.message_dict


def post_data(**overrides) -> dict:
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "start_month": this_month().strftime("%Y-%m"),
        "employment_start": "",
        "employment_form": str(EmploymentForm.objects.get(region=None, code="11").pk),
        "insurance_codes": ["110", "210", "310", "410"],
        "contribution_base": "9000",
        "labour_contract": upload("合同.pdf", pdf_bytes(), "application/pdf"),
    }
    data.update(overrides)
    return data


# The service ----------------------------------------------------------------------------------


def test_resume_files_a_pending_enrolment_of_the_same_person_and_keeps_the_old_one(agent, employer):
    previous = ended(employer)
    persons = Person.objects.count()
    filing = submit(agent, previous)
    assert Person.objects.count() == persons  # no duplicate person
    enrolment = filing.enrolment
    assert enrolment.person_id == previous.person_id
    assert enrolment.resumed_from_id == previous.pk
    assert enrolment.status == Enrolment.Status.PENDING
    assert enrolment.start_month == this_month()
    assert filing.review_state == ReviewState.SUBMITTED
    previous.refresh_from_db()
    assert previous.status == Enrolment.Status.TERMINATED
    assert AuditEvent.objects.filter(action="enrollment.resume_submitted").exists()
    assert AuditEvent.objects.filter(action="enrollment.add_submitted").exists()


def test_the_same_key_files_once(agent, employer):
    previous = ended(employer)
    key = uuid.uuid4()
    first = submit(agent, previous, idempotency_key=key)
    assert submit(agent, previous, idempotency_key=key) == first


def test_approval_makes_the_new_period_active_and_tells_the_unit(agent, employer):
    previous = ended(employer)
    filing = submit(agent, previous)
    assert review_precheck(model_label="enrollment.AddEmployeeFiling", pk=filing.pk) == "pending"
    filing.refresh_from_db()
    assert filing.prechecks_passed, filing.precheck_results
    assert "after_last_period" in {check["key"] for check in filing.precheck_results}
    review_decide(model=AddEmployeeFiling, pk=filing.pk, actor=create_clerk(), decision="approve")
    filing.enrolment.refresh_from_db()
    previous.refresh_from_db()
    assert filing.enrolment.status == Enrolment.Status.ACTIVE
    assert previous.status == Enrolment.Status.TERMINATED  # the earlier period stays as it was
    assert Enrolment.objects.filter(person_id=previous.person_id).count() == 2
    sms = Notification.objects.get(template="resume_approved")
    assert sms.recipient == employer.contact_phone and filing.reference in sms.body
    assert previous.person.document_number not in sms.body
    message = InboxMessage.objects.get(employer_id=employer.pk, template="resume_approved")
    assert "续保" in message.title and this_month().strftime("%Y-%m") in message.body


def test_a_suspended_enrolment_stays_until_approval_then_ends_the_day_before(agent, employer):
    previous = ended(employer, status=Enrolment.Status.SUSPENDED)
    filing = submit(agent, previous)
    previous.refresh_from_db()
    assert previous.status == Enrolment.Status.SUSPENDED
    review_precheck(model_label="enrollment.AddEmployeeFiling", pk=filing.pk)
    filing.refresh_from_db()
    assert filing.prechecks_passed, filing.precheck_results  # its own suspension does not count
    review_decide(model=AddEmployeeFiling, pk=filing.pk, actor=create_clerk(), decision="approve")
    previous.refresh_from_db()
    filing.enrolment.refresh_from_db()
    assert previous.status == Enrolment.Status.TERMINATED
    assert previous.ended_on == this_month() - datetime.timedelta(days=1)
    assert filing.enrolment.status == Enrolment.Status.ACTIVE


def test_bulk_approval_ends_the_suspended_enrolment_too(agent, employer):
    from portal.review_bulk import review_decide_many

    previous = ended(employer, status=Enrolment.Status.SUSPENDED)
    filing = submit(agent, previous)
    review_decide_many(
        model=AddEmployeeFiling, pks=[filing.pk], actor=create_clerk(), decision="approve"
    )
    previous.refresh_from_db()
    filing.enrolment.refresh_from_db()
    assert previous.status == Enrolment.Status.TERMINATED
    assert filing.enrolment.status == Enrolment.Status.ACTIVE


def test_rejection_leaves_the_suspension_and_resubmission_requeues(agent, employer, agent_client):
    previous = ended(employer, status=Enrolment.Status.SUSPENDED)
    filing = submit(agent, previous)
    review_decide(
        model=AddEmployeeFiling,
        pk=filing.pk,
        actor=create_clerk(),
        decision="reject",
        comment="劳动合同未签字",
    )
    filing.refresh_from_db()
    previous.refresh_from_db()
    assert filing.enrolment.status == Enrolment.Status.CANCELLED
    assert previous.status == Enrolment.Status.SUSPENDED
    assert Notification.objects.filter(template="resume_rejected").exists()
    page = agent_client.get(filing.get_absolute_url()).content.decode()
    assert "续保申请" in page and "劳动合同未签字" in page
    # The add filing's own resubmission page sends a 续保 to its form.
    add_url = reverse("enrollment:add_resubmit", args=[filing.reference])
    url = reverse("enrollment:resume_resubmit", args=[filing.reference])
    assert agent_client.get(add_url)["Location"] == url
    assert agent_client.get(url).status_code == 200
    response = agent_client.post(url, post_data(contribution_base="9500"))
    assert response.status_code == 302, response.context["form"].errors
    filing.refresh_from_db()
    filing.enrolment.refresh_from_db()
    assert filing.review_state == ReviewState.RESUBMITTED
    assert filing.enrolment.status == Enrolment.Status.PENDING
    assert filing.enrolment.contribution_base == Decimal("9500")
    assert AuditEvent.objects.filter(action="enrollment.resume_resubmitted").exists()


def test_resubmission_of_a_filing_not_rejected_is_refused(agent, employer):
    filing = submit(agent, ended(employer))
    values = fields()
    values.pop("idempotency_key")
    with pytest.raises(ValidationError, match="只有审核未通过"):
        resume_filing_resubmit(agent=agent, filing=filing, **values)


# Bad input ---------------------------------------------------------------------------------


def test_start_month_within_the_last_period_is_refused(agent, employer):
    previous = ended(employer, last_months_ago=0)  # paid up to this month
    errors = refused(agent, previous)
    assert "续保起始年月不能早于" in errors["start_month"][0]
    assert add_months(this_month(), 1).strftime("%Y-%m") in errors["start_month"][0]


def test_start_month_too_far_ahead_or_back_is_refused(agent, employer):
    previous = ended(employer, last_months_ago=12)
    assert (
        "最晚为下月"
        in refused(agent, previous, start_month=add_months(this_month(), 2))["start_month"][0]
    )
    assert (
        "最多可补登记"
        in refused(agent, previous, start_month=add_months(this_month(), -6))["start_month"][0]
    )


def test_base_out_of_bounds_and_missing_contract_are_refused(agent, employer):
    previous = ended(employer)
    assert "contribution_base" in refused(agent, previous, contribution_base=Decimal("100"))
    bad = [("labour_contract", upload("合同.pdf", b"MZ not a pdf", "application/pdf"))]
    assert "labour_contract" in refused(agent, previous, attachments=bad)


def test_an_active_enrolment_is_not_resumed(agent, employer):
    active = create_enrolment(employer)
    with pytest.raises(ValidationError, match=NOT_RESUMABLE):
        submit(agent, active)


def test_a_person_insured_elsewhere_is_refused(agent, employer):
    previous = ended(employer)
    other = create_employer(name="另一家单位")
    Enrolment.objects.create(
        person=previous.person,
        employer=other,
        employment_form=previous.employment_form,
        insurance_codes=["110"],
        start_month=this_month(),
        contribution_base=Decimal("9000"),
        status=Enrolment.Status.ACTIVE,
    )
    with pytest.raises(ValidationError, match=str(OTHER_UNIT_MESSAGE)):
        submit(agent, previous)


def test_a_second_resume_or_an_older_period_is_refused(agent, employer):
    previous = ended(employer)
    submit(agent, previous)
    with pytest.raises(ValidationError, match=PENDING_ALREADY):
        submit(agent, previous)
    older = ended(employer, last_months_ago=30)
    newer = Enrolment.objects.create(
        person=older.person,
        employer=employer,
        employment_form=older.employment_form,
        insurance_codes=["110"],
        start_month=add_months(this_month(), -20),
        contribution_base=Decimal("9000"),
        status=Enrolment.Status.TERMINATED,
        last_contribution_month=add_months(this_month(), -2),
    )
    with pytest.raises(ValidationError, match=NOT_LATEST):
        submit(agent, older)
    assert submit(agent, newer).enrolment.resumed_from_id == newer.pk


def test_another_units_enrolment_is_not_found(agent):
    stranger = ended(create_employer(name="别家单位"))
    with pytest.raises(ValidationError, match="不存在"):
        submit(agent, stranger)


# Pages --------------------------------------------------------------------------------------


def test_form_page_shows_the_earlier_period_and_files(agent_client, employer):
    previous = ended(employer)
    url = reverse("enrollment:resume", args=[previous.pk])
    page = agent_client.get(url).content.decode()
    assert previous.person.masked_document_number in page
    assert previous.person.document_number not in page
    assert add_months(this_month(), -1).strftime("%Y-%m") in page  # the earliest month
    response = agent_client.post(url, post_data())
    assert response.status_code == 302
    filing = AddEmployeeFiling.objects.get(enrolment__resumed_from=previous)
    assert response["Location"] == filing.get_absolute_url()


def test_form_page_keeps_input_and_shows_messages_next_to_fields(agent_client, employer):
    previous = ended(employer, last_months_ago=0)
    url = reverse("enrollment:resume", args=[previous.pk])
    data = post_data(contribution_base="abc")
    del data["labour_contract"]
    response = agent_client.post(url, data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "请填写金额" in errors["contribution_base"][0]
    assert "此项为必填项" in errors["labour_contract"][0]
    response = agent_client.post(url, post_data())
    assert "续保起始年月不能早于" in response.context["form"].errors["start_month"][0]
    assert 'value="9000"' in response.content.decode()


def test_form_page_of_a_person_not_resumable_says_why(agent_client, employer):
    active = create_enrolment(employer)
    page = agent_client.get(reverse("enrollment:resume", args=[active.pk])).content.decode()
    assert NOT_RESUMABLE in page and "data-refusal" in page
    assert 'name="start_month"' not in page


def test_pages_of_another_unit_are_404_and_other_roles_403(client, agent_client, employer):
    stranger = ended(create_employer(name="别家单位"))
    assert agent_client.get(reverse("enrollment:resume", args=[stranger.pk])).status_code == 404
    queries = create_agent(employer=employer, roles=[Role.QUERIES])
    client.force_login(queries.user)
    assert client.get(reverse("enrollment:resume_list")).status_code == 403
    assert client.get(reverse("enrollment:resume", args=[ended(employer).pk])).status_code == 403


def test_list_and_roster_offer_resume_for_such_persons_only(agent_client, employer, agent):
    resumable = ended(employer, name="可续保")
    suspended = ended(employer, name="暂停中", status=Enrolment.Status.SUSPENDED)
    create_enrolment(employer, name="在职中")
    pending = ended(employer, name="续保审核中")
    submit(agent, pending)
    listed = {
        e.pk for e in agent_client.get(reverse("enrollment:resume_list")).context["enrolments"]
    }
    assert listed == {resumable.pk, suspended.pk}
    roster = agent_client.get(reverse("enrollment:roster")).content.decode()
    for enrolment in (resumable, suspended):
        assert reverse("enrollment:resume", args=[enrolment.pk]) in roster
    assert reverse("enrollment:resume", args=[pending.pk]) not in roster
    detail = agent_client.get(reverse("enrollment:roster_detail", args=[resumable.pk]))
    assert reverse("enrollment:resume", args=[resumable.pk]) in detail.content.decode()


def test_list_query_count_is_constant(agent_client, employer, django_assert_num_queries):
    url = reverse("enrollment:resume_list")
    for index in range(2):
        ended(employer, name=f"甲{index}")
    agent_client.get(url)
    with CaptureQueriesContext(connection) as few:
        agent_client.get(url)
    for index in range(15):
        ended(employer, name=f"乙{index}")
    with django_assert_num_queries(len(few.captured_queries)):
        response = agent_client.get(url)
    assert len(response.context["enrolments"]) == 17


def test_filings_list_shows_the_resume_as_its_own_kind(agent_client, agent, employer):
    filing = submit(agent, ended(employer))
    page = agent_client.get(reverse("filings"), {"kind": "resume"}).content.decode()
    assert filing.reference in page and "续保" in page
    page = agent_client.get(reverse("filings"), {"kind": "add"}).content.decode()
    assert filing.reference not in page


def test_id_scan_is_optional_but_checked(agent, employer):
    previous = ended(employer)
    files = [
        ("labour_contract", upload("合同.pdf", pdf_bytes(), "application/pdf")),
        ("id_scan", upload("身份证.jpg", jpg_bytes(), "image/jpeg")),
    ]
    filing = submit(agent, previous, attachments=files)
    assert filing.attachments.count() == 2


def test_an_employment_form_of_another_region_is_refused(agent, employer):
    from tests.factories import RegionFactory

    elsewhere = EmploymentForm.objects.create(
        region=RegionFactory(code="310000", name="上海市(测试)"), code="77", name="外地用工形式"
    )
    errors = refused(agent, ended(employer), employment_form=elsewhere)
    assert "不适用于本单位所在统筹区" in errors["employment_form"][0]


def test_no_insurance_type_is_refused(agent, employer):
    assert (
        "请至少选择一个险种"
        in refused(agent, ended(employer), insurance_codes=[])["insurance_codes"][0]
    )


def test_the_resume_form_of_an_ordinary_add_filing_sends_to_its_own_form(agent, agent_client):
    from enrollment.add.services import add_employee_filing_submit
    from tests.enrollment.add_helpers import service_fields

    filing = add_employee_filing_submit(agent=agent, **service_fields())
    url = reverse("enrollment:resume_resubmit", args=[filing.reference])
    own = reverse("enrollment:add_resubmit", args=[filing.reference])
    assert agent_client.get(url)["Location"] == own
    assert agent_client.post(url, post_data())["Location"] == own
