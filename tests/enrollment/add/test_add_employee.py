"""新增参保人员: every rule, double submission, the pages, review outcomes, tenant scoping."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contributions.models import PolicyPeriod
from employers.models import Role
from enrollment.add.review import add_filing_prechecks
from enrollment.add.selectors import base_bounds_now_and_next
from enrollment.add.services import add_employee_filing_resubmit, add_employee_filing_submit
from enrollment.models import (
    AddEmployeeFiling,
    CouplingRule,
    EmploymentForm,
    Enrolment,
    RegionEnrolmentSettings,
)
from enrollment.rules import OTHER_UNIT_MESSAGE, add_months, region_settings
from portal.models import AuditEvent, Notification, ReviewState
from portal.review import review_decide, review_history, review_precheck
from tests.enrollment.add_helpers import (
    bounds_one_month_at_a_time,
    form_data,
    good_attachments,
    service_fields,
    this_month,
    unit_with_agent,
)
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_clerk, create_employer, make_resident_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit():
    return unit_with_agent()


@pytest.fixture
def agent(unit):
    return unit[1]


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent.user)
    return client


def refused(agent, **overrides) -> dict:
    with pytest.raises(ValidationError) as caught:
        add_employee_filing_submit(agent=agent, **service_fields(**overrides))
    return caught.value.message_dict


def submit(agent, **overrides) -> AddEmployeeFiling:
    return add_employee_filing_submit(agent=agent, **service_fields(**overrides))


# The service ----------------------------------------------------------------------------------


def test_submit_creates_person_pending_enrolment_and_queued_filing(agent):
    filing = submit(agent)
    assert filing.reference.startswith("ZY")
    assert filing.review_state == ReviewState.SUBMITTED
    assert filing.review_region_id == agent.employer.region_id
    assert filing.enrolment.status == Enrolment.Status.PENDING
    assert filing.enrolment.person.sex == "female"
    assert filing.enrolment.person.birth_date == datetime.date(1995, 3, 15)
    assert sorted(filing.attachments.values_list("kind", flat=True)) == [
        "id_scan",
        "labour_contract",
    ]


def test_submit_enqueues_the_registration_form_after_commit(
    agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        filing = submit(agent)
    filing.refresh_from_db()
    assert filing.registration_form.name.endswith(".pdf")


def test_same_idempotency_key_files_once(agent):
    key = uuid.uuid4()
    first = submit(agent, idempotency_key=key)
    second = submit(agent, idempotency_key=key, attachments=good_attachments())
    assert first.pk == second.pk
    assert AddEmployeeFiling.objects.count() == 1


def test_bad_id_checksum_is_refused(agent):
    number = make_resident_id()
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert "document_number" in refused(agent, document_number=wrong)


def test_person_outside_working_age_is_refused(agent):
    errors = refused(agent, document_number=make_resident_id("20150101", "male"))
    assert "劳动年龄" in " ".join(errors["document_number"])


def test_start_month_before_unit_opened_is_refused(unit):
    employer, agent = unit
    account = employer.account
    account.opened_on = this_month()
    account.save()
    errors = refused(agent, start_month=add_months(this_month(), -1))
    assert "开户" in " ".join(errors["start_month"])


def test_start_month_later_than_next_month_is_refused(agent):
    errors = refused(agent, start_month=add_months(this_month(), 2))
    assert "最晚为下月" in " ".join(errors["start_month"])


def test_start_month_next_month_is_accepted(agent):
    assert submit(agent, start_month=add_months(this_month(), 1)).flags == []


def test_start_month_beyond_backdating_limit_is_refused(unit):
    employer, agent = unit
    RegionEnrolmentSettings.objects.create(region=employer.region, backdate_months=1)
    errors = refused(agent, start_month=add_months(this_month(), -2))
    assert "补登记 1 个月" in " ".join(errors["start_month"])


def test_region_settings_are_the_regions_row_else_the_defaults(unit):
    employer, _agent = unit
    assert region_settings(employer.region) == (3, 30)
    RegionEnrolmentSettings.objects.create(
        region=employer.region, backdate_months=1, filing_deadline_days=15
    )
    assert region_settings(employer.region) == region_settings(employer.region_id) == (1, 15)


def test_backdated_start_month_is_flagged_for_the_clerk(agent):
    filing = submit(agent, start_month=add_months(this_month(), -1))
    assert filing.flags == [AddEmployeeFiling.Flag.BACKDATED]


def test_late_filing_is_flagged(agent):
    started = timezone.localdate() - datetime.timedelta(days=45)
    filing = submit(agent, employment_start=started)
    assert AddEmployeeFiling.Flag.LATE in filing.flags


def test_base_out_of_bounds_is_refused_with_the_bounds(agent):
    errors = refused(agent, contribution_base=Decimal("1000"))
    message = " ".join(errors["contribution_base"])
    assert "7520" in message and "37600" in message


def test_person_open_in_another_unit_is_refused_with_the_message(agent):
    number = make_resident_id("19900101", "male")
    create_enrolment(create_employer(), document_number=number)
    errors = refused(agent, document_number=number)
    assert errors["document_number"] == [OTHER_UNIT_MESSAGE]


def test_person_already_here_is_refused(agent):
    number = make_resident_id("19900101", "male")
    submit(agent, document_number=number)
    errors = refused(agent, document_number=number)
    assert "已在本单位参保" in " ".join(errors["document_number"])


def test_person_whose_old_enrolment_ended_is_reused(agent):
    number = make_resident_id("19900101", "male")
    old = create_enrolment(
        create_employer(), document_number=number, status=Enrolment.Status.TERMINATED
    )
    filing = submit(agent, document_number=number)
    assert filing.enrolment.person_id == old.person_id


def test_coupling_rule_part_time_only_work_injury(agent):
    part_time = EmploymentForm.objects.get(region=None, code="14")
    errors = refused(agent, employment_form=part_time)
    assert "非全日制" in " ".join(errors["insurance_codes"])
    assert submit(agent, employment_form=part_time, insurance_codes=["410"]).pk


def test_region_coupling_rule_applies(unit):
    employer, agent = unit
    CouplingRule.objects.create(
        region=employer.region,
        hukou_type="local_rural",
        employment_form_code="12",
        required_codes=["210"],
        message="本市农村户籍农村合同制工人须参加失业保险",
    )
    errors = refused(
        agent,
        hukou_type="local_rural",
        employment_form=EmploymentForm.objects.get(region=None, code="12"),
        insurance_codes=["110", "310", "410"],
    )
    assert errors["insurance_codes"] == ["本市农村户籍农村合同制工人须参加失业保险"]


def test_an_inactive_or_other_regions_employment_form_is_refused(agent):
    from tests.factories import RegionFactory

    inactive = EmploymentForm.objects.create(code="78", name="停用的用工形式", is_active=False)
    elsewhere = EmploymentForm.objects.create(
        region=RegionFactory(code="310000", name="上海市(测试)"), code="77", name="外地用工形式"
    )
    for form in (inactive, elsewhere):
        errors = refused(agent, employment_form=form)
        assert "不适用于本单位所在统筹区" in errors["employment_form"][0]
    assert submit(agent, employment_form=EmploymentForm.objects.get(code="11", region=None))


def test_all_errors_are_reported_at_once(agent):
    errors = refused(agent, contribution_base=Decimal("1"), start_month=add_months(this_month(), 3))
    assert "start_month" in errors
    errors = refused(agent, contribution_base=Decimal("1"), hukou_type="none")
    assert {"contribution_base", "hukou_type"} <= set(errors)


def test_the_service_refuses_a_name_that_is_not_a_name(agent):
    errors = refused(agent, name="<img src=x>")
    assert "姓名只能由汉字、字母、空格和间隔号" in errors["name"][0]
    assert submit(agent, name="阿依古丽·吐尔逊").enrolment.person.name == "阿依古丽·吐尔逊"


def test_bad_attachment_is_refused_next_to_its_field(agent):
    from tests.enrollment.add_helpers import upload

    errors = refused(
        agent, attachments=[("id_scan", upload("scan.jpg", b"<html></html>", "image/jpeg"))]
    )
    assert "网页" in " ".join(errors["id_scan"])
    assert not AddEmployeeFiling.objects.exists()


# Review ------------------------------------------------------------------------------------


def test_prechecks_pass_and_approval_makes_status_active_and_notifies(unit):
    employer, agent = unit
    filing = submit(agent)
    assert review_precheck(model_label="enrollment.AddEmployeeFiling", pk=filing.pk) == "pending"
    filing.refresh_from_db()
    assert filing.prechecks_passed, filing.precheck_results
    clerk = create_clerk()
    review_decide(model=AddEmployeeFiling, pk=filing.pk, actor=clerk, decision="approve")
    filing.enrolment.refresh_from_db()
    assert filing.enrolment.status == Enrolment.Status.ACTIVE
    sms = Notification.objects.get(template="add_employee_approved")
    assert sms.recipient == employer.contact_phone
    assert "李**" in sms.body and filing.reference in sms.body
    assert filing.enrolment.person.document_number not in sms.body


def test_prechecks_show_missing_attachments_and_flags(agent):
    filing = submit(agent, attachments=[], start_month=add_months(this_month(), -1))
    review_precheck(model_label="enrollment.AddEmployeeFiling", pk=filing.pk)
    filing.refresh_from_db()
    failed = {check["key"] for check in filing.precheck_results if not check["passed"]}
    assert failed == {"attachments", "flags"}


def test_prechecks_flag_a_person_open_at_another_unit(agent):
    filing = submit(agent)
    Enrolment.objects.filter(pk=filing.enrolment_id).update(status=Enrolment.Status.CANCELLED)
    elsewhere = Enrolment.objects.get(pk=filing.enrolment_id)
    elsewhere.pk = None
    elsewhere.employer = unit_with_agent()[0]
    elsewhere.status = Enrolment.Status.ACTIVE
    elsewhere.save()
    results = {check["key"]: check for check in add_filing_prechecks(filing)}
    assert not results["not_open_elsewhere"]["passed"]
    assert results["base_in_bounds"]["passed"] and results["attachments"]["passed"]


def test_prechecks_read_the_enrolment_attachments_and_bounds_in_two_queries(
    agent, django_assert_num_queries
):
    filing = AddEmployeeFiling.objects.get(pk=submit(agent, attachments=good_attachments()[:1]).pk)
    with django_assert_num_queries(2):  # six before: enrolment, elsewhere, unit, region, files
        results = {check["key"]: check for check in add_filing_prechecks(filing)}
    assert results["not_open_elsewhere"]["passed"] and results["base_in_bounds"]["passed"]
    assert results["attachments"]["detail"] == "缺少:身份证件扫描件"


def test_precheck_queues_in_one_update_and_records_both_steps_in_order(agent):
    filing = submit(agent)
    with CaptureQueriesContext(connection) as queries:
        assert review_precheck(model_label=filing._meta.label, pk=filing.pk) == "pending"
    updates = [query for query in queries if query["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    assert [(t.action, t.from_state, t.to_state) for t in review_history(filing)][1:] == [
        ("precheck", "submitted", "prechecked"),
        ("queue", "prechecked", "pending"),
    ]
    events = AuditEvent.objects.filter(
        object_type=filing._meta.label, object_id=str(filing.pk), action__startswith="review."
    ).order_by("pk")
    assert [(e.action, e.details["to"]) for e in events][1:] == [
        ("review.precheck", "prechecked"),
        ("review.queue", "pending"),
    ]
    filing.refresh_from_db()
    assert filing.review_state == ReviewState.PENDING and filing.prechecked_at is not None


def test_rejection_shows_comment_and_resubmission_requeues(agent, agent_client):
    filing = submit(agent)
    clerk = create_clerk()
    review_decide(
        model=AddEmployeeFiling, pk=filing.pk, actor=clerk, decision="reject", comment="合同不清晰"
    )
    filing.refresh_from_db()
    assert filing.enrolment.status == Enrolment.Status.CANCELLED
    assert Notification.objects.filter(template="add_employee_rejected").exists()
    page = agent_client.get(filing.get_absolute_url())
    assert "合同不清晰" in page.content.decode()
    url = reverse("enrollment:add_resubmit", args=[filing.reference])
    page = agent_client.get(url)
    assert page.status_code == 200 and "李小华" in page.content.decode()
    data = form_data(
        name="李小华",
        document_number=filing.enrolment.person.document_number,
        contribution_base="9500",
    )
    response = agent_client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    filing.refresh_from_db()
    assert filing.review_state == ReviewState.RESUBMITTED
    assert filing.enrolment.status == Enrolment.Status.PENDING
    assert filing.enrolment.contribution_base == Decimal("9500")
    assert filing.attachments.count() == 4


def test_resubmission_of_a_filing_not_rejected_is_refused(agent):
    filing = submit(agent)
    fields = service_fields()
    fields.pop("idempotency_key")
    with pytest.raises(ValidationError):
        add_employee_filing_resubmit(agent=agent, filing=filing, **fields)


# Pages --------------------------------------------------------------------------------------


def test_add_page_shows_bounds_and_the_form(agent_client):
    page = agent_client.get(reverse("enrollment:add")).content.decode()
    assert "7520" in page and "37600" in page
    assert 'name="idempotency_key"' in page and 'type="checkbox"' in page
    assert "重新选择附件" in page


def test_posting_the_form_creates_a_filing_and_redirects(agent_client):
    response = agent_client.post(reverse("enrollment:add"), form_data())
    filing = AddEmployeeFiling.objects.get()
    assert response.status_code == 302 and response["Location"] == filing.get_absolute_url()


def test_double_post_of_one_page_creates_one_filing(agent_client):
    key = str(uuid.uuid4())
    number = make_resident_id()
    first = agent_client.post(
        reverse("enrollment:add"), form_data(idempotency_key=key, document_number=number)
    )
    second = agent_client.post(
        reverse("enrollment:add"), form_data(idempotency_key=key, document_number=number)
    )
    assert first["Location"] == second["Location"]
    assert AddEmployeeFiling.objects.count() == 1


def test_errors_show_next_to_fields_and_keep_what_was_typed(agent_client):
    data = form_data(contribution_base="100", name="王五六")
    response = agent_client.post(reverse("enrollment:add"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "月缴费工资应在" in page and 'value="王五六"' in page
    assert response.context["form"].errors["contribution_base"]


def test_a_name_with_markup_is_refused_next_to_the_field_and_kept_escaped(agent_client):
    name = '<font size="28" color="red">已审核通过</font>'
    response = agent_client.post(reverse("enrollment:add"), form_data(name=name))
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [
        "姓名只能由汉字、字母、空格和间隔号“·”组成,请去掉数字和其他符号。"
    ]
    page = response.content.decode()
    assert "&lt;font size=&quot;28&quot;" in page and "<font size" not in page
    assert not AddEmployeeFiling.objects.exists()


@pytest.mark.parametrize(
    ("field", "name", "data", "message"),
    [
        ("id_scan", "scan.jpg", b"<html><body>hi</body></html>", "网页"),
        ("labour_contract", "contract.pdf", b"MZ" + b"\x00" * 64, "可执行程序"),
    ],
)
def test_bad_upload_gets_a_message_next_to_its_field(agent_client, field, name, data, message):
    from tests.enrollment.add_helpers import upload

    response = agent_client.post(
        reverse("enrollment:add"), form_data(**{field: upload(name, data)})
    )
    assert message in " ".join(response.context["form"].errors[field])


def test_queries_only_agent_gets_403_on_the_add_page(client, unit):
    employer, _agent = unit
    reader = create_agent(employer=employer, roles=(Role.QUERIES,))
    client.force_login(reader.user)
    assert client.get(reverse("enrollment:add")).status_code == 403
    assert client.get(reverse("enrollment:add_list")).status_code == 403


def test_detail_pdf_and_attachment_download_for_own_unit(agent, agent_client):
    filing = submit(agent)
    detail = agent_client.get(filing.get_absolute_url())
    assert detail.status_code == 200 and "下载登记表(PDF)" in detail.content.decode()
    pdf = agent_client.get(reverse("enrollment:add_form_pdf", args=[filing.reference]))
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF-")
    attachment = filing.attachments.get(kind="id_scan")
    response = agent_client.get(reverse("enrollment:attachment", args=[attachment.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"


def test_agent_of_another_unit_gets_404_on_every_filing_url(client, agent):
    filing = submit(agent)
    attachment = filing.attachments.first()
    _other_employer, other = unit_with_agent()
    client.force_login(other.user)
    for url in [
        reverse("enrollment:add_detail", args=[filing.reference]),
        reverse("enrollment:add_form_pdf", args=[filing.reference]),
        reverse("enrollment:add_resubmit", args=[filing.reference]),
        reverse("enrollment:attachment", args=[attachment.pk]),
    ]:
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code in (404, 405), url
    listing = client.get(reverse("enrollment:add_list")).content.decode()
    assert filing.reference not in listing


def test_list_query_count_is_constant(agent, agent_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    submit(agent)
    url = reverse("enrollment:add_list")
    agent_client.get(url)  # the first request of a session also writes the session
    with CaptureQueriesContext(connection) as few:
        agent_client.get(url)
    for _ in range(4):
        submit(agent, document_number=make_resident_id())
    with CaptureQueriesContext(connection) as many:
        response = agent_client.get(url)
    assert len(response.context["filings"]) == 5
    assert len(many) == len(few) <= 6


def test_base_bounds_of_this_month_and_next_come_from_one_query(unit, django_assert_num_queries):
    region = unit[0].region
    with django_assert_num_queries(1):
        bounds = base_bounds_now_and_next(region)
    assert bounds == bounds_one_month_at_a_time(region) and len(bounds) == 1
    # Next month under a new period: both months, each with its own bounds.
    this_month = timezone.localdate().replace(day=1)
    next_month = add_months(this_month, 1)
    period = PolicyPeriod.objects.get(
        region=region, starts_on__lte=this_month, ends_on__gte=this_month
    )
    ends_on = period.ends_on
    period.ends_on = next_month - datetime.timedelta(days=1)
    period.save(update_fields=["ends_on"])
    period.pk, period.starts_on, period.ends_on = None, next_month, max(ends_on, next_month)
    period.base_lower += 100
    period.save()
    bounds = base_bounds_now_and_next(region)
    assert bounds == bounds_one_month_at_a_time(region) and [b[0] for b in bounds] == [
        this_month,
        next_month,
    ]
    # An unpublished period counts for nothing.
    PolicyPeriod.objects.filter(pk=period.pk).update(is_published=False)
    assert base_bounds_now_and_next(region) == bounds_one_month_at_a_time(region) == bounds[:1]
