"""批量增员: the Excel template, reading an uploaded workbook, and processing it row by row.

The template is generated in code every time (LIBRARIES.md: an Excel-edited template loses
validation extensions when openpyxl rewrites it). Each valid row becomes one add-employee filing
through enrollment.add.services.add_employee_filing_submit, in its own transaction, with an
idempotency key derived from (unit, document number, start month): uploading the same file again
creates no second filing, and such rows are reported as duplicates.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import itertools
import logging
import os
import re
import secrets
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from contributions.policy.reference import PolicyError, base_bounds
from enrollment import rules
from enrollment.add.services import CheckedPerson, add_employee_filing_submit
from enrollment.add.services import _new_reference as new_filing_reference
from enrollment.batch.reader import SheetReader, Styled, write_sheet
from enrollment.bulk_insert import insert_many, insert_many_with_history
from enrollment.models import (
    AddEmployeeFiling,
    BatchImport,
    DocumentType,
    EmploymentForm,
    Enrolment,
    HukouType,
    Person,
)
from portal.audit import audit_log
from portal.crypto import blind_index
from portal.identifiers import resident_id_check_char
from portal.models import AuditEvent, ReviewState, ReviewTransition
from portal.review import review_due_at, review_policy_for

logger = logging.getLogger(__name__)

MAX_ROWS = 10_000
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# A 10,000-row workbook unpacks to about 5 MB; far more is a decompression bomb.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
# Stop reading a sheet after this many empty rows in a row (formatted but empty rows).
MAX_EMPTY_RUN = 2_000
# Rows checked and written per transaction of the bulk path; progress is saved after each.
CHUNK_ROWS = 500
# How long the upload check's cells wait in the cache for the import task (then it re-reads).
CELLS_CACHE_SECONDS = 3600

DATA_SHEET = "增员名单"
LISTS_SHEET = "代码表"
HELP_SHEET = "填写说明"
EXAMPLE_MARK = "【示例】"
# uuid5 namespace of batch-import idempotency keys (any fixed UUID will do; never change it).
BATCH_KEY_NAMESPACE = uuid.UUID("6f1d3c9e-1c55-4d0b-9a59-3f6c0b2f5e11")


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    width: int
    text: bool = False  # formatted as text so Excel keeps leading zeros and all 18 digits
    note: str = ""


COLUMNS = [
    Column("name", "姓名", 12, note="必填"),
    Column("document_type", "证件类型", 24, note="下拉选择;留空按居民身份证处理"),
    Column("document_number", "证件号码", 22, text=True, note="必填;本列为文本格式,请勿改为数字"),
    Column("sex", "性别", 8, note="居民身份证可留空(按号码确定)"),
    Column("birth_date", "出生日期", 12, text=True, note="居民身份证可留空;格式 YYYY-MM-DD"),
    Column("nationality", "国籍", 10, note="留空为中国"),
    Column("hukou_type", "户籍类型", 20, note="必填,下拉选择"),
    Column("phone", "手机号", 14, text=True),
    Column("employment_form", "用工形式", 16, note="必填,下拉选择"),
    Column("insurance_codes", "参保险种", 20, text=True, note="险种代码,英文逗号分隔"),
    Column("start_month", "参保起始年月", 14, text=True, note="必填;格式 YYYY-MM"),
    Column("employment_start", "用工日期", 12, text=True, note="格式 YYYY-MM-DD"),
    Column("contribution_base", "月缴费工资", 12, note="必填,单位:元"),
]
HEADERS = [column.header for column in COLUMNS]
LABELS = {column.field: column.header for column in COLUMNS}
RESULT_HEADERS = ["结果", "错误原因"]

SEX_VALUES = {"男": "male", "女": "female", "male": "male", "female": "female"}
INSURANCE_COMBINATIONS = ["110,210,310,410", "110,210,310,410,510", "110,310,410", "410"]
INSURANCE_SPLIT = re.compile(r"[\s,;/\u3001\uff0c\uff1b]+")  # also 、,; typed in Chinese
MONTH_PATTERN = re.compile(r"(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*月?")
DATE_PATTERN = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?|(\d{4})(\d{2})(\d{2})"
)

NOT_XLSX = gettext_lazy(
    "文件不是有效的 Excel 工作簿(.xlsx)。请在 Excel 或 WPS 中“另存为 Excel 工作簿(*.xlsx)”后上传;"
    "旧版 .xls、CSV 或改了扩展名的文件不能导入。"
)


# ---------------------------------------------------------------------------------------------
# Reference data


def employment_forms_for(region) -> dict[str, EmploymentForm]:
    """The region's active 用工形式 by code; a region's own row replaces a nationwide one."""
    forms: dict[str, EmploymentForm] = {}
    rows = EmploymentForm.objects.filter(Q(region=region) | Q(region__isnull=True), is_active=True)
    for form in sorted(rows, key=lambda f: (f.region_id is not None, f.sort_order, f.code)):
        forms[form.code] = form
    return dict(sorted(forms.items(), key=lambda item: (item[1].sort_order, item[0])))


def _labelled(choices) -> dict[str, str]:
    """Map both the Chinese label and the stored value of TextChoices to the value."""
    mapping = {str(label): value for value, label in choices.choices}
    mapping.update({value: value for value in choices.values})
    return mapping


# ---------------------------------------------------------------------------------------------
# The template


def _example_resident_id() -> str:
    first17 = "11010519900307123"
    return first17 + resident_id_check_char(first17)


def batch_template_workbook(region) -> bytes:
    """Return the 批量增员 template as XLSX bytes, with the region's 用工形式 in the dropdown."""
    forms = employment_forms_for(region)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = DATA_SHEET
    lists = workbook.create_sheet(LISTS_SHEET)
    help_sheet = workbook.create_sheet(HELP_SHEET)

    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="1F4E79")
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font, cell.fill = header_font, header_fill
        cell.alignment = Alignment(horizontal="center")
        if column.note:
            cell.comment = Comment(column.note, "社保网上服务大厅")
        letter = get_column_letter(index)
        dimension = sheet.column_dimensions[letter]
        dimension.width = column.width
        if column.text:
            dimension.number_format = "@"
    sheet.freeze_panes = "A2"

    # Coded fields pick from lists on a hidden sheet: an inline list is capped at 255 characters.
    columns_of_lists = {
        "document_type": [str(label) for label in DocumentType.labels],
        "sex": ["男", "女"],
        "hukou_type": [str(label) for label in HukouType.labels],
        "employment_form": [form.name for form in forms.values()],
        "insurance_codes": INSURANCE_COMBINATIONS,
    }
    last_row = MAX_ROWS + 2  # the header, the example and MAX_ROWS rows of data
    for list_index, (field_name, values) in enumerate(columns_of_lists.items(), start=1):
        lists.cell(row=1, column=list_index, value=LABELS[field_name])
        for row, value in enumerate(values, start=2):
            cell = lists.cell(row=row, column=list_index, value=value)
            cell.number_format = "@"
        list_letter = get_column_letter(list_index)
        source = f"'{LISTS_SHEET}'!${list_letter}$2:${list_letter}${len(values) + 1}"
        free_text = field_name == "insurance_codes"  # the list offers common combinations only
        validation = DataValidation(
            type="list",
            formula1=f"={source}",
            allow_blank=True,
            showErrorMessage=not free_text,
            errorTitle=_("请从下拉列表中选择"),
            error=_("请从下拉列表中选择%s。") % LABELS[field_name],
        )
        data_letter = get_column_letter(HEADERS.index(LABELS[field_name]) + 1)
        validation.add(f"{data_letter}2:{data_letter}{last_row}")
        sheet.add_data_validation(validation)
    lists.sheet_state = "hidden"

    example = {
        "name": f"{EXAMPLE_MARK}张三",
        "document_type": str(DocumentType.RESIDENT_ID.label),
        "document_number": _example_resident_id(),
        "nationality": "中国",
        "hukou_type": str(HukouType.LOCAL_URBAN.label),
        "phone": "13800138000",
        "employment_form": next(iter(forms.values())).name if forms else "",
        "insurance_codes": "110,210,310,410",
        "start_month": timezone.localdate().strftime("%Y-%m"),
        "employment_start": timezone.localdate().replace(day=1).isoformat(),
        "contribution_base": 8000,
    }
    example_font = Font(italic=True, color="808080")
    example_fill = PatternFill("solid", fgColor="FFF2CC")
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=2, column=index, value=example.get(column.field, ""))
        cell.font, cell.fill = example_font, example_fill
        if column.text:
            cell.number_format = "@"

    help_lines = [
        _("批量增员模板填写说明"),
        "",
        _(
            "1. 在“%s”工作表从第3行起每行填写一名人员;第2行是示例行(姓名以“%s”开头),"
            "导入时自动跳过,可以保留或删除。"
        )
        % (DATA_SHEET, EXAMPLE_MARK),
        _("2. 请勿修改、增删或调换第1行表头;表头不一致的文件不能导入。"),
        _(
            "3. 证件号码、手机号、日期列已设为文本格式。从其他表格粘贴时请用“选择性粘贴—数值”,"
            "否则18位身份证号会被 Excel 存成数字而丢失末3位。"
        ),
        _(
            "4. 证件类型、性别、户籍类型、用工形式从下拉列表选择;持居民身份证的人员性别和"
            "出生日期按号码确定,可以留空。"
        ),
        _(
            "5. 参保险种填写险种代码,用英文逗号分隔:110 企业职工基本养老保险,210 失业保险,"
            "310 职工基本医疗保险,410 工伤保险,510 生育保险。"
        ),
        _("6. 参保起始年月格式为 YYYY-MM(如 2026-11);用工日期格式为 YYYY-MM-DD。"),
        _("7. 月缴费工资须在本统筹区当年缴费基数上下限之间。"),
        _("8. 单次最多导入 %(rows)d 行,文件不超过 %(mb)d MB。同一文件重复上传不会重复增员。")
        % {"rows": MAX_ROWS, "mb": MAX_UPLOAD_BYTES // (1024 * 1024)},
        _(
            "9. 导入完成后可下载结果报告,报告在原有各列后增加“结果”和“错误原因”两列;"
            "修改错误行后可只上传这些行。"
        ),
    ]
    for row, line in enumerate(help_lines, start=1):
        help_sheet.cell(row=row, column=1, value=line)
    help_sheet["A1"].font = Font(bold=True, size=14)
    help_sheet.column_dimensions["A"].width = 110

    workbook.active = 0
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


# ---------------------------------------------------------------------------------------------
# Reading an upload


def xlsx_file_check(file) -> None:
    """Refuse a file that is too large or is not an XLSX package by content (not by name)."""
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, io.SEEK_END)
        size = file.tell()
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("文件大小为 %(size).1f MB,超过 %(limit)d MB 的上限,请拆分后分别上传。")
            % {"size": size / 1024 / 1024, "limit": MAX_UPLOAD_BYTES // (1024 * 1024)},
            code="too_large",
        )
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError(
            _("这是旧版 Excel 97-2003(.xls)文件。请在 Excel 或 WPS 中另存为 .xlsx 格式后上传。"),
            code="xls",
        )
    try:
        with zipfile.ZipFile(file) as package:
            entries = package.infolist()
            names = {entry.filename for entry in entries}
            unpacked = sum(entry.file_size for entry in entries)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ValidationError(NOT_XLSX, code="not_xlsx") from None
    finally:
        file.seek(0)
    if not {"[Content_Types].xml", "xl/workbook.xml"} <= names:
        raise ValidationError(NOT_XLSX, code="not_xlsx")
    if unpacked > MAX_UNPACKED_BYTES:
        raise ValidationError(NOT_XLSX, code="not_xlsx")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _open_rows(file) -> Iterator[tuple[int, tuple]]:
    """Yield (Excel row number, cells) of the data rows after checking the header row."""
    xlsx_file_check(file)
    try:
        reader = SheetReader(file, preferred_sheet=DATA_SHEET)
    except Exception:  # noqa: BLE001 — openpyxl raises many types for a broken package
        raise ValidationError(NOT_XLSX, code="not_xlsx") from None
    width = len(HEADERS)
    try:
        rows = reader.rows()
        try:
            first = next(rows, None)
        except Exception:  # noqa: BLE001 — a sheet that is not well-formed XML
            raise ValidationError(NOT_XLSX, code="not_xlsx") from None
        pending = []
        header_cells: list = []
        if first is not None and first[0] == 1:
            header_cells = first[1]
        elif first is not None:
            pending.append(first)  # no row 1: an empty header, refused below
        header = [_cell_text(value) for value in header_cells]
        while header and not header[-1]:
            header.pop()
        if header == [*HEADERS, *RESULT_HEADERS]:
            header = header[:width]  # a result report, corrected and uploaded again
        if header != HEADERS:
            raise ValidationError(_header_message(header), code="template")
        empty_run = 0
        expected = 2  # rows the file leaves out are empty rows
        for number, cells in _checked_rows(itertools.chain(pending, rows)):
            if number < expected:
                continue
            empty_run += number - expected
            if empty_run >= MAX_EMPTY_RUN:
                break
            expected = number + 1
            cells = tuple(cells[:width]) + (None,) * (width - len(cells))
            if all(_cell_text(value) == "" for value in cells):
                empty_run += 1
                if empty_run >= MAX_EMPTY_RUN:
                    break
                continue
            empty_run = 0
            if _cell_text(cells[0]).startswith(EXAMPLE_MARK):
                continue
            yield number, cells
    finally:
        reader.close()


def _checked_rows(rows: Iterator[tuple[int, list]]) -> Iterator[tuple[int, list]]:
    """Pass the rows on; a sheet that stops being readable part-way is not an XLSX file."""
    while True:
        try:
            item = next(rows)
        except StopIteration:
            return
        except Exception:  # noqa: BLE001 — broken XML, a shared string that does not exist
            raise ValidationError(NOT_XLSX, code="not_xlsx") from None
        yield item


def _header_message(header: list[str]) -> str:
    lead = _("文件不是本系统的批量增员模板")
    advice = _("请在本页下载最新模板,把数据复制到模板中(不要改动第1行表头)后重新上传。")
    if not header:
        return f"{lead}:{_('第1行没有表头。')}{advice}"
    for index, expected in enumerate(HEADERS):
        found = header[index] if index < len(header) else ""
        if found != expected:
            detail = _("第%(col)s列表头应为“%(expected)s”,实际为“%(found)s”。") % {
                "col": get_column_letter(index + 1),
                "expected": expected,
                "found": found or _("空"),
            }
            return f"{lead}:{detail}{advice}"
    extra = header[len(HEADERS)]
    detail = _("表头多出一列“%s”。") % extra
    return f"{lead}:{detail}{advice}"


def batch_inspect(file) -> int:
    """Check an upload (format, header, row cap) and return its number of data rows."""
    return len(batch_read_cells(file))


def batch_read_cells(file) -> list[tuple[int, tuple]]:
    """Check an upload (format, header, row cap) and return (row number, cells) of its rows."""
    cells = []
    for item in _open_rows(file):
        cells.append(item)
        if len(cells) > MAX_ROWS:
            raise ValidationError(_too_many_rows_message(), code="too_many_rows")
    if not cells:
        raise ValidationError(
            _("文件中没有需要导入的人员(示例行不导入)。请从第3行起填写后再上传。"), code="empty"
        )
    return cells


def _cells_cache_key(sha256: str) -> str:
    return f"enrollment:batch-cells:{sha256}"


def _cache_cells(sha256: str, cells: list[tuple[int, tuple]]) -> None:
    """Keep what the upload check read for the import task, so the file is parsed once.

    Keyed by the file's SHA-256: the task finds exactly the cells of the stored file. A cache
    that is down or has evicted the entry only means the task reads the file again.
    """
    try:
        cache.set(_cells_cache_key(sha256), cells, CELLS_CACHE_SECONDS)
    except Exception:  # noqa: BLE001 — an optimisation only
        logger.warning("batch import cells not cached")


def _cached_cells(sha256: str) -> list[tuple[int, tuple]] | None:
    try:
        cells = cache.get(_cells_cache_key(sha256))
        if cells is not None:
            cache.delete(_cells_cache_key(sha256))
    except Exception:  # noqa: BLE001
        return None
    return cells if isinstance(cells, list) else None


def _too_many_rows_message() -> str:
    return _("文件中的人员超过 %(max)d 行,单次最多导入 %(max)d 行,请拆分为多个文件分别上传。") % {
        "max": MAX_ROWS
    }


@dataclass
class BatchRow:
    """One data row: its Excel row number, the cells as read, the parsed fields, and errors."""

    number: int
    cells: tuple
    fields: dict = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add_error(self, field_name: str, message) -> None:
        self.errors.setdefault(field_name, []).append(str(message))

    def add_validation_error(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for field_name, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field_name, message)
        else:
            for message in exc.messages:
                self.add_error(NON_FIELD_ERRORS, message)

    def error_text(self) -> str:
        parts = []
        for field_name, messages in self.errors.items():
            label = LABELS.get(field_name)
            for message in messages:
                parts.append(f"{label}:{message}" if label else message)
        return ";".join(parts)


def batch_parse(
    file,
    *,
    forms: dict[str, EmploymentForm] | None = None,
    cells_read: list[tuple[int, tuple]] | None = None,
) -> list[BatchRow]:
    """Read an upload into rows with typed fields; a cell that cannot be read is a row error.

    Raises ValidationError for a problem with the whole file (not an XLSX, a wrong header, more
    than MAX_ROWS rows). ``forms`` (from employment_forms_for) maps 用工形式 to its row; without
    it the column is left as text. ``cells_read`` (from batch_read_cells) is used instead of
    reading ``file`` again.
    """
    rows = []
    for number, cells in _open_rows(file) if cells_read is None else cells_read:
        if len(rows) >= MAX_ROWS:
            raise ValidationError(_too_many_rows_message(), code="too_many_rows")
        row = BatchRow(number=number, cells=cells)
        _parse_fields(row, forms)
        rows.append(row)
    if not rows:
        raise ValidationError(
            _("文件中没有需要导入的人员(示例行不导入)。请从第3行起填写后再上传。"), code="empty"
        )
    return rows


DOCUMENT_TYPES = _labelled(DocumentType)
HUKOU_TYPES = _labelled(HukouType)


def _parse_fields(row: BatchRow, forms: dict[str, EmploymentForm] | None) -> None:
    raw = dict(zip((column.field for column in COLUMNS), row.cells, strict=True))
    fields = row.fields

    fields["name"] = _cell_text(raw["name"])
    if not fields["name"]:
        row.add_error("name", _("请填写姓名。"))
    elif len(fields["name"]) > 50:
        row.add_error("name", _("姓名不能超过50个字。"))

    document_type = _cell_text(raw["document_type"]) or DocumentType.RESIDENT_ID
    fields["document_type"] = DOCUMENT_TYPES.get(document_type, "")
    if not fields["document_type"]:
        row.add_error("document_type", _("“%s”不是可选的证件类型。") % document_type)

    fields["document_number"] = _document_number(row, raw["document_number"], fields)

    sex = _cell_text(raw["sex"])
    fields["sex"] = SEX_VALUES.get(sex, "")
    if sex and not fields["sex"]:
        row.add_error("sex", _("性别应为“男”或“女”。"))

    fields["birth_date"] = _date(row, "birth_date", raw["birth_date"])
    fields["nationality"] = _cell_text(raw["nationality"]) or "中国"

    hukou = _cell_text(raw["hukou_type"])
    fields["hukou_type"] = HUKOU_TYPES.get(hukou, "")
    if not hukou:
        row.add_error("hukou_type", _("请选择户籍类型。"))
    elif not fields["hukou_type"]:
        row.add_error("hukou_type", _("“%s”不是可选的户籍类型。") % hukou)

    fields["phone"] = _cell_text(raw["phone"])

    employment_form = _cell_text(raw["employment_form"])
    fields["employment_form"] = employment_form
    if not employment_form:
        row.add_error("employment_form", _("请选择用工形式。"))
    elif forms is not None:
        by_name = {form.name: form for form in forms.values()}
        form = by_name.get(employment_form) or forms.get(employment_form)
        if form is None:
            row.add_error(
                "employment_form", _("“%s”不是本统筹区可选的用工形式。") % employment_form
            )
        fields["employment_form"] = form

    codes = [code for code in INSURANCE_SPLIT.split(_cell_text(raw["insurance_codes"])) if code]
    fields["insurance_codes"] = sorted(set(codes))
    if not codes:
        row.add_error("insurance_codes", _("请填写参保险种代码,如 110,210,310,410。"))

    fields["start_month"] = _month(row, raw["start_month"])
    fields["employment_start"] = _date(row, "employment_start", raw["employment_start"])
    fields["contribution_base"] = _money(row, raw["contribution_base"])


def _document_number(row: BatchRow, value, fields: dict) -> str:
    if isinstance(value, int | float):
        # Excel keeps 15 significant digits in a numeric cell: the last digits of an 18-digit
        # ID are already zeros and the number cannot be recovered from the file.
        digits = _cell_text(value)
        if fields.get("document_type") == DocumentType.RESIDENT_ID and len(digits) >= 15:
            row.add_error(
                "document_number",
                _("证件号码被 Excel 存成了数字,末几位已丢失。请将该列设为文本格式后重新录入号码。"),
            )
            return digits
        return digits
    number = "".join(_cell_text(value).split()).upper()
    if not number:
        row.add_error("document_number", _("请填写证件号码。"))
    elif fields.get("document_type") == DocumentType.RESIDENT_ID and len(number) != 18:
        if len(number) == 15 and number.isdigit():
            message = _("这是15位旧身份证号码,请填写18位居民身份证号码。")
        else:
            message = _("居民身份证号码应为18位,本行为%d位。") % len(number)
        row.add_error("document_number", message)
    return number


def _date(row: BatchRow, field_name: str, value) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _cell_text(value)
    if not text:
        return None
    match = DATE_PATTERN.fullmatch(text)
    if match:
        parts = match.groups()
        year, month, day = parts[:3] if parts[0] else parts[3:]
        try:
            return datetime.date(int(year), int(month), int(day))
        except ValueError:
            pass
    row.add_error(field_name, _("“%s”不是有效日期,格式应为 YYYY-MM-DD。") % text)
    return None


def _month(row: BatchRow, value) -> datetime.date | None:
    if isinstance(value, datetime.date):
        return datetime.date(value.year, value.month, 1)
    text = _cell_text(value)
    if not text:
        row.add_error("start_month", _("请填写参保起始年月。"))
        return None
    match = MONTH_PATTERN.fullmatch(text)
    if match and 1 <= int(match.group(2)) <= 12:
        return datetime.date(int(match.group(1)), int(match.group(2)), 1)
    row.add_error("start_month", _("“%s”不是有效年月,格式应为 YYYY-MM。") % text)
    return None


def _money(row: BatchRow, value) -> Decimal | None:
    text = _cell_text(value).replace(",", "").replace("元", "")
    if not text:
        row.add_error("contribution_base", _("请填写月缴费工资。"))
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0:
        row.add_error("contribution_base", _("月缴费工资应为大于0的金额。"))
        return None
    if amount != amount.quantize(Decimal("0.01")):
        row.add_error("contribution_base", _("月缴费工资最多保留两位小数。"))
        return None
    return amount.quantize(Decimal("0.01"))


def batch_idempotency_key(*, employer_id: int, document_number: str, start_month) -> uuid.UUID:
    """The filing key of a row: the same person and start month in the same unit, the same key."""
    month = start_month.strftime("%Y-%m") if start_month else ""
    return uuid.uuid5(BATCH_KEY_NAMESPACE, f"{employer_id}|{document_number}|{month}")


# ---------------------------------------------------------------------------------------------
# Upload and processing


def _new_reference() -> str:
    return f"PL{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


@transaction.atomic
def batch_import_create(*, agent, file, request=None) -> BatchImport:
    """Store an uploaded workbook as a queued import and start its task after commit."""
    from enrollment.tasks import import_batch_add

    cells = batch_read_cells(file)
    total_rows = len(cells)
    file.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(chunk)
    file.seek(0)
    _cache_cells(digest.hexdigest(), cells)
    batch = BatchImport(
        reference=_new_reference(),
        employer=agent.employer,
        submitted_by=agent,
        original_name=os.path.basename(getattr(file, "name", "") or "upload.xlsx")[:200],
        file_sha256=digest.hexdigest(),
        total_rows=total_rows,
    )
    batch.file.save("upload.xlsx", file, save=False)
    batch.full_clean()
    batch.save()
    audit_log(
        action="enrollment.batch_uploaded",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=batch,
        request=request,
        details={"reference": batch.reference, "rows": total_rows},
    )
    batch_id = batch.pk
    transaction.on_commit(lambda: import_batch_add.delay(batch_id))
    return batch


@dataclass
class _Outcome:
    created: int = 0
    duplicate: int = 0
    error: int = 0

    @property
    def processed(self) -> int:
        return self.created + self.duplicate + self.error


def _save_progress(batch: BatchImport, outcome: _Outcome) -> None:
    BatchImport.objects.filter(pk=batch.pk).update(
        processed_rows=outcome.processed,
        created_count=outcome.created,
        duplicate_count=outcome.duplicate,
        error_count=outcome.error,
    )


def _claim(batch_import_id: int) -> BatchImport | None:
    """Mark the import running and return it, or None when it has already finished."""
    with transaction.atomic():
        batch = (
            BatchImport.objects.select_for_update()
            .select_related("employer__region", "employer__account", "submitted_by__user")
            .get(pk=batch_import_id)
        )
        if batch.status in (BatchImport.Status.DONE, BatchImport.Status.FAILED):
            return None
        # A crashed run restarts from the first row: rows it filed already are found by their
        # idempotency keys and are counted as filed by this import again, not as duplicates.
        batch.status = BatchImport.Status.RUNNING
        batch.processed_rows = batch.created_count = 0
        batch.duplicate_count = batch.error_count = 0
        batch.save(
            update_fields=[
                "status",
                "processed_rows",
                "created_count",
                "duplicate_count",
                "error_count",
            ]
        )
    return batch


def _fail(batch: BatchImport, reason: str) -> BatchImport:
    with transaction.atomic():
        batch.status = BatchImport.Status.FAILED
        batch.failure_reason = str(reason)[:200]
        batch.finished_at = timezone.now()
        batch.save(update_fields=["status", "failure_reason", "finished_at"])
        audit_log(
            action="enrollment.batch_failed",
            actor=batch.submitted_by.user,
            employer_id=batch.employer_id,
            obj=batch,
            outcome=AuditEvent.Outcome.FAILURE,
            details={"reference": batch.reference},
        )
    return batch


def _existing_filings(employer_id: int, keys: list[uuid.UUID]) -> dict[uuid.UUID, tuple]:
    """Map the keys already used by filings to (reference, created_at)."""
    found = {}
    for start in range(0, len(keys), 2000):
        chunk = keys[start : start + 2000]
        for key, reference, created_at in AddEmployeeFiling.objects.filter(
            employer_id=employer_id, idempotency_key__in=chunk
        ).values_list("idempotency_key", "reference", "created_at"):
            found[key] = (reference, created_at)
    return found


def batch_process(batch_import_id: int, *, bulk: bool = True) -> BatchImport:
    """Turn each valid row of an import into a filing, then write the row-by-row report.

    With ``bulk`` (the default) the rows that pass every check with data loaded once are
    written a chunk at a time (_bulk_file); any other row goes through the add-employee service
    on its own, in its own transaction, so that a bad row never undoes a good one.
    """
    batch = _claim(batch_import_id)
    if batch is None:
        return BatchImport.objects.get(pk=batch_import_id)
    employer = batch.employer
    try:
        forms = employment_forms_for(employer.region)
        cells = _cached_cells(batch.file_sha256)
        if cells is not None:
            rows = batch_parse(None, forms=forms, cells_read=cells)
        else:
            with batch.file.open("rb") as handle:
                rows = batch_parse(io.BytesIO(handle.read()), forms=forms)
    except ValidationError as exc:
        return _fail(batch, " ".join(exc.messages))
    if batch.total_rows != len(rows):
        batch.total_rows = len(rows)
        batch.save(update_fields=["total_rows"])

    keys: dict[int, uuid.UUID] = {}
    for index, row in enumerate(rows):
        if not row.errors:
            keys[index] = batch_idempotency_key(
                employer_id=employer.pk,
                document_number=row.fields["document_number"],
                start_month=row.fields["start_month"],
            )
    existing = _existing_filings(employer.pk, list(set(keys.values())))
    context = _BulkContext.load(batch, rows) if bulk else None
    submit = _submitter(batch)
    results: dict[int, str] = {}
    first_row_of_key: dict[uuid.UUID, int] = {}
    outcome = _Outcome()
    for start in range(0, len(rows), CHUNK_ROWS):
        to_file: list[int] = []
        for index in range(start, min(start + CHUNK_ROWS, len(rows))):
            row, key = rows[index], keys.get(index)
            if row.errors:
                outcome.error += 1
            elif key in first_row_of_key:
                outcome.duplicate += 1
                results[index] = (
                    _("重复:与第%d行为同一人员同一参保起始年月,未重复增员")
                    % (first_row_of_key[key])
                )
            elif key in existing and existing[key][1] < batch.created_at:
                outcome.duplicate += 1
                reference = existing[key][0]
                results[index] = _("重复:该人员已于此前增员(业务编号 %s),未重复增员") % reference
            else:
                first_row_of_key[key] = row.number
                to_file.append(index)
        singles = to_file
        if context is not None:
            singles = []
            candidates = []
            for index in to_file:
                checked = None if keys[index] in existing else context.check(rows[index])
                if checked is None:
                    singles.append(index)
                else:
                    candidates.append((index, keys[index], checked))
            try:
                filed = _bulk_file(context, rows, candidates)
            except IntegrityError:
                # A concurrent filing took a key or a person first: file the chunk row by row.
                singles = to_file
            else:
                for index, filing in filed.items():
                    outcome.created += 1
                    results[index] = _("成功:已提交增员申请,业务编号 %s") % filing.reference
        for index in sorted(singles):
            row = rows[index]
            try:
                filing = submit(row, keys[index])
            except ValidationError as exc:
                row.add_validation_error(exc)
                outcome.error += 1
            else:
                outcome.created += 1
                results[index] = _("成功:已提交增员申请,业务编号 %s") % filing.reference
        _save_progress(batch, outcome)

    report = batch_report_workbook(rows, results)
    with transaction.atomic():
        batch.report.save(f"{batch.reference}-report.xlsx", ContentFile(report), save=False)
        batch.status = BatchImport.Status.DONE
        batch.processed_rows = outcome.processed
        batch.created_count = outcome.created
        batch.duplicate_count = outcome.duplicate
        batch.error_count = outcome.error
        batch.finished_at = timezone.now()
        batch.save(
            update_fields=[
                "report",
                "status",
                "processed_rows",
                "created_count",
                "duplicate_count",
                "error_count",
                "finished_at",
            ]
        )
        audit_log(
            action="enrollment.batch_processed",
            actor=batch.submitted_by.user,
            employer_id=employer.pk,
            obj=batch,
            details={
                "reference": batch.reference,
                "rows": len(rows),
                "created": outcome.created,
                "duplicates": outcome.duplicate,
                "errors": outcome.error,
            },
        )
    return batch


# ---------------------------------------------------------------------------------------------
# The bulk path: the same rules and the same rows as add_employee_filing_submit, a chunk at a time


@dataclass
class _BulkContext:
    """What every row's checks need, loaded once per import instead of once per row."""

    agent: object
    employer: object
    today: datetime.date
    backdate_months: int
    deadline_days: int
    review_terms: object
    known_documents: set[tuple[str, str]]
    bounds: dict[datetime.date, tuple[Decimal, Decimal] | None] = field(default_factory=dict)
    coupling: dict[tuple, bool] = field(default_factory=dict)
    seen_documents: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def load(cls, batch: BatchImport, rows: list[BatchRow]) -> _BulkContext:
        employer = batch.employer
        backdate_months, deadline_days = rules.region_settings(employer.region)
        return cls(
            agent=batch.submitted_by,
            employer=employer,
            today=timezone.localdate(),
            backdate_months=backdate_months,
            deadline_days=deadline_days,
            review_terms=review_policy_for(model=AddEmployeeFiling, region_id=employer.region_id),
            known_documents=_known_documents(rows),
        )

    def base_bounds(self, month: datetime.date) -> tuple[Decimal, Decimal] | None:
        if month not in self.bounds:
            try:
                self.bounds[month] = base_bounds(self.employer.region, month)
            except PolicyError:
                self.bounds[month] = None
        return self.bounds[month]

    def coupling_passes(self, hukou_type: str, form_code: str, codes: list[str]) -> bool:
        key = (hukou_type, form_code, tuple(codes))
        if key not in self.coupling:
            try:
                rules.insurance_coupling_check(
                    region=self.employer.region,
                    hukou_type=hukou_type,
                    employment_form_code=form_code,
                    insurance_codes=codes,
                )
            except ValidationError:
                self.coupling[key] = False
            else:
                self.coupling[key] = True
        return self.coupling[key]

    def check(self, row: BatchRow) -> CheckedPerson | None:
        """Return the checked person of a row the bulk path may file, else None.

        None sends the row to add_employee_filing_submit: a row that fails a check (so that
        the service words the messages), a person already known to the portal, a person met
        earlier in the file.
        """
        data = row.fields
        required = ("start_month", "contribution_base", "employment_form")
        if not _person_fields_valid(data) or any(data[name] is None for name in required):
            return None
        try:
            number, sex, birth_date = rules.person_facts(
                document_type=data["document_type"],
                document_number=data["document_number"],
                sex=data["sex"],
                birth_date=data["birth_date"],
                today=self.today,
            )
            rules.hukou_check(
                document_type=data["document_type"],
                nationality=data["nationality"] or "",
                hukou_type=data["hukou_type"],
            )
            flags = rules.start_month_check(
                start_month=data["start_month"],
                unit_opened_on=self.employer.account.opened_on,
                today=self.today,
                backdate_months=self.backdate_months,
            )
            flags += rules.late_filing_flags(
                employment_start=data["employment_start"],
                today=self.today,
                deadline_days=self.deadline_days,
            )
        except ValidationError:
            return None
        document = (data["document_type"], blind_index("document_number", number))
        if document in self.known_documents or document in self.seen_documents:
            return None
        start = rules.first_of_month(data["start_month"])
        bounds = self.base_bounds(start)
        base = Decimal(data["contribution_base"])
        if bounds is None or not bounds[0] <= base <= bounds[1]:
            return None
        form = data["employment_form"]
        codes = sorted({str(code) for code in data["insurance_codes"] or ()})
        if form is None or not self.coupling_passes(data["hukou_type"], form.code, codes):
            return None
        if sex not in PERSON_SEXES or not isinstance(birth_date, datetime.date):
            return None
        self.seen_documents.add(document)
        return CheckedPerson(
            document_type=data["document_type"],
            document_number=number,
            sex=sex,
            birth_date=birth_date,
            start_month=start,
            employment_form=form,
            insurance_codes=codes,
            flags=sorted(set(flags)),
            person=None,
        )


PERSON_SEXES = frozenset(Person.Sex.values)
PERSON_DOCUMENT_TYPES = frozenset(DocumentType.values)
PERSON_HUKOU_TYPES = frozenset(HukouType.values)
NAME_MAX = Person._meta.get_field("name").max_length
NATIONALITY_MAX = Person._meta.get_field("nationality").max_length


def _person_fields_valid(data: dict) -> bool:
    """What Person.full_clean checks of a row's own values, without building a model per row.

    A row that fails goes through the service, whose full_clean words the message.
    """
    name = " ".join(data["name"].split())
    nationality = data["nationality"] or ""
    return (
        0 < len(name) <= NAME_MAX
        and 0 < len(nationality) <= NATIONALITY_MAX
        and data["document_type"] in PERSON_DOCUMENT_TYPES
        and data["hukou_type"] in PERSON_HUKOU_TYPES
        and bool(data["document_number"])
    )


def _known_documents(rows: list[BatchRow]) -> set[tuple[str, str]]:
    """The (document type, blind index) of the file's persons the portal already knows."""
    indexes = sorted(
        {
            blind_index("document_number", "".join(str(row.fields["document_number"]).split()))
            for row in rows
            if not row.errors
        }
    )
    known = set()
    for start in range(0, len(indexes), 2000):
        known.update(
            Person.objects.filter(document_index__in=indexes[start : start + 2000]).values_list(
                "document_type", "document_index"
            )
        )
    return known


@transaction.atomic
def _bulk_file(
    context: _BulkContext, rows: list[BatchRow], candidates: list[tuple[int, uuid.UUID, object]]
) -> dict[int, AddEmployeeFiling]:
    """Write what add_employee_filing_submit writes for new persons, for many rows at once.

    The same rows as the service and portal.review.review_submit: the person, the enrolment
    with its history row, the filing in the submitted state, its review transition, the two
    audit events, and the review pre-checks queued after commit (one message for the chunk:
    10,000 messages cost the import more time than all its writes). tests/enrollment/
    test_batch.py compares what both paths write.
    """
    if not candidates:
        return {}
    agent, employer = context.agent, context.employer
    user = agent.user
    persons, enrolments = [], []
    for index, _key, checked in candidates:
        data = rows[index].fields
        person = Person(
            name=" ".join(data["name"].split()),
            document_type=checked.document_type,
            document_number=checked.document_number,
            sex=checked.sex,
            birth_date=checked.birth_date,
            nationality=data["nationality"],
            hukou_type=data["hukou_type"],
            phone=data["phone"],
        )
        # No full_clean per row: _BulkContext.check passed only rows whose values it allows.
        persons.append(person)
    insert_many(Person, persons)
    for (index, _key, checked), person in zip(candidates, persons, strict=True):
        data = rows[index].fields
        enrolments.append(
            Enrolment(
                person=person,
                employer=employer,
                employment_form=checked.employment_form,
                insurance_codes=checked.insurance_codes,
                start_month=checked.start_month,
                employment_start=data["employment_start"],
                contribution_base=Decimal(data["contribution_base"]),
            )
        )
    insert_many_with_history(Enrolment, enrolments)
    now = timezone.now()
    due_at = review_due_at(now, context.review_terms.due_working_days)
    filings = [
        AddEmployeeFiling(
            reference=new_filing_reference(),
            employer=employer,
            enrolment=enrolment,
            submitted_by=agent,
            idempotency_key=key,
            flags=checked.flags,
            review_region=employer.region,
            # portal.review.review_submit of a new item: submitted, due by the region's terms.
            review_state=ReviewState.SUBMITTED,
            submitted_at=now,
            due_at=due_at,
        )
        for (_index, key, checked), enrolment in zip(candidates, enrolments, strict=True)
    ]
    insert_many(AddEmployeeFiling, filings)
    content_type = ContentType.objects.get_for_model(AddEmployeeFiling)
    insert_many(
        ReviewTransition,
        [
            ReviewTransition(
                content_type=content_type,
                object_id=filing.pk,
                action="submit",
                from_state="",
                to_state=ReviewState.SUBMITTED,
                actor=user,
                actor_label=user.get_username(),
                comment="",
            )
            for filing in filings
        ],
    )
    events = []
    for filing in filings:
        common = {
            "actor": user,
            "actor_label": user.get_username(),
            "employer_id": employer.pk,
            "object_type": AddEmployeeFiling._meta.label,
            "object_id": str(filing.pk),
        }
        events.append(
            AuditEvent(
                action="review.submit",
                details={"from": "", "to": ReviewState.SUBMITTED.value},
                **common,
            )
        )
        events.append(
            AuditEvent(
                action="enrollment.add_submitted",
                details={"reference": filing.reference, "flags": filing.flags},
                **common,
            )
        )
    insert_many(AuditEvent, events)
    label = AddEmployeeFiling._meta.label
    pks = [filing.pk for filing in filings]
    transaction.on_commit(lambda: _enqueue_prechecks(label, pks))
    return {
        index: filing for (index, _key, _checked), filing in zip(candidates, filings, strict=True)
    }


def _enqueue_prechecks(label: str, pks: list[int]) -> None:
    """Queue the chunk's review pre-checks as one message rather than one per filing."""
    from enrollment.tasks import filings_precheck

    try:
        filings_precheck.delay(label, pks)
    except Exception:  # noqa: BLE001 — broker down: the deadline watcher re-queues each one
        logger.warning("pre-checks of %d batch-import filings not queued", len(pks))


def _submitter(batch: BatchImport):
    """Return a function filing one valid row through the add-employee service."""
    agent = batch.submitted_by

    def submit(row: BatchRow, key: uuid.UUID) -> AddEmployeeFiling:
        fields = row.fields
        return add_employee_filing_submit(
            agent=agent,
            idempotency_key=key,
            name=fields["name"],
            document_type=fields["document_type"],
            document_number=fields["document_number"],
            sex=fields["sex"],
            birth_date=fields["birth_date"],
            nationality=fields["nationality"],
            hukou_type=fields["hukou_type"],
            phone=fields["phone"],
            employment_form=fields["employment_form"],
            insurance_codes=fields["insurance_codes"],
            start_month=fields["start_month"],
            employment_start=fields["employment_start"],
            contribution_base=fields["contribution_base"],
            generate_form=False,
        )

    return submit


def batch_report_workbook(rows: list[BatchRow], results: dict[int, str]) -> bytes:
    """Return the report: the uploaded columns, then 结果 and 错误原因 for every row."""
    widths = {index: column.width for index, column in enumerate(COLUMNS, start=1)}
    widths[len(COLUMNS) + 1] = 44
    widths[len(COLUMNS) + 2] = 60
    text_columns = [index for index, column in enumerate(COLUMNS) if column.text]
    id_column = HEADERS.index(LABELS["document_number"])
    failed = Styled(_("未导入"), "red")

    def lines():
        yield [Styled(text, "bold") for text in [*HEADERS, *RESULT_HEADERS]]
        for index, row in enumerate(rows):
            values = list(row.cells)
            for position in text_columns:
                if values[position] is not None:
                    values[position] = _cell_text(values[position])
            if values[id_column] is not None:
                # Keep the ID column as text, so that a corrected report can be uploaded again.
                values[id_column] = Styled(values[id_column], "text")
            if row.errors:
                values += [failed, row.error_text()]
            else:
                values += [results.get(index, ""), ""]
            yield values

    return write_sheet(title=_("导入结果"), rows=lines(), widths=widths)


# ---------------------------------------------------------------------------------------------
# Selectors


def batch_import_list_for_agent(*, agent):
    """The imports of the agent's unit, newest first."""
    return BatchImport.objects.filter(employer_id=agent.employer_id).order_by("-created_at")


def batch_import_get_for_agent(*, agent, reference: str) -> BatchImport:
    """One import of the agent's unit; 404 whether it is missing or another unit's."""
    batch = batch_import_list_for_agent(agent=agent).filter(reference=reference).first()
    if batch is None:
        raise Http404(_("没有找到该批量增员记录。"))
    return batch
