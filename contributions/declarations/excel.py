"""缴费基数申报 by Excel: the prefilled template and reading an upload back.

Rows are matched by 人员编号 (the enrolment's number in this portal, which the template
carries); a row without it is matched by a full 证件号码 through the blind index. The template
shows masked ID numbers: the 人员编号 makes full ones unnecessary for matching, and full ID
numbers leave the portal only through a full export (export permission and the password again).
Uploads are checked and read as the batch import's are
(enrollment.batch.reader.xlsx_sheet_rows: size caps, XLSX package, cell length, time limit).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from contributions.declarations.rules import bounds_message, in_bounds, parse_amount
from contributions.declarations.selectors import DeclarationRow, active_enrolments
from enrollment.batch.reader import cell_text, header_and_rows, xlsx_sheet_rows
from portal.crypto import blind_index

SHEET = "缴费基数申报"
HELP_SHEET = "填写说明"
HEADERS = ["姓名", "证件号码", "上年度缴费基数", "本年度月平均工资", "人员编号"]
WIDTHS = [14, 22, 16, 18, 12]
MAX_ROWS = 20_000


def template_workbook(*, rows: list[DeclarationRow], period, full_ids: bool = False) -> bytes:
    """The unit's active employees with their previous base, as XLSX bytes."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET)
    for index, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="1F4E79")
    header = []
    for title in HEADERS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font, cell.fill = header_font, header_fill
        header.append(cell)
    sheet.append(header)
    for row in rows:
        person = row.enrolment.person
        number = WriteOnlyCell(
            sheet,
            value=person.document_number if full_ids else person.masked_document_number,
        )
        number.number_format = "@"  # text: Excel keeps 15 significant digits in numbers
        sheet.append(
            [person.name, number, float(row.previous_base), float(row.current), row.enrolment.pk]
        )
    notes = workbook.create_sheet(HELP_SHEET)
    for line in (
        _("政策期间:%(start)s 至 %(end)s")
        % {"start": f"{period.starts_on:%Y-%m-%d}", "end": f"{period.ends_on:%Y-%m-%d}"},
        _("缴费基数下限 %(lower)s 元,上限 %(upper)s 元%(demo)s")
        % {
            "lower": period.base_lower,
            "upper": period.base_upper,
            "demo": _("(演示数据,非官方公布数字)") if period.is_demo else "",
        },
        _("在“本年度月平均工资”列填写每人上年度月平均工资(元,最多两位小数)。"),
        _("不要改动第1行表头和“人员编号”列:系统按人员编号匹配职工。"),
        _("超出上下限的金额会被拒绝,上传后可选择一键调整到上下限。"),
    ):
        notes.append([line])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@dataclass
class UploadResult:
    """What an upload gave: lines (row, enrolment id, wage), errors and out-of-bounds rows."""

    lines: list[tuple[int, int, Decimal]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    out_of_bounds: list[tuple[int, int, Decimal]] = field(default_factory=list)

    @property
    def only_bounds_errors(self) -> bool:
        return not self.errors and bool(self.out_of_bounds)

    def all_errors(self, period) -> list[tuple[int, str]]:
        bounds = [(number, bounds_message(period)) for number, _e, _w in self.out_of_bounds]
        return sorted(self.errors + bounds)


def _read_rows(file):
    rows = xlsx_sheet_rows(file, sheet=SHEET)
    try:
        header, filled = header_and_rows(rows, width=len(HEADERS))
        if header != HEADERS:
            raise ValidationError(
                _(
                    "文件不是本系统的缴费基数申报模板(第1行表头应为:%s)。"
                    "请在本页下载模板,填写后上传。"
                )
                % "、".join(HEADERS),
                code="template",
            )
        for count, (number, cells) in enumerate(filled, start=1):
            if count > MAX_ROWS:
                raise ValidationError(
                    _("文件超过 %d 行,请拆分后分别申报。") % MAX_ROWS, code="too_many_rows"
                )
            yield number, cells
    finally:
        rows.close()


def upload_parse(file, *, employer_id: int, period) -> UploadResult:
    """Read an upload and match its rows to the unit's active enrolments; raise ValidationError
    only for a file that cannot be read at all."""
    raw = list(_read_rows(file))
    if not raw:
        raise ValidationError(_("文件中没有填写任何人员。"), code="empty")
    active = dict(active_enrolments(employer_id).values_list("pk", "person__document_index"))
    wanted_indexes = {}
    for number, cells in raw:
        document = cell_text(cells[1]).replace(" ", "").upper()
        if document and "*" not in document:
            wanted_indexes[number] = blind_index("document_number", document)
    by_index = {index: pk for pk, index in active.items()}
    result = UploadResult()
    seen: dict[int, int] = {}
    for number, cells in raw:
        key = cell_text(cells[4])
        index = wanted_indexes.get(number)
        enrolment_id = None
        if key:
            try:
                enrolment_id = int(key)
            except ValueError:
                enrolment_id = None
            if enrolment_id not in active:
                result.errors.append(
                    (number, _("人员编号“%s”不是本单位正常参保的职工。") % key[:20])
                )
                continue
            if index is not None and active[enrolment_id] != index:
                result.errors.append((number, _("证件号码与人员编号不是同一人,请核对。")))
                continue
        elif index is not None:
            enrolment_id = by_index.get(index)
            if enrolment_id is None:
                result.errors.append((number, _("本单位没有该证件号码的正常参保职工。")))
                continue
        else:
            result.errors.append((number, _("请填写人员编号或完整的证件号码。")))
            continue
        if enrolment_id in seen:
            result.errors.append(
                (number, _("与第 %d 行是同一人,每人只能申报一次。") % seen[enrolment_id])
            )
            continue
        seen[enrolment_id] = number
        try:
            wage = parse_amount(cells[3])
        except ValidationError as exc:
            result.errors.append((number, _("本年度月平均工资:%s") % exc.messages[0]))
            continue
        if in_bounds(period, wage):
            result.lines.append((number, enrolment_id, wage))
        else:
            result.out_of_bounds.append((number, enrolment_id, wage))
    return result
