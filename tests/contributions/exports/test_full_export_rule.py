"""One rule for full (unmasked) exports on every path (employers.accounts.reauth): the export
permission (信息查询员 or the unit admin) and the password again, with one wrong-password limit
across the paths and every attempt audited."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.exceptions import ValidationError

from contributions.exports.services import export_job_download
from contributions.exports.tasks import export_run
from contributions.models import BillStatus, ExportJob
from employers.accounts.reauth import full_export_allowed
from employers.models import Agent, Role
from portal.models import AuditEvent
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.factories import create_agent

pytestmark = pytest.mark.django_db

PASSWORD = "Test2026pass"
EXPORTS = "/contributions/records/exports/"
ROSTER_CSV = "/enrollment/roster/export.csv"
RECORDS = {"kind": "records", "format": "csv", "month_from": "2026-08", "month_to": "2026-08"}
ROSTER = {"kind": "roster", "format": "csv"}
REFUSED = "完整导出须具有“信息查询员”或“单位管理员”角色"


@pytest.fixture
def unit():
    employer, admin, _period, enrolments = create_unit_with_staff(2)
    create_bill(employer, datetime.date(2026, 8, 1), enrolments, status=BillStatus.SETTLED)
    return {
        "employer": employer,
        "numbers": {e.person.document_number for e in enrolments},
        Role.UNIT_ADMIN: admin,
        Role.QUERIES: create_agent(employer, roles=[Role.QUERIES], name="查询员"),
        Role.ENROLMENT: create_agent(employer, roles=[Role.ENROLMENT], name="增减员经办"),
    }


def export(client, path: str, data: dict):
    """POST an export; return (status, the file's text or the page's)."""
    response = client.post(path, data)
    if response.streaming:
        return response.status_code, b"".join(response.streaming_content).decode("utf-8-sig")
    return response.status_code, response.content.decode()


def id_numbers(text: str) -> set[str]:
    rows = list(csv.reader(io.StringIO(text)))
    return {row[2] for row in rows[1:]}


def full_path(path: str) -> tuple[str, dict]:
    """The URL and the form data of a full export on one of the three paths."""
    if path == "roster page":
        return ROSTER_CSV, {"full": "1", "password": PASSWORD}
    data = RECORDS if path == "records" else ROSTER
    return EXPORTS, {**data, "full": "on", "password": PASSWORD}


PATHS = ["roster page", "records", "roster on the exports page"]


@pytest.mark.parametrize("path", PATHS)
def test_the_unit_admin_gets_the_full_file_on_every_path(client, unit, path):
    client.force_login(unit[Role.UNIT_ADMIN].user)
    url, data = full_path(path)
    status, text = export(client, url, data)
    assert status == 200 and id_numbers(text) == unit["numbers"]
    action = "roster.export_full" if path == "roster page" else "export.full"
    assert AuditEvent.objects.get(action=action).outcome == "success"


@pytest.mark.parametrize("path", ["records", "roster on the exports page"])
def test_a_queries_agent_gets_the_full_file_from_the_exports_page(client, unit, path):
    client.force_login(unit[Role.QUERIES].user)
    url, data = full_path(path)
    status, text = export(client, url, data)
    assert status == 200 and id_numbers(text) == unit["numbers"]
    assert AuditEvent.objects.get(action="export.full").outcome == "success"


def test_a_queries_agent_has_no_roster_page_at_all(client, unit):
    # The roster (and its export) is the enrolment role's page; the agent's way to the roster
    # data is the exports page, where the same rule gives it the full file.
    client.force_login(unit[Role.QUERIES].user)
    assert client.get("/enrollment/roster/").status_code == 403
    status, _text = export(client, *full_path("roster page"))
    assert status == 403
    assert not AuditEvent.objects.filter(action__in=["roster.export_full", "export.full"])


def test_an_enrolment_agent_is_refused_the_full_roster_and_keeps_the_masked_one(client, unit):
    client.force_login(unit[Role.ENROLMENT].user)
    assert 'name="full"' not in client.get("/enrollment/roster/").content.decode()
    status, body = export(client, *full_path("roster page"))
    assert status == 403 and "信息查询员" in body
    event = AuditEvent.objects.get(action="roster.export_full")
    assert event.outcome == "failure" and event.details["reason"] == "no_permission"
    status, text = export(client, ROSTER_CSV, {})
    assert status == 200 and id_numbers(text).isdisjoint(unit["numbers"])
    assert all("*" in number for number in id_numbers(text))


@pytest.mark.parametrize("path", ["records", "roster on the exports page"])
def test_an_enrolment_agent_has_no_exports_page(client, unit, path):
    client.force_login(unit[Role.ENROLMENT].user)
    status, _body = export(client, *full_path(path))
    assert status == 403
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize("path", PATHS)
def test_every_path_asks_for_the_password_again(client, unit, path):
    client.force_login(unit[Role.UNIT_ADMIN].user)
    url, data = full_path(path)
    status, body = export(client, url, {**data, "password": ""})
    assert status == 200 and "完整导出须输入您的登录密码。" in body
    status, body = export(client, url, {**data, "password": "not-my-password"})
    assert status == 200 and "密码不正确,未导出任何数据" in body
    assert not any(number in body for number in unit["numbers"])
    action = "roster.export_full" if path == "roster page" else "export.full"
    event = AuditEvent.objects.get(action=action)
    assert event.outcome == "failure" and event.details["reason"] == "password_incorrect"


def test_wrong_passwords_are_counted_once_across_the_paths(client, unit, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_failures_per_agent": 5}
    client.force_login(unit[Role.UNIT_ADMIN].user)
    for path in ["roster page", "records", "roster on the exports page", "roster page"]:
        url, data = full_path(path)
        export(client, url, {**data, "password": "wrong"})
    url, data = full_path("records")
    assert "密码不正确" in export(client, url, {**data, "password": "wrong"})[1]
    for path in PATHS:  # the fifth wrong one closed every path, also to the right password
        status, body = export(client, *full_path(path))
        assert status == 200 and "密码连续输错次数过多,请 15 分钟后再试完整导出" in body
        assert not any(number in body for number in unit["numbers"])
    failures = AuditEvent.objects.filter(outcome="failure").order_by("pk")
    reasons = [event.details["reason"] for event in failures]
    assert reasons == ["password_incorrect"] * 5 + ["too_many"] * 3
    assert not AuditEvent.objects.filter(outcome="success", action__endswith="full")
    # A masked export is still possible.
    status, text = export(client, EXPORTS, RECORDS)
    assert status == 200 and id_numbers(text).isdisjoint(unit["numbers"])


def test_a_full_job_is_not_written_or_given_once_the_requester_may_no_longer_export(
    client, unit, settings, django_capture_on_commit_callbacks
):
    settings.CONTRIBUTIONS_EXPORT_STREAM_MAX_ROWS = 1
    agent = unit[Role.QUERIES]
    client.force_login(agent.user)
    with django_capture_on_commit_callbacks(execute=False):
        export(client, *full_path("records"))
    queued = ExportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        export(client, *full_path("roster on the exports page"))
    done = ExportJob.objects.exclude(pk=queued.pk).get()
    assert queued.full and done.full and done.status == ExportJob.Status.DONE

    Agent.objects.filter(pk=agent.pk).update(roles=[Role.CONTRIBUTIONS])
    agent.refresh_from_db()
    assert not full_export_allowed(agent)
    export_run(queued.pk)
    queued.refresh_from_db()
    assert queued.status == ExportJob.Status.FAILED and not queued.file
    assert "无完整导出的权限" in queued.error
    failed = AuditEvent.objects.get(action="export.job_failed")
    assert failed.details == {"job": queued.reference, "error": "no_permission"}

    # The finished job's file is out of reach as well: the page is 信息查询员's, and the
    # download itself asks the rule again.
    link = f"{EXPORTS}{done.reference}/download/"
    assert client.get(link).status_code == 403
    with pytest.raises(ValidationError) as refused:
        export_job_download(agent=agent, reference=done.reference)
    assert refused.value.code == "no_permission"
    assert not AuditEvent.objects.filter(action="export.downloaded").exists()
