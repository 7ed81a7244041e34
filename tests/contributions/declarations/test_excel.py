"""缴费基数申报 by Excel: the prefilled template, uploads good and bad, adjust to bound."""

from __future__ import annotations

import io
import re
import uuid
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from contributions.declarations.excel import HEADERS, SHEET
from contributions.models import BaseDeclaration, BaseDeclarationLine, ContributionBase
from employers.models import Role
from portal.models import AuditEvent
from tests.contributions.declaration_helpers import LOWER, UPPER, URL, make_unit
from tests.enrollment.batch.workbooks import with_part, with_shared_strings

pytestmark = pytest.mark.django_db

TEMPLATE = f"{URL}template.xlsx"
UPLOAD = f"{URL}upload/"
CONFIRM = f"{URL}upload/confirm/"


@pytest.fixture
def unit():
    return make_unit(review=False)


@pytest.fixture
def agent_client(client, unit):
    client.force_login(unit.agent.user)
    return client


def workbook_bytes(rows, headers=HEADERS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append(headers)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, unit, content: bytes, name="申报.xlsx", key=None):
    return client.post(
        UPLOAD,
        {
            "period": unit.period.pk,
            "idempotency_key": key or str(uuid.uuid4()),
            "file": SimpleUploadedFile(name, content),
        },
    )


def row(unit, index, wage, key=None):
    enrolment = unit.staff[index]
    return (
        enrolment.person.name,
        enrolment.person.masked_document_number,
        None,
        wage,
        enrolment.pk if key is None else key,
    )


def test_template_downloads_with_chinese_headers_and_previous_bases(agent_client, unit):
    response = agent_client.get(f"{TEMPLATE}?period={unit.period.pk}")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(workbook[SHEET].iter_rows(values_only=True))
    assert list(rows[0]) == ["姓名", "证件号码", "上年度缴费基数", "本年度月平均工资", "人员编号"]
    body = {r[4]: r for r in rows[1:]}
    first = body[unit.staff[0].pk]
    assert first[0] == "职工1" and first[2] == 9000 and first[3] == 9000
    assert body[unit.staff[2].pk][2] == 8000  # no base last year: the enrolment's wage
    # A contributions agent gets masked numbers; the 人员编号 matches the row on upload.
    assert first[1] == unit.staff[0].person.masked_document_number
    assert "7162.00" in str(list(workbook["填写说明"].iter_rows(values_only=True)))
    event = AuditEvent.objects.get(action="contributions.declaration_template")
    assert event.details["full"] is False


def test_even_the_unit_admin_gets_masked_numbers_and_the_download_is_audited(client):
    """Full ID numbers leave only through a full export (export permission and password)."""
    unit = make_unit(review=False, roles=[Role.UNIT_ADMIN])
    client.force_login(unit.agent.user)
    response = client.get(f"{TEMPLATE}?period={unit.period.pk}")
    rows = list(load_workbook(io.BytesIO(response.content))[SHEET].iter_rows(values_only=True))
    assert rows[1][1] == unit.staff[0].person.masked_document_number
    assert unit.staff[0].person.document_number not in str(rows)
    assert AuditEvent.objects.get(action="contributions.declaration_template").details == {
        "period": unit.period.pk,
        "rows": len(unit.staff),
        "full": False,
    }


def test_template_read_back_unchanged_declares_the_same_bases(agent_client, unit):
    content = agent_client.get(f"{TEMPLATE}?period={unit.period.pk}").content
    response = upload(agent_client, unit, content)
    declaration = BaseDeclaration.objects.get()
    assert response.status_code == 302 and declaration.source == BaseDeclaration.Source.EXCEL
    bases = dict(
        ContributionBase.objects.filter(period=unit.period).values_list("enrolment_id", "base")
    )
    assert bases == {
        unit.staff[0].pk: Decimal("9000.00"),
        unit.staff[1].pk: Decimal("12000.00"),
        unit.staff[2].pk: Decimal("8000.00"),
    }


def test_upload_matches_by_full_id_number_without_the_row_key(agent_client, unit):
    person = unit.staff[1].person
    content = workbook_bytes([("职工2", person.document_number, None, "15000.50", None)])
    assert upload(agent_client, unit, content).status_code == 302
    line = BaseDeclarationLine.objects.get()
    assert (line.enrolment_id, line.declared_base) == (unit.staff[1].pk, Decimal("15000.50"))


def test_bad_rows_are_listed_by_row_number_and_nothing_is_saved(agent_client, unit):
    content = workbook_bytes(
        [
            row(unit, 0, 9000),  # row 2: good
            row(unit, 1, "abc"),  # row 3
            row(unit, 2, 1.234),  # row 4
            row(unit, 0, 9100),  # row 5: duplicate of row 2
            row(unit, 0, 9000, key=999999),  # row 6: not the unit's
            row(unit, 1, 50000),  # row 7: duplicate of row 3 (first is kept as seen)
            ("某人", "1101**********1234", None, 9000, None),  # row 8: masked, no key
        ]
    )
    response = upload(agent_client, unit, content)
    html = response.content.decode()
    errors = dict(response.context["row_errors"])
    assert "“abc”不是有效的金额" in errors[3]
    assert "最多保留两位小数" in errors[4]
    assert "与第 2 行是同一人" in errors[5]
    assert "人员编号“999999”不是本单位正常参保的职工" in errors[6]
    assert "与第 3 行是同一人" in errors[7]
    assert "请填写人员编号或完整的证件号码" in errors[8]
    assert 2 not in errors
    assert "第 3 行" in html and "本次未申报任何数据" in html
    assert 'value="adjust"' not in html  # other errors must be fixed in the file first
    assert not BaseDeclaration.objects.exists()


def test_out_of_bounds_rows_can_be_adjusted_and_submitted(agent_client, unit):
    content = workbook_bytes([row(unit, 0, 5000), row(unit, 1, "12000"), row(unit, 2, 99999.99)])
    response = upload(agent_client, unit, content)
    errors = dict(response.context["row_errors"])
    assert set(errors) == {2, 4}
    assert "应在 7162.00 元至 35811.00 元之间" in errors[2]
    html = response.content.decode()
    payload = re.search(r'name="payload" value="([^"]+)"', html).group(1)
    assert not BaseDeclaration.objects.exists()

    confirm = agent_client.post(CONFIRM, {"payload": payload, "action": "adjust"})
    html = confirm.content.decode()
    assert set(re.findall(r'data-adjusted-row="(\d+)"', html)) == {
        str(unit.staff[0].pk),
        str(unit.staff[2].pk),
    }
    assert "7162.00" in html and "35811.00" in html
    assert not BaseDeclaration.objects.exists()

    done = agent_client.post(CONFIRM, {"payload": payload, "action": "submit"})
    declaration = BaseDeclaration.objects.get()
    assert done["Location"] == declaration.get_absolute_url()
    lines = {line.enrolment_id: line for line in declaration.lines.all()}
    assert (lines[unit.staff[0].pk].declared_base, lines[unit.staff[0].pk].wage) == (
        LOWER,
        Decimal("5000"),
    )
    assert lines[unit.staff[2].pk].declared_base == UPPER
    assert lines[unit.staff[2].pk].wage == Decimal("99999.99")
    assert lines[unit.staff[0].pk].adjusted_to_bound and lines[unit.staff[2].pk].adjusted_to_bound
    assert not lines[unit.staff[1].pk].adjusted_to_bound
    # Submitting the same payload again (a double click) files nothing new.
    agent_client.post(CONFIRM, {"payload": payload, "action": "submit"})
    assert BaseDeclaration.objects.count() == 1


def test_forged_payload_is_refused(agent_client, unit):
    response = agent_client.post(CONFIRM, {"payload": "forged:value", "action": "submit"})
    assert response.status_code == 302 and not BaseDeclaration.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("申报.csv", b"a,b,c\n", "请上传 .xlsx 格式"),
        ("申报.xlsx", b"not really a workbook", "不是有效的 Excel 工作簿"),
        ("申报.xlsx", b"\xd0\xcf\x11\xe0" + b"\0" * 100, "旧版 Excel 97-2003"),
    ],
)
def test_non_xlsx_files_are_refused(agent_client, unit, name, content, message):
    response = upload(agent_client, unit, content, name=name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BaseDeclaration.objects.exists()


def test_a_workbook_with_other_headers_is_refused(agent_client, unit):
    content = workbook_bytes([("张三", "x", 1, 2)], headers=["姓名", "身份证", "基数", "工资"])
    html = upload(agent_client, unit, content).content.decode()
    assert "不是本系统的缴费基数申报模板" in html
    assert not BaseDeclaration.objects.exists()


# The upload is read as the batch import's is (enrollment.batch.reader.xlsx_sheet_rows) ------


def test_a_workbook_saved_with_shared_strings_declares_the_same(agent_client, unit):
    content = with_shared_strings(workbook_bytes([row(unit, 0, 9100), row(unit, 1, "12500")]))
    assert upload(agent_client, unit, content).status_code == 302
    lines = BaseDeclarationLine.objects.order_by("enrolment_id")
    assert [line.declared_base for line in lines] == [Decimal("9100.00"), Decimal("12500.00")]


def test_a_cell_longer_than_excel_allows_is_refused_and_nothing_is_saved(agent_client, unit):
    content = with_part(
        workbook_bytes([row(unit, 0, 9000), ("LONG", None, None, 9000, unit.staff[1].pk)]),
        "xl/worksheets/sheet1.xml",
        lambda sheet: sheet.replace("LONG", "名" * 40_000),
    )
    html = upload(agent_client, unit, content).content.decode()
    assert "第3行A列的内容超过 32,767 个字符(Excel 单元格的上限)" in html
    assert not BaseDeclaration.objects.exists()


def test_an_upload_over_the_reading_time_is_refused(agent_client, unit, settings):
    settings.BATCH_UPLOAD_CHECK_SECONDS = 0
    html = upload(agent_client, unit, workbook_bytes([row(unit, 0, 9000)])).content.decode()
    assert "文件过于复杂,请删除多余的行、列和格式后重新上传。" in html
    assert not BaseDeclaration.objects.exists()
