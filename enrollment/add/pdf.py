"""《新增参保人员登记表》 as a PDF with Chinese text (reportlab).

The form is printed, signed and archived; its font and the escaping of every text that goes
into it come from portal.pdf (a name is printed as typed, never read as markup).

The full document number is printed: the form is the identity record the clerk compares with the
ID scan, and it is served to exactly the people who may open that scan (the unit's enrolment
agents and the region's clerks). Everywhere else the number is masked.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from enrollment.models import AddEmployeeFiling, InsuranceCode
from portal.pdf import cjk_font, in_form_language, lines_paragraph, text_paragraph

TITLE = "新增参保人员登记表"


def _date(value) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


@in_form_language
def registration_form_pdf(filing: AddEmployeeFiling) -> bytes:
    """Render the filing's 《新增参保人员登记表》 and return the PDF bytes."""
    font = cjk_font()
    enrolment = filing.enrolment
    person = enrolment.person
    employer = filing.employer
    title_style = ParagraphStyle(
        "title", fontName=font, fontSize=18, leading=24, alignment=TA_CENTER
    )
    cell = ParagraphStyle("cell", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    small = ParagraphStyle("small", fontName=font, fontSize=9, leading=12, wordWrap="CJK")

    def p(text) -> Paragraph:
        return text_paragraph(text, cell)

    submitted = (
        timezone.localtime(filing.submitted_at).strftime("%Y-%m-%d %H:%M")
        if filing.submitted_at
        else "—"
    )
    codes = [str(InsuranceCode(code).label) for code in enrolment.insurance_codes]
    flags = [str(AddEmployeeFiling.Flag(flag).label) for flag in filing.flags]
    rows = [
        [p("业务编号"), p(filing.reference), p("提交时间"), p(submitted)],
        [p("单位名称"), p(employer.name), p("统筹区"), p(employer.region.name)],
        [p("统一社会信用代码"), p(employer.uscc), p("单位社保编号"), p(employer.ss_number)],
        [p("姓名"), p(person.name), p("性别"), p(person.get_sex_display())],
        [
            p("证件类型"),
            p(person.get_document_type_display()),
            p("证件号码"),
            p(person.document_number),
        ],
        [p("出生日期"), p(_date(person.birth_date)), p("国籍"), p(person.nationality)],
        [
            p("户籍类型"),
            p(person.get_hukou_type_display()),
            p("用工形式"),
            p(enrolment.employment_form.name),
        ],
        [p("参保险种"), lines_paragraph(codes, cell), "", ""],
        [
            p("月缴费工资(元)"),
            p(f"{enrolment.contribution_base:,.2f}"),
            p("参保起始年月"),
            p(enrolment.start_month.strftime("%Y年%m月")),
        ],
        [
            p("用工日期"),
            p(_date(enrolment.employment_start)),
            p("联系电话"),
            p(person.masked_phone or "—"),
        ],
        [p("提示"), p("；".join(flags) if flags else "无"), "", ""],
        [p("经办人"), p(filing.submitted_by.name), p("单位(盖章)"), p("")],
        [p("社保经办机构审核意见"), p(""), "", ""],
    ]
    heights = [None] * (len(rows) - 2) + [18 * mm, 28 * mm]  # room to sign and to comment
    table = Table(rows, colWidths=[32 * mm, 58 * mm, 30 * mm, 50 * mm], rowHeights=heights)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f0f0f0")),
                ("BACKGROUND", (2, 0), (2, 6), colors.HexColor("#f0f0f0")),
                ("BACKGROUND", (2, 8), (2, 9), colors.HexColor("#f0f0f0")),
                ("BACKGROUND", (2, 11), (2, 11), colors.HexColor("#f0f0f0")),
                ("SPAN", (1, 7), (3, 7)),
                ("SPAN", (1, 10), (3, 10)),
                ("SPAN", (1, 12), (3, 12)),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=TITLE,
        subject=filing.reference,
        author=str(getattr(settings, "PORTAL_NAME", "")),
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    story = [
        text_paragraph(TITLE, title_style),
        Spacer(1, 6 * mm),
        table,
        Spacer(1, 4 * mm),
        text_paragraph(
            "说明：本表由单位社保网上服务大厅根据单位经办人网上提交的信息生成，"
            "打印后由单位盖章留存；审核结果以社保经办机构的审核为准。",
            small,
        ),
    ]
    document.build(story)
    return buffer.getvalue()
