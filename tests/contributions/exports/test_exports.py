"""数据导出: records and roster as XLSX and CSV, masked by default, full after the password;
large exports through a job and a download link; another unit's job is not found."""

from __future__ import annotations

import csv
import datetime
import io
from urllib.parse import unquote

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from contributions.exports.services import export_jobs_cleanup
from contributions.exports.tasks import export_run
from contributions.models import BillStatus, ExportJob
from employers.models import Role
from enrollment.models import Person
from enrollment.roster.exports import roster_headers
from portal.models import AuditEvent
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.factories import create_agent

pytestmark = pytest.mark.django_db

EXPORTS = "/contributions/records/exports/"
PASSWORD = "Test2026pass"
AUG = datetime.date(2026, 8, 1)
RECORDS_AUG = {"kind": "records", "month_from": "2026-08", "month_to": "2026-08"}


@pytest.fixture
def unit():
    employer, _admin, period, enrolments = create_unit_with_staff(2)
    # A name a spreadsheet would take for a formula.
    Person.objects.filter(pk=enrolments[1].person_id).update(name="=HYPERLINK(1)")
    create_bill(employer, AUG, enrolments, status=BillStatus.SETTLED)
    agent = create_agent(employer, roles=[Role.QUERIES], name="查询员")
    return {"employer": employer, "agent": agent, "period": period, "enrolments": enrolments}


@pytest.fixture
def agent_client(client, unit):
    client.force_login(unit["agent"].user)
    return client


def body_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.getvalue() if hasattr(response, "getvalue") else response.content


def xlsx_rows(data: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


# Records ------------------------------------------------------------------------------------


def test_records_xlsx_is_masked_by_default(agent_client, unit):
    response = agent_client.post(EXPORTS, {**RECORDS_AUG, "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    data = body_of(response)
    rows = xlsx_rows(data)
    assert rows[0][:4] == ["费款所属期", "姓名", "证件号码", "险种"]
    assert len(rows) == 1 + 8
    first = unit["enrolments"][0].person
    mine = [row for row in rows[1:] if row[1] == first.name]
    assert {row[2] for row in mine} == {first.masked_document_number}
    pension = next(row for row in mine if row[3] == "养老保险")
    # Numbers, so that Excel can sum them (issue 19), shown as money and percentages.
    assert pension[4:10] == [8000, 0.16, 0.08, 1280, 640, 1920]
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == first.name)
    assert [cell.number_format for cell in row[4:10]] == [
        "#,##0.00",
        "0.00%",
        "0.00%",
        "#,##0.00",
        "#,##0.00",
        "#,##0.00",
    ]
    assert pension[12] == "已到账"
    disposition = unquote(response["Content-Disposition"])
    assert "缴费记录-" in disposition and "脱敏.xlsx" in disposition
    assert AuditEvent.objects.filter(action="export.records").count() == 1


def test_records_csv_is_safe_against_formulas_and_masked(agent_client, unit):
    response = agent_client.post(EXPORTS, {**RECORDS_AUG, "format": "csv"})
    rows = csv_rows(body_of(response))
    assert rows[0][0] == "费款所属期"
    assert len(rows) == 1 + 8
    names = {row[1] for row in rows[1:]}
    assert "'=HYPERLINK(1)" in names
    assert "=HYPERLINK(1)" not in names
    numbers = {row[2] for row in rows[1:]}
    assert numbers == {e.person.masked_document_number for e in unit["enrolments"]}


def test_full_export_needs_the_password_and_is_audited(agent_client, unit):
    response = agent_client.post(
        EXPORTS, {**RECORDS_AUG, "format": "csv", "full": "on", "password": PASSWORD}
    )
    rows = csv_rows(body_of(response))
    numbers = {row[2] for row in rows[1:]}
    assert numbers == {e.person.document_number for e in unit["enrolments"]}
    event = AuditEvent.objects.get(action="export.full")
    assert event.employer_id == unit["employer"].pk
    details = str(event.details)
    for enrolment in unit["enrolments"]:
        assert enrolment.person.document_number not in details
        assert enrolment.person.name not in details
    assert event.details["kind"] == "records" and event.details["rows"] == 8


def test_wrong_or_missing_password_is_refused_next_to_the_field(agent_client, unit):
    response = agent_client.post(
        EXPORTS, {**RECORDS_AUG, "format": "xlsx", "full": "on", "password": "wrong-one"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response.context["form"].errors["password"] == [
        "密码不正确,未导出任何数据;如只需脱敏数据,请不选“完整导出”。"
    ]
    assert "密码不正确" in response.content.decode()
    event = AuditEvent.objects.get(action="export.full")
    assert event.outcome == "failure"
    assert event.details == {"kind": "records", "format": "xlsx", "reason": "password_incorrect"}
    response = agent_client.post(EXPORTS, {**RECORDS_AUG, "format": "xlsx", "full": "on"})
    assert response.context["form"].errors["password"] == ["完整导出须输入您的登录密码。"]
    assert AuditEvent.objects.filter(action="export.full").count() == 1  # not typed: not tried
    assert not ExportJob.objects.exists()


def test_repeated_wrong_passwords_stop_full_exports_for_a_while(agent_client, unit):
    wrong = {**RECORDS_AUG, "format": "csv", "full": "on", "password": "wrong-one"}
    for _ in range(5):
        assert "密码不正确" in agent_client.post(EXPORTS, wrong).content.decode()
    response = agent_client.post(EXPORTS, {**wrong, "password": PASSWORD})
    assert response.context["form"].errors["password"] == [
        "密码连续输错次数过多,请 15 分钟后再试完整导出;脱敏导出不受影响。"
    ]
    assert not AuditEvent.objects.filter(action="export.full", outcome="success").exists()
    # A masked export is still possible.
    response = agent_client.post(EXPORTS, {**RECORDS_AUG, "format": "csv"})
    assert len(csv_rows(body_of(response))) == 9


def test_export_with_a_future_month_is_refused(agent_client):
    response = agent_client.post(
        EXPORTS, {"kind": "records", "format": "csv", "month_to": "2099-12"}
    )
    assert response.status_code == 200
    assert response.context["filter_form"].errors["month_to"] == ["不能查询未来月份"]
    assert not ExportJob.objects.exists()


def test_export_needs_the_export_permission(client, unit):
    client.force_login(create_agent(unit["employer"], roles=[Role.CONTRIBUTIONS]).user)
    assert client.get(EXPORTS).status_code == 403
    assert client.post(EXPORTS, {**RECORDS_AUG, "format": "csv"}).status_code == 403


# Roster (enrollment.roster.exports reused) --------------------------------------------------


def test_roster_xlsx_and_csv(agent_client, unit):
    response = agent_client.post(EXPORTS, {"kind": "roster", "format": "xlsx"})
    rows = xlsx_rows(body_of(response))
    assert rows[0] == roster_headers(full=False)
    assert len(rows) == 1 + 2
    assert {row[2] for row in rows[1:]} == {
        e.person.masked_document_number for e in unit["enrolments"]
    }
    response = agent_client.post(
        EXPORTS, {"kind": "roster", "format": "csv", "full": "on", "password": PASSWORD}
    )
    rows = csv_rows(body_of(response))
    assert rows[0] == roster_headers(full=True)
    assert {row[2] for row in rows[1:]} == {e.person.document_number for e in unit["enrolments"]}
    assert "'=HYPERLINK(1)" in {row[0] for row in rows[1:]}


# Large exports through a job ----------------------------------------------------------------------


def test_large_export_runs_as_a_job_with_a_download_link(
    agent_client, unit, settings, django_capture_on_commit_callbacks
):
    settings.CONTRIBUTIONS_EXPORT_STREAM_MAX_ROWS = 5
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(EXPORTS, {**RECORDS_AUG, "format": "xlsx"})
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.DONE
    assert job.row_count == 8
    assert job.employer_id == unit["employer"].pk
    assert job.expires_at - job.finished_at == datetime.timedelta(days=7)
    page = agent_client.get(EXPORTS).content.decode()
    link = f"/contributions/records/exports/{job.reference}/download/"
    assert link in page
    download = agent_client.get(link)
    assert download.status_code == 200
    rows = xlsx_rows(body_of(download))
    assert len(rows) == 9
    assert unit["enrolments"][0].person.masked_document_number in {row[2] for row in rows}
    assert AuditEvent.objects.filter(action="export.downloaded").count() == 1
    # Running the task again changes nothing.
    export_run(job.pk)
    assert ExportJob.objects.get().finished_at == job.finished_at


def test_a_full_job_is_audited_and_only_its_requester_sees_it(
    agent_client, unit, settings, django_capture_on_commit_callbacks
):
    settings.CONTRIBUTIONS_EXPORT_STREAM_MAX_ROWS = 1
    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(
            EXPORTS, {"kind": "roster", "format": "csv", "full": "on", "password": PASSWORD}
        )
    job = ExportJob.objects.get()
    assert job.full and job.status == ExportJob.Status.DONE
    assert AuditEvent.objects.filter(action="export.full", object_id=str(job.pk)).exists()
    with job.file.open("rb") as handle:
        rows = csv_rows(handle.read())
    assert {row[2] for row in rows[1:]} == {e.person.document_number for e in unit["enrolments"]}
    colleague = create_agent(unit["employer"], roles=[Role.QUERIES], name="另一位查询员")
    agent_client.force_login(colleague.user)
    link = f"/contributions/records/exports/{job.reference}/download/"
    assert agent_client.get(link).status_code == 404
    assert job.reference not in agent_client.get(EXPORTS).content.decode()


def test_another_units_job_is_not_found(client, unit, settings, django_capture_on_commit_callbacks):
    settings.CONTRIBUTIONS_EXPORT_STREAM_MAX_ROWS = 1
    other, other_admin, _p, _e = create_unit_with_staff(3, period=unit["period"])
    client.force_login(other_admin.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(EXPORTS, {"kind": "roster", "format": "csv"})
    job = ExportJob.objects.get()
    assert job.employer_id == other.pk
    client.force_login(unit["agent"].user)
    events = AuditEvent.objects.count()
    response = client.get(f"/contributions/records/exports/{job.reference}/download/")
    assert response.status_code == 404
    assert job.reference not in client.get(EXPORTS).content.decode()
    assert AuditEvent.objects.count() == events


def test_expired_files_are_deleted_and_no_longer_downloadable(
    agent_client, unit, settings, django_capture_on_commit_callbacks
):
    settings.CONTRIBUTIONS_EXPORT_STREAM_MAX_ROWS = 1
    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(EXPORTS, {"kind": "roster", "format": "csv"})
    job = ExportJob.objects.get()
    storage, name = job.file.storage, job.file.name
    assert storage.exists(name)
    assert export_jobs_cleanup() == 0  # not yet expired
    assert export_jobs_cleanup(now=timezone.now() + datetime.timedelta(days=8)) == 1
    assert not storage.exists(name)
    job.refresh_from_db()
    assert not job.file
    response = agent_client.get(f"/contributions/records/exports/{job.reference}/download/")
    assert response.status_code == 302
    page = agent_client.get(EXPORTS).content.decode()
    assert "导出文件已超过保存期限并已删除,请重新导出。" in page
    assert "已过期" in page


def test_records_page_links_to_an_export_with_its_filters(agent_client):
    page = agent_client.get(
        "/contributions/records/", {"month_from": "2026-08", "month_to": "2026-08"}
    ).content.decode()
    link = (
        "/contributions/records/exports/?kind=records&amp;month_from=2026-08&amp;month_to=2026-08"
    )
    assert link in page
    form_page = agent_client.get(EXPORTS, {"kind": "records", "month_from": "2026-08"})
    assert 'value="2026-08"' in form_page.content.decode()


def test_jobs_list_query_count_is_constant(agent_client, unit):
    def make_jobs(count):
        for index in range(count):
            ExportJob.objects.create(
                reference=f"DC{ExportJob.objects.count():06d}{index}",
                employer=unit["employer"],
                requested_by=unit["agent"],
                kind=ExportJob.Kind.RECORDS,
                format=ExportJob.Format.CSV,
            )

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    agent_client.get(EXPORTS)
    make_jobs(1)
    with CaptureQueriesContext(connection) as small:
        assert agent_client.get(EXPORTS).status_code == 200
    make_jobs(6)
    with CaptureQueriesContext(connection) as large:
        body = agent_client.get(EXPORTS).content.decode()
    assert body.count("data-job=") == 7
    assert len(large.captured_queries) == len(small.captured_queries)
