"""批量增员 template: the columns, and the workbook generated in code each time.

The template is generated every time (LIBRARIES.md: an Excel-edited template loses validation
extensions when openpyxl rewrites it): a data sheet with the ID column formatted as text,
dropdowns for coded fields and an example row, a sheet of codes and a sheet of instructions.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from enrollment.models import (
    DocumentType,
    EmploymentForm,
    HukouType,
)
from portal.identifiers import resident_id_check_char

DATA_SHEET = "增员名单"


LISTS_SHEET = "代码表"


HELP_SHEET = "填写说明"


EXAMPLE_MARK = "【示例】"


# Upload limits, stated in the template's instructions and enforced by enrollment.batch.reader.
MAX_ROWS = 10_000


MAX_UPLOAD_BYTES = 10 * 1024 * 1024


# A 10,000-row workbook unpacks to about 5 MB; far more is a decompression bomb.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024


# Nor may one part (a sheet, the shared strings, the styles): a 10,000-row sheet is about 7 MB,
# and openpyxl parses the workbook and styles parts whole, where no time limit can stop it.
MAX_PART_BYTES = 50 * 1024 * 1024


# Stop reading a sheet after this many empty rows in a row (formatted but empty rows).
MAX_EMPTY_RUN = 2_000


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
# The report repeats the columns and adds these two (enrollment.batch.report).
RESULT_HEADERS = ["结果", "错误原因"]


INSURANCE_COMBINATIONS = ["110,210,310,410", "110,210,310,410,510", "110,310,410", "410"]


def employment_forms_for(region) -> dict[str, EmploymentForm]:
    """The region's active 用工形式 by code; a region's own row replaces a nationwide one."""
    forms: dict[str, EmploymentForm] = {}
    rows = EmploymentForm.objects.filter(Q(region=region) | Q(region__isnull=True), is_active=True)
    for form in sorted(rows, key=lambda f: (f.region_id is not None, f.sort_order, f.code)):
        forms[form.code] = form
    return dict(sorted(forms.items(), key=lambda item: (item[1].sort_order, item[0])))


def labelled(choices) -> dict[str, str]:
    """Map both the Chinese label and the stored value of TextChoices to the value."""
    mapping = {str(label): value for value, label in choices.choices}
    mapping.update({value: value for value in choices.values})
    return mapping


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
