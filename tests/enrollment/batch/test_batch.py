"""批量增员: the template, reading uploads, processing rows into filings, pages and the report."""

from __future__ import annotations

import datetime
import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from employers.models import Role
from enrollment.batch import reader as reader_module
from enrollment.batch import rows as rows_module
from enrollment.batch.checks import BatchChecks
from enrollment.batch.process import batch_import_create, batch_process
from enrollment.batch.rows import batch_parse
from enrollment.batch.template import (
    DATA_SHEET,
    EXAMPLE_MARK,
    HEADERS,
    LISTS_SHEET,
    batch_template_workbook,
    employment_forms_for,
)
from enrollment.models import AddEmployeeFiling, BatchImport, Enrolment, Person
from enrollment.tasks import import_batch_add
from portal.models import AuditEvent
from tests.contributions.factories import make_period
from tests.factories import create_agent, create_employer, make_resident_id

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()  # Asia/Shanghai, as the rules see it
THIS_MONTH = TODAY.strftime("%Y-%m")


@pytest.fixture
def agent():
    employer = create_employer()
    first = TODAY.replace(day=1)
    make_period(
        employer.region,
        starts_on=first.replace(year=first.year - 1),
        ends_on=first.replace(year=first.year + 1),
    )
    return create_agent(employer=employer, roles=[Role.ENROLMENT], name="批量经办人")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent.user)
    return client


def good_row(name="李四", number=None, **changes) -> dict:
    row = {
        "姓名": name,
        "证件类型": "居民身份证",
        "证件号码": number or make_resident_id("19900101", "male"),
        "性别": "",
        "出生日期": "",
        "国籍": "中国",
        "户籍类型": "本市城镇",
        "手机号": "13900001111",
        "用工形式": "城镇合同制职工",
        "参保险种": "110,210,310,410",
        "参保起始年月": THIS_MONTH,
        "用工日期": TODAY.replace(day=1).isoformat(),
        "月缴费工资": "8000",
    }
    row.update(changes)
    return row


def workbook_bytes(rows: list[dict], headers=HEADERS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = DATA_SHEET
    sheet.append(list(headers))
    for row in rows:
        sheet.append([row.get(header) for header in headers])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def upload(data: bytes, name="增员名单.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def run_import(agent, rows, django_capture_on_commit_callbacks) -> BatchImport:
    with django_capture_on_commit_callbacks(execute=True):
        batch = batch_import_create(agent=agent, file=upload(workbook_bytes(rows)))
    batch.refresh_from_db()
    return batch


def report_rows(batch: BatchImport) -> list[dict]:
    with batch.report.open("rb") as handle:
        sheet = load_workbook(io.BytesIO(handle.read()), read_only=True).active
        values = list(sheet.iter_rows(values_only=True))
    header = list(values[0])
    rows = []
    for number, row in enumerate(values[1:], start=2):
        if row and row[0] is not None and not str(row[0]).startswith(EXAMPLE_MARK):
            rows.append({**dict(zip(header, row, strict=False)), "行号": number})
    return rows


# --- The template ------------------------------------------------------------------------------


def test_template_has_headers_dropdowns_on_a_hidden_sheet_and_a_text_id_column(agent):
    workbook = load_workbook(io.BytesIO(batch_template_workbook(agent.employer.region)))
    sheet = workbook[DATA_SHEET]
    assert [cell.value for cell in sheet[1]] == HEADERS
    assert workbook[LISTS_SHEET].sheet_state == "hidden"
    assert "填写说明" in workbook.sheetnames

    id_column = "C"
    assert sheet.cell(row=1, column=3).value == "证件号码"
    assert sheet.column_dimensions[id_column].number_format == "@"
    assert sheet["C2"].number_format == "@"

    validations = {
        str(validation.sqref).split(":")[0]: validation
        for validation in sheet.data_validations.dataValidation
    }
    # 证件类型 B, 性别 D, 户籍类型 G, 用工形式 I, 参保险种 J
    assert set(validations) == {"B2", "D2", "G2", "I2", "J2"}
    for validation in validations.values():
        assert validation.type == "list"
        assert validation.formula1.startswith(f"='{LISTS_SHEET}'!")
    lists = workbook[LISTS_SHEET]
    column_of = {lists.cell(row=1, column=c).value: c for c in range(1, 6)}
    forms = [
        lists.cell(row=r, column=column_of["用工形式"]).value for r in range(2, lists.max_row + 1)
    ]
    assert "城镇合同制职工" in forms and "非全日制" in forms
    hukou = [
        lists.cell(row=r, column=column_of["户籍类型"]).value for r in range(2, lists.max_row + 1)
    ]
    assert "本市农村" in hukou


def test_template_example_row_is_marked_and_skipped_on_import(agent):
    data = batch_template_workbook(agent.employer.region)
    sheet = load_workbook(io.BytesIO(data))[DATA_SHEET]
    assert sheet["A2"].value.startswith(EXAMPLE_MARK)
    with pytest.raises(ValidationError, match="没有需要导入的人员"):
        batch_parse(io.BytesIO(data))


# --- Reading an upload -------------------------------------------------------------------------


def test_wrong_header_is_refused_with_the_column_that_differs():
    headers = [*HEADERS]
    headers[2] = "身份证号"
    with pytest.raises(ValidationError) as caught:
        batch_parse(io.BytesIO(workbook_bytes([good_row()], headers=headers)))
    message = caught.value.messages[0]
    assert "不是本系统的批量增员模板" in message and "证件号码" in message and "身份证号" in message


def test_a_renamed_non_xlsx_file_is_refused_by_content():
    for data in [
        b"MZ\x90\x00 not a workbook",
        "姓名,证件号码\n张三,1".encode(),
        b"\xd0\xcf\x11\xe0xx",
    ]:
        with pytest.raises(ValidationError, match="xlsx"):
            batch_parse(upload(data, name="名单.xlsx"))
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("readme.txt", "a zip, not a workbook")
    with pytest.raises(ValidationError, match="不是有效的 Excel 工作簿"):
        batch_parse(io.BytesIO(package.getvalue()))


def test_too_many_rows_and_too_large_files_are_refused(monkeypatch):
    for module in (reader_module, rows_module):
        monkeypatch.setattr(module, "MAX_ROWS", 3)
    data = workbook_bytes([good_row() for _ in range(4)])
    with pytest.raises(ValidationError, match="单次最多导入 3 行"):
        batch_parse(io.BytesIO(data))
    assert len(batch_parse(io.BytesIO(workbook_bytes([good_row() for _ in range(3)])))) == 3
    monkeypatch.setattr(reader_module, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(ValidationError, match="超过"):
        batch_parse(io.BytesIO(data))


def test_id_number_stored_as_a_number_by_excel_is_reported():
    number = make_resident_id("19900101", "male")
    rows = batch_parse(io.BytesIO(workbook_bytes([good_row(**{"证件号码": float(number[:17])})])))
    assert "存成了数字" in rows[0].errors["document_number"][0]
    rows = batch_parse(io.BytesIO(workbook_bytes([good_row(**{"证件号码": "110105900101123"})])))
    assert "15位旧身份证" in rows[0].errors["document_number"][0]


def test_a_name_with_markup_or_digits_is_reported_on_its_row():
    rows = batch_parse(io.BytesIO(workbook_bytes([good_row("<b>张三</b>"), good_row("王五2")])))
    for row in rows:
        assert "姓名只能由汉字、字母、空格和间隔号" in row.errors["name"][0]


# --- Processing --------------------------------------------------------------------------------


def test_good_rows_become_filings_and_bad_rows_are_reported(
    agent, django_capture_on_commit_callbacks
):
    good = [
        good_row("王一"),
        good_row("王二", **{"参保险种": "110 210 310 410", "月缴费工资": 9000}),
    ]
    bad = [
        good_row("错号", number="110105199001011230"),
        good_row("低基数", **{"月缴费工资": "100"}),
        good_row("无户籍", **{"户籍类型": ""}),
        good_row("坏年月", **{"参保起始年月": "2026年13月"}),
    ]
    batch = run_import(
        agent,
        [good[0], bad[0], bad[1], good[1], bad[2], bad[3]],
        django_capture_on_commit_callbacks,
    )

    assert batch.status == BatchImport.Status.DONE
    assert (batch.total_rows, batch.processed_rows) == (6, 6)
    assert (batch.created_count, batch.duplicate_count, batch.error_count) == (2, 0, 4)
    filings = AddEmployeeFiling.objects.filter(employer=agent.employer)
    assert sorted(f.enrolment.person.name for f in filings) == ["王一", "王二"]
    assert all(f.review_state != "draft" for f in filings)
    assert Person.objects.count() == 2

    report = report_rows(batch)
    assert [row["姓名"] for row in report] == ["王一", "错号", "低基数", "王二", "无户籍", "坏年月"]
    by_name = {row["姓名"]: row for row in report}
    assert by_name["王一"]["结果"].startswith("成功") and not by_name["王一"]["错误原因"]
    assert "证件号码" in by_name["错号"]["错误原因"] and "校验" in by_name["错号"]["错误原因"]
    assert "月缴费工资" in by_name["低基数"]["错误原因"]
    assert "户籍类型" in by_name["无户籍"]["错误原因"]
    assert "参保起始年月" in by_name["坏年月"]["错误原因"]
    for name in ["错号", "低基数", "无户籍", "坏年月"]:
        assert by_name[name]["结果"] == "未导入"

    audit = AuditEvent.objects.get(action="enrollment.batch_processed")
    assert audit.details == {
        "reference": batch.reference,
        "rows": 6,
        "created": 2,
        "duplicates": 0,
        "errors": 4,
    }


def test_reuploading_the_same_file_creates_no_duplicates(agent, django_capture_on_commit_callbacks):
    rows = [good_row("赵一"), good_row("赵二"), good_row("赵三", number="123")]
    first = run_import(agent, rows, django_capture_on_commit_callbacks)
    assert (first.created_count, first.duplicate_count, first.error_count) == (2, 0, 1)

    second = run_import(agent, rows, django_capture_on_commit_callbacks)
    assert (second.created_count, second.duplicate_count, second.error_count) == (0, 2, 1)
    assert AddEmployeeFiling.objects.count() == 2
    assert Enrolment.objects.count() == 2
    report = report_rows(second)
    assert [row["结果"] for row in report[:2]] == ["未导入(重复)", "未导入(重复)"]
    assert "已于此前增员" in report[0]["错误原因"] and "业务编号" in report[1]["错误原因"]


def test_the_same_person_twice_in_one_file_is_filed_once(agent, django_capture_on_commit_callbacks):
    number = make_resident_id("19850505", "female")
    rows = [good_row("钱一", number=number), good_row("钱一", number=number)]
    batch = run_import(agent, rows, django_capture_on_commit_callbacks)
    assert (batch.created_count, batch.duplicate_count) == (1, 1)
    duplicate = report_rows(batch)[1]
    assert duplicate["结果"] == "未导入(重复)" and "第2行" in duplicate["错误原因"]


def test_report_rows_keep_the_uploaded_row_numbers_after_the_example_row(
    agent, django_capture_on_commit_callbacks
):
    example = good_row(EXAMPLE_MARK + "张三")
    rows = [example, good_row("吴一"), good_row("吴二", number="123")]
    batch = run_import(agent, rows, django_capture_on_commit_callbacks)
    report = report_rows(batch)
    assert [(row["姓名"], row["行号"]) for row in report] == [("吴一", 3), ("吴二", 4)]
    assert report[1]["结果"] == "未导入"


def test_a_finished_import_is_not_processed_again(agent, django_capture_on_commit_callbacks):
    batch = run_import(agent, [good_row("孙一")], django_capture_on_commit_callbacks)
    report_name = batch.report.name
    import_batch_add(batch.pk)
    batch.refresh_from_db()
    assert batch.report.name == report_name
    assert AuditEvent.objects.filter(action="enrollment.batch_processed").count() == 1


def test_a_crashed_running_import_restarts_and_counts_its_own_filings(
    agent, django_capture_on_commit_callbacks
):
    batch = run_import(
        agent, [good_row("周一"), good_row("周二")], django_capture_on_commit_callbacks
    )
    # As if the worker died after filing the rows but before writing the report, long enough
    # ago that its heartbeat is past the lease.
    BatchImport.objects.filter(pk=batch.pk).update(
        status=BatchImport.Status.RUNNING,
        heartbeat_at=timezone.now() - datetime.timedelta(hours=1),
    )
    batch_process(batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchImport.Status.DONE
    assert (batch.created_count, batch.duplicate_count) == (2, 0)
    assert AddEmployeeFiling.objects.count() == 2


# --- Pages -------------------------------------------------------------------------------------


def test_upload_page_offers_the_template_download(agent_client):
    page = agent_client.get("/enrollment/batch/")
    assert page.status_code == 200
    assert "/enrollment/batch/template.xlsx" in page.content.decode()
    template = agent_client.get("/enrollment/batch/template.xlsx")
    assert template.status_code == 200
    assert template["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(template.content))
    assert [cell.value for cell in workbook[DATA_SHEET][1]] == HEADERS


def test_upload_runs_the_import_and_shows_progress_and_report(
    agent, agent_client, django_capture_on_commit_callbacks
):
    data = workbook_bytes([good_row("吴一"), good_row("吴二", **{"月缴费工资": "1"})])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = agent_client.post("/enrollment/batch/", {"file": upload(data)})
    assert response.status_code == 302
    assert callbacks  # the task starts only after the upload is committed
    batch = BatchImport.objects.get()
    assert response["Location"] == f"/enrollment/batch/{batch.reference}/"

    page = agent_client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert f"/enrollment/batch/{batch.reference}/status.json" in body
    assert "js/batch_progress.js" in body

    status = agent_client.get(f"/enrollment/batch/{batch.reference}/status.json").json()
    assert status["status"] == "done" and status["finished"] is True
    assert status["percent"] == 100
    assert (status["created_count"], status["error_count"]) == (1, 1)
    assert status["report_url"] == f"/enrollment/batch/{batch.reference}/report.xlsx"

    report = agent_client.get(status["report_url"])
    assert report.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(report.streaming_content))).active
    header = [cell.value for cell in sheet[1]]
    assert header == [*HEADERS, "结果", "错误原因"]
    assert "月缴费工资" in sheet.cell(row=3, column=len(header)).value


def test_status_endpoint_reports_progress_while_running(agent, agent_client):
    batch = BatchImport.objects.create(
        reference="PLTEST0001",
        employer=agent.employer,
        submitted_by=agent,
        file="imports/x.xlsx",
        original_name="x.xlsx",
        file_sha256="0" * 64,
        status=BatchImport.Status.RUNNING,
        total_rows=400,
        processed_rows=100,
    )
    status = agent_client.get(f"/enrollment/batch/{batch.reference}/status.json")
    assert status["Cache-Control"] == "no-store"
    data = status.json()
    assert (data["status"], data["percent"], data["finished"]) == ("running", 25, False)
    assert data["report_url"] == ""
    assert agent_client.get(f"/enrollment/batch/{batch.reference}/report.xlsx").status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html>not excel</html>", "不是有效的 Excel 工作簿"),
        (workbook_bytes([good_row()], headers=["姓名", "身份证"]), "不是本系统的批量增员模板"),
    ],
)
def test_upload_of_a_bad_file_shows_a_clear_message(agent_client, data, message):
    response = agent_client.post("/enrollment/batch/", {"file": upload(data)})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BatchImport.objects.exists()


def test_upload_with_too_many_rows_shows_a_clear_message(agent_client, monkeypatch):
    for module in (reader_module, rows_module):
        monkeypatch.setattr(module, "MAX_ROWS", 2)
    data = workbook_bytes([good_row() for _ in range(3)])
    response = agent_client.post("/enrollment/batch/", {"file": upload(data)})
    assert "单次最多导入 2 行" in response.content.decode()
    assert not BatchImport.objects.exists()


def test_another_units_agent_gets_404(agent, client, django_capture_on_commit_callbacks):
    batch = run_import(agent, [good_row("郑一")], django_capture_on_commit_callbacks)
    other = create_agent(employer=create_employer(), roles=[Role.ENROLMENT])
    client.force_login(other.user)
    base = f"/enrollment/batch/{batch.reference}/"
    for url in [base, base + "status.json", base + "report.xlsx"]:
        assert client.get(url).status_code == 404, url
    client.force_login(agent.user)
    for url in [base, base + "status.json", base + "report.xlsx"]:
        assert client.get(url).status_code == 200, url


def test_agent_without_the_enrolment_role_gets_403(agent, client):
    other = create_agent(employer=agent.employer, roles=[Role.QUERIES])
    client.force_login(other.user)
    for url in ["/enrollment/batch/", "/enrollment/batch/template.xlsx"]:
        assert client.get(url).status_code == 403, url
    response = client.post("/enrollment/batch/", {"file": upload(workbook_bytes([good_row()]))})
    assert response.status_code == 403
    assert not BatchImport.objects.exists()


# --- Rows filed together write what rows filed one by one write --------------------------------


def snapshot(filing: AddEmployeeFiling) -> dict:
    """What a filing and everything written with it look like, without ids, keys and times."""
    from django.contrib.contenttypes.models import ContentType

    from portal.models import ReviewTransition

    enrolment, person = filing.enrolment, filing.enrolment.person
    transitions = ReviewTransition.objects.filter(
        content_type=ContentType.objects.get_for_model(AddEmployeeFiling), object_id=filing.pk
    ).order_by("pk")
    events = AuditEvent.objects.filter(
        object_type="enrollment.AddEmployeeFiling", object_id=str(filing.pk)
    )
    history = list(enrolment.history.all())
    return {
        "filing": {
            "employer": filing.employer_id == filing.submitted_by.employer_id,
            "flags": filing.flags,
            "review_state": filing.review_state,
            "review_region": filing.review_region_id,
            "due_at": filing.due_at,
            "submitted": filing.submitted_at is not None,
            "is_overdue": filing.is_overdue,
            "prechecks_passed": filing.prechecks_passed,
            "registration_form": filing.registration_form.name,
            "reference": filing.reference[:2],
        },
        "enrolment": {
            "status": enrolment.status,
            "employment_form": enrolment.employment_form_id,
            "insurance_codes": enrolment.insurance_codes,
            "start_month": enrolment.start_month,
            "employment_start": enrolment.employment_start,
            "contribution_base": enrolment.contribution_base,
        },
        "history": [
            (h.history_type, h.history_user_id, h.history_change_reason, h.status) for h in history
        ],
        "person": {
            "name": person.name,
            "document_type": person.document_type,
            "sex": person.sex,
            "birth_date": person.birth_date,
            "nationality": person.nationality,
            "hukou_type": person.hukou_type,
            "phone": person.phone,
            "document_index": person.document_index == blind_index_of(person),
        },
        "transitions": [
            (t.action, t.from_state, t.to_state, t.actor_id == filing.submitted_by.user_id)
            for t in transitions
        ],
        "audit": sorted(
            (
                e.action,
                e.actor_id == filing.submitted_by.user_id,
                e.employer_id == filing.employer_id,
                str(sorted((k, v == filing.reference or v) for k, v in e.details.items())),
            )
            for e in events
        ),
    }


def blind_index_of(person) -> str:
    from portal.crypto import blind_index

    return blind_index("document_number", person.document_number)


def varied_rows(passport: str, born: str = "19900101") -> list[dict]:
    """Rows that take each branch of the checks: flags, part-time, rural, a passport."""
    from enrollment.models import HukouType

    last_month = (TODAY.replace(day=1) - timezone.timedelta(days=1)).strftime("%Y-%m")
    long_ago = (TODAY - timezone.timedelta(days=60)).isoformat()
    return [
        good_row("甲", make_resident_id(born, "male")),
        good_row("乙", make_resident_id(born, "female"), **{"参保起始年月": last_month}),
        good_row("丙", make_resident_id(born, "male"), **{"用工日期": long_ago}),
        good_row(
            "丁",
            make_resident_id(born, "female"),
            **{"用工形式": "非全日制", "参保险种": "410", "户籍类型": "本市农村", "手机号": ""},
        ),
        good_row(
            "Smith",
            passport,
            **{
                "证件类型": "护照",
                "性别": "男",
                "出生日期": "1990-05-05",
                "国籍": "美国",
                "户籍类型": str(HukouType.NONE.label),
            },
        ),
    ]


def test_rows_filed_together_write_what_rows_filed_one_by_one_write(
    agent, django_capture_on_commit_callbacks
):
    other = create_agent(employer=create_employer(), roles=[Role.ENROLMENT])
    snapshots = {}
    for who, passport, bulk in [(agent, "E1234567", True), (other, "E7654321", False)]:
        with django_capture_on_commit_callbacks(execute=False):  # not the task: the path below
            batch = batch_import_create(
                agent=who, file=upload(workbook_bytes(varied_rows(passport)))
            )
        if bulk:  # every row is filed with its chunk, none goes on its own
            forms = employment_forms_for(who.employer.region)
            rows = batch_parse(io.BytesIO(workbook_bytes(varied_rows(passport))), forms=forms)
            checks = BatchChecks.load(batch, rows)
            assert all(checks.check(row) is not None for row in rows)
        with django_capture_on_commit_callbacks(execute=True):
            batch = batch_process(batch.pk, bulk=bulk)
        assert batch.created_count == 5, batch.report
        filings = AddEmployeeFiling.objects.filter(employer=who.employer).select_related(
            "enrolment__person"
        )
        snapshots[bulk] = sorted((snapshot(f) for f in filings), key=lambda s: s["person"]["name"])
    for bulk_one, single_one in zip(snapshots[True], snapshots[False], strict=True):
        for part in bulk_one:
            assert bulk_one[part] == single_one[part], (part, bulk_one["person"]["name"])
    flags = {s["person"]["name"]: s["filing"]["flags"] for s in snapshots[True]}
    assert flags["乙"] == ["backdated"] and flags["丙"] == ["late"] and flags["甲"] == []


def test_the_single_path_and_the_batch_file_through_one_set_based_service(
    agent, monkeypatch, django_capture_on_commit_callbacks
):
    from enrollment.add import bulk, services
    from enrollment.batch import process
    from tests.enrollment.add_helpers import service_fields

    rehired = make_resident_id("19800101", "female")
    elsewhere = create_agent(employer=create_employer(), roles=[Role.ENROLMENT])
    run_import(elsewhere, [good_row("回", rehired)], django_capture_on_commit_callbacks)
    Enrolment.objects.filter(person__name="回").update(status=Enrolment.Status.TERMINATED)
    calls = []

    def recording(**kwargs):
        calls.append(len(kwargs["rows"]))
        return bulk.add_employee_filings_submit(**kwargs)

    # Each caller's binding of the one service: the single path's and the batch's.
    monkeypatch.setattr(services, "add_employee_filings_submit", recording)
    monkeypatch.setattr(process, "add_employee_filings_submit", recording)
    rows = [good_row("甲"), good_row("乙"), good_row("回来", rehired)]
    batch = run_import(agent, rows, django_capture_on_commit_callbacks)
    assert batch.created_count == 3
    assert calls == [2, 1]  # the new persons together, then the known one by the single path
    with django_capture_on_commit_callbacks(execute=True):
        services.add_employee_filing_submit(
            agent=agent, **service_fields(attachments=(), contribution_base=8000)
        )
    assert calls == [2, 1, 1]
    assert AddEmployeeFiling.objects.filter(employer=agent.employer).count() == 4


def test_known_persons_go_through_the_service(agent, django_capture_on_commit_callbacks):
    elsewhere = create_agent(employer=create_employer(), roles=[Role.ENROLMENT])
    busy, rehired = make_resident_id("19800101", "male"), make_resident_id("19800101", "female")
    run_import(
        elsewhere,
        [good_row("忙", busy), good_row("回", rehired)],
        django_capture_on_commit_callbacks,
    )
    Enrolment.objects.filter(person__name="回").update(status=Enrolment.Status.TERMINATED)

    batch = run_import(
        agent, [good_row("忙", busy), good_row("回来", rehired)], django_capture_on_commit_callbacks
    )
    assert (batch.created_count, batch.error_count) == (1, 1)
    report = {row["姓名"]: row for row in report_rows(batch)}
    assert "需原单位办理减员后再增员" in report["忙"]["错误原因"]
    assert report["回来"]["结果"].startswith("成功")
    assert Person.objects.get(enrolments__employer=agent.employer).name == "回来"


def test_filings_remember_their_import_and_the_queue_filters_by_it(
    agent, admin_client, django_capture_on_commit_callbacks
):

    batch = run_import(
        agent, [good_row("批次甲"), good_row("批次乙")], django_capture_on_commit_callbacks
    )
    other = run_import(agent, [good_row("批次丙")], django_capture_on_commit_callbacks)
    assert {f.batch_import_id for f in AddEmployeeFiling.objects.all()} == {batch.pk, other.pk}
    assert batch.filings.count() == 2

    url = "/admin/enrollment/addemployeefiling/"
    page = admin_client.get(url, {"batch": batch.reference})
    assert page.status_code == 200
    listed = {filing.pk for filing in page.context["cl"].result_list}
    assert listed == set(batch.filings.values_list("pk", flat=True))
    imports = admin_client.get("/admin/enrollment/batchimport/").content.decode()
    assert f"{url}?batch={batch.reference}" in imports
