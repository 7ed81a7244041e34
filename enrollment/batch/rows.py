"""批量增员 rows: each row's cells parsed into the add-employee fields, with a message per error."""

from __future__ import annotations

import datetime
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext as _

from enrollment.batch.reader import cell_text, open_rows, too_many_rows_message
from enrollment.batch.template import COLUMNS, LABELS, MAX_ROWS, labelled
from enrollment.models import (
    DocumentType,
    EmploymentForm,
    HukouType,
)
from portal.identifiers import validate_person_name

# uuid5 namespace of batch-import idempotency keys (any fixed UUID will do; never change it).
BATCH_KEY_NAMESPACE = uuid.UUID("6f1d3c9e-1c55-4d0b-9a59-3f6c0b2f5e11")


SEX_VALUES = {"男": "male", "女": "female", "male": "male", "female": "female"}


INSURANCE_SPLIT = re.compile(r"[\s,;/\u3001\uff0c\uff1b]+")  # also 、,; typed in Chinese


MONTH_PATTERN = re.compile(r"(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*月?")


DATE_PATTERN = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?|(\d{4})(\d{2})(\d{2})"
)


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
    for number, cells in open_rows(file) if cells_read is None else cells_read:
        if len(rows) >= MAX_ROWS:
            raise ValidationError(too_many_rows_message(), code="too_many_rows")
        row = BatchRow(number=number, cells=cells)
        _parse_fields(row, forms)
        rows.append(row)
    if not rows:
        raise ValidationError(
            _("文件中没有需要导入的人员(示例行不导入)。请从第3行起填写后再上传。"), code="empty"
        )
    return rows


DOCUMENT_TYPES = labelled(DocumentType)


HUKOU_TYPES = labelled(HukouType)


def _parse_fields(row: BatchRow, forms: dict[str, EmploymentForm] | None) -> None:
    raw = dict(zip((column.field for column in COLUMNS), row.cells, strict=True))
    fields = row.fields

    fields["name"] = cell_text(raw["name"])
    if not fields["name"]:
        row.add_error("name", _("请填写姓名。"))
    elif len(fields["name"]) > 50:
        row.add_error("name", _("姓名不能超过50个字。"))
    else:
        try:
            validate_person_name(fields["name"])
        except ValidationError as exc:
            row.add_error("name", exc.messages[0])

    document_type = cell_text(raw["document_type"]) or DocumentType.RESIDENT_ID
    fields["document_type"] = DOCUMENT_TYPES.get(document_type, "")
    if not fields["document_type"]:
        row.add_error("document_type", _("“%s”不是可选的证件类型。") % document_type)

    fields["document_number"] = _document_number(row, raw["document_number"], fields)

    sex = cell_text(raw["sex"])
    fields["sex"] = SEX_VALUES.get(sex, "")
    if sex and not fields["sex"]:
        row.add_error("sex", _("性别应为“男”或“女”。"))

    fields["birth_date"] = _date(row, "birth_date", raw["birth_date"])
    fields["nationality"] = cell_text(raw["nationality"]) or "中国"

    hukou = cell_text(raw["hukou_type"])
    fields["hukou_type"] = HUKOU_TYPES.get(hukou, "")
    if not hukou:
        row.add_error("hukou_type", _("请选择户籍类型。"))
    elif not fields["hukou_type"]:
        row.add_error("hukou_type", _("“%s”不是可选的户籍类型。") % hukou)

    fields["phone"] = cell_text(raw["phone"])

    employment_form = cell_text(raw["employment_form"])
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

    codes = [code for code in INSURANCE_SPLIT.split(cell_text(raw["insurance_codes"])) if code]
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
        digits = cell_text(value)
        if fields.get("document_type") == DocumentType.RESIDENT_ID and len(digits) >= 15:
            row.add_error(
                "document_number",
                _("证件号码被 Excel 存成了数字,末几位已丢失。请将该列设为文本格式后重新录入号码。"),
            )
            return digits
        return digits
    number = "".join(cell_text(value).split()).upper()
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
    text = cell_text(value)
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
    text = cell_text(value)
    if not text:
        row.add_error("start_month", _("请填写参保起始年月。"))
        return None
    match = MONTH_PATTERN.fullmatch(text)
    if match and 1 <= int(match.group(2)) <= 12:
        return datetime.date(int(match.group(1)), int(match.group(2)), 1)
    row.add_error("start_month", _("“%s”不是有效年月,格式应为 YYYY-MM。") % text)
    return None


def _money(row: BatchRow, value) -> Decimal | None:
    text = cell_text(value).replace(",", "").replace("元", "")
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
