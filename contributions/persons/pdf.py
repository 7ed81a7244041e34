"""个人权益记录 as a PDF with Chinese text (reportlab, through portal.pdf).

Printed for the person by the unit: the full name, the document number masked (first 6 and last
4 characters) as on a proof (contributions.proofs.pdf explains why), and only what happened in
this unit. Like a proof it ends with the agency's name under its seal and is signed
(portal.pdf.official_pdf).
"""

from __future__ import annotations

import datetime

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table, TableStyle

from contributions.persons.selectors import PAID, UNPAID_STATE, PersonRights
from contributions.proofs.pdf import HEADER_BG, form_grid, form_styles
from portal.pdf import cjk_font, issuer_name, official_pdf, text_paragraph

TITLE = "个人权益记录"
PAID_TEXT = colors.HexColor("#166534")
UNPAID_TEXT = colors.HexColor("#9a3412")
CONTENT_WIDTH = 170 * mm


def _month(value: datetime.date | None) -> str:
    return f"{value:%Y-%m}" if value else "—"


def person_rights_pdf(
    rights: PersonRights, *, employer, printed_at: datetime.datetime, region_code: str = ""
) -> bytes:
    """Render the person's 个人权益记录 with ``employer``, sealed and signed (PDF bytes)."""
    font = cjk_font()
    person = rights.person
    printed = printed_at.strftime("%Y年%m月%d日 %H:%M")
    title_style, subtitle, body, cell, small = form_styles(font)

    def p(text, style=cell):
        return text_paragraph(str(text), style)

    story = [
        text_paragraph(TITLE, title_style),
        text_paragraph("(本单位参保缴费情况)", subtitle),
        Spacer(1, 5 * mm),
    ]

    info = [
        [p("单位名称"), p(employer.name), p("单位社保编号"), p(employer.ss_number)],
        [
            p("姓名"),
            p(person.name),
            p("证件号码"),
            p(f"{person.get_document_type_display()} {person.masked_document_number}"),
        ],
        [p("性别"), p(person.get_sex_display()), p("出生年月"), p(f"{person.birth_date:%Y-%m}")],
        [p("户籍类型"), p(person.get_hukou_type_display()), p("打印时间"), p(printed)],
    ]
    # The ID column is wide enough for "居民身份证" and 18 characters on one line in any CJK font.
    info_table = Table(info, colWidths=[22 * mm, 52 * mm, 22 * mm, 74 * mm])
    info_table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (0, -1), HEADER_BG),
                ("BACKGROUND", (2, 0), (2, -1), HEADER_BG),
            ]
        )
    )
    story += [info_table, Spacer(1, 4 * mm)]

    rows = [[p(text) for text in ("参保起始年月", "截止年月", "参保状态", "用工形式", "参保险种")]]
    for row in rights.enrolments:
        enrolment = row.enrolment
        rows.append(
            [
                p(_month(enrolment.start_month)),
                p(_month(row.end_month) if row.end_month else "至今"),
                p(enrolment.get_status_display()),
                p(enrolment.employment_form.name),
                p("、".join(row.insurance_labels)),
            ]
        )
    story += [
        text_paragraph("一、参保登记", body),
        form_grid(rows, [26 * mm, 22 * mm, 20 * mm, 30 * mm, 72 * mm]),
        Spacer(1, 4 * mm),
    ]

    rows = [[p(text) for text in ("险种", "缴费月数(已到账)", "首次缴费年月", "最近缴费年月")]]
    for item in rights.summary:
        rows.append([p(item.label), p(item.months), p(_month(item.first)), p(_month(item.last))])
    if not rights.summary:
        rows.append([p("暂无缴费记录"), "", "", ""])
    story += [
        text_paragraph("二、缴费月数", body),
        form_grid(rows, [62 * mm, 36 * mm, 36 * mm, 36 * mm]),
        Spacer(1, 4 * mm),
    ]

    labels = [label for _kind, label in rights.types]
    rows = [[p("费款所属期")] + [p(label) for label in labels]]
    colours = []
    for index, month in enumerate(rights.months, start=1):
        rows.append([p(_month(month.month))] + [p(c.text or "—") for c in month.cells])
        for column, month_cell in enumerate(month.cells, start=1):
            if month_cell.state == PAID:
                colours.append(("TEXTCOLOR", (column, index), (column, index), PAID_TEXT))
            elif month_cell.state == UNPAID_STATE:
                colours.append(("TEXTCOLOR", (column, index), (column, index), UNPAID_TEXT))
    width = (CONTENT_WIDTH - 26 * mm) / max(len(labels), 1)
    story += [
        text_paragraph(f"三、{rights.year}年逐月缴费情况", body),
        form_grid(rows, [26 * mm] + [width] * len(labels)),
        Spacer(1, 4 * mm),
        text_paragraph(
            "说明:本记录仅列示在本单位的参保缴费情况,不含在其他单位的记录。“已缴费”表示该月"
            "缴费已到账;“未缴费/未到账”表示在参保期间该月没有已到账的缴费记录(含尚未缴费、"
            "扣款后尚未到账等情形);“未参保”表示该月未在本单位参加该险种。",
            small,
        ),
    ]

    return official_pdf(
        story,
        title=TITLE,
        footer_text=f"{TITLE} {employer.name}",
        issuer=issuer_name(region_code),
        region_code=region_code,
        date_text=printed_at.strftime("打印日期:%Y年%m月%d日"),
        reason=TITLE,
    )
