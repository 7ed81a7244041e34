"""Exports above the streaming limit always run as a job, from the exports page and from the
roster page: the job's page shows its progress and, once written, a download of a real file."""

from __future__ import annotations

import datetime
import io

import pytest
from openpyxl import load_workbook

from contributions.exports import services
from contributions.exports.tasks import export_run
from contributions.models import BillStatus, ExportJob
from employers.models import Role
from enrollment.roster.exports import roster_headers
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.factories import create_agent

pytestmark = pytest.mark.django_db

EXPORTS = "/contributions/records/exports/"
ROSTER_XLSX = "/enrollment/roster/export.xlsx"
RECORDS_AUG = {"kind": "records", "format": "xlsx", "month_from": "2026-08", "month_to": "2026-08"}


@pytest.fixture
def unit(settings):
    settings.CONTRIBUTIONS_EXPORT_STREAM_MAX_ROWS = 3
    employer, admin, _period, enrolments = create_unit_with_staff(4)
    create_bill(employer, datetime.date(2026, 8, 1), enrolments, status=BillStatus.SETTLED)
    return {
        "employer": employer,
        "enrolments": enrolments,
        Role.QUERIES: create_agent(employer, roles=[Role.QUERIES], name="查询员"),
        Role.ENROLMENT: create_agent(employer, roles=[Role.ENROLMENT], name="增减员经办"),
        Role.CONTRIBUTIONS: create_agent(employer, roles=[Role.CONTRIBUTIONS], name="申报员"),
    }


def xlsx_rows(data: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def download(client, job: ExportJob) -> bytes:
    response = client.get(f"{EXPORTS}{job.reference}/download/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    return b"".join(response.streaming_content)


def test_a_large_export_queues_a_job_whose_page_shows_progress_then_the_download(
    client, unit, monkeypatch, django_capture_on_commit_callbacks
):
    client.force_login(unit[Role.QUERIES].user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(EXPORTS, RECORDS_AUG)
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.row_count == 16 and job.status == ExportJob.Status.QUEUED

    page = client.get(job.get_absolute_url()).content.decode()
    assert "排队中" in page and 'http-equiv="refresh"' in page
    assert 'value="0"' in page and "已生成 0 / 16 行（0%）" in page
    assert "/download/" not in page

    # The task writes its progress while it writes the rows; the page shows it meanwhile.
    monkeypatch.setattr(services, "PROGRESS_EVERY", 4)
    seen = []
    write = services.export_xlsx

    def watching(rows, kind, *, full):
        def rows_seen():
            for index, row in enumerate(rows, start=1):
                if index in (6, 10):
                    seen.append(client.get(job.get_absolute_url()).content.decode())
                yield row

        return write(rows_seen(), kind, full=full)

    monkeypatch.setattr(services, "export_xlsx", watching)
    for callback in callbacks:
        callback()
    assert "生成中" in seen[0] and 'value="25"' in seen[0] and "已生成 4 / 16 行（25%）" in seen[0]
    assert 'value="50"' in seen[1] and "已生成 8 / 16 行（50%）" in seen[1]

    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE and job.rows_done == 16
    page = client.get(job.get_absolute_url()).content.decode()
    assert "已完成" in page and 'http-equiv="refresh"' not in page and 'value="100"' in page
    rows = xlsx_rows(download(client, job))
    assert rows[0][:3] == ["费款所属期", "姓名", "证件号码"]
    assert len(rows) == 17 and {row[0] for row in rows[1:]} == {"2026-08"}
    masked = {e.person.masked_document_number for e in unit["enrolments"]}
    assert {row[2] for row in rows[1:]} == masked


def test_a_small_export_is_still_streamed_at_once(client, unit, settings):
    settings.CONTRIBUTIONS_EXPORT_STREAM_MAX_ROWS = 16
    client.force_login(unit[Role.QUERIES].user)
    response = client.post(EXPORTS, RECORDS_AUG)
    assert response.status_code == 200 and not ExportJob.objects.exists()
    assert len(xlsx_rows(b"".join(response.streaming_content))) == 17


def test_the_roster_pages_large_export_is_a_job_its_agent_follows_and_downloads(
    client, unit, django_capture_on_commit_callbacks
):
    agent = unit[Role.ENROLMENT]
    client.force_login(agent.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(ROSTER_XLSX)
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert (job.kind, job.format, job.full, job.requested_by) == ("roster", "xlsx", False, agent)
    page = client.get(job.get_absolute_url()).content.decode()
    assert "已完成" in page and "返回参保人员花名册" in page
    rows = xlsx_rows(download(client, job))
    assert rows[0] == roster_headers(full=False)
    assert len(rows) == 5


def test_a_roster_agent_sees_roster_jobs_only_and_others_see_none(
    client, unit, django_capture_on_commit_callbacks
):
    client.force_login(unit[Role.QUERIES].user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(EXPORTS, RECORDS_AUG)
    records_job = ExportJob.objects.get()
    client.force_login(unit[Role.ENROLMENT].user)
    assert client.get(records_job.get_absolute_url()).status_code == 404
    assert client.get(f"{EXPORTS}{records_job.reference}/download/").status_code == 404
    client.force_login(unit[Role.CONTRIBUTIONS].user)
    assert client.get(records_job.get_absolute_url()).status_code == 403
    assert client.get(f"{EXPORTS}{records_job.reference}/download/").status_code == 403


def test_a_failed_job_says_so_on_its_page(client, unit, monkeypatch):
    client.force_login(unit[Role.QUERIES].user)
    client.post(EXPORTS, RECORDS_AUG)
    job = ExportJob.objects.get()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(services, "export_xlsx", broken)
    export_run(job.pk)
    page = client.get(job.get_absolute_url()).content.decode()
    assert "失败" in page and "导出失败,请稍后重新导出" in page
    assert 'http-equiv="refresh"' not in page
