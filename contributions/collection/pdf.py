"""缴费通知单 / 核定单 as a PDF with Chinese text (reportlab, the proofs' form styles).

The unit prints it to pay or to file: what the bill assessed per insurance type, the 应征凭证序号
under which the tax bureau claims it, and how to pay. It names no person: the per-person lines
stay on the bill page.

It is an official document like the proofs: Chinese whatever language the agent browses in
(``in_form_language``), closed by the issuing agency's name under its seal, and signed (PAdES)
with the agency's certificate through portal.pdf.official_pdf.
"""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from contributions.billing.selectors import TypeTotal
from contributions.models import CollectionMode, CollectionOrder, InsuranceType, MonthlyBill
from contributions.proofs.pdf import HEADER_BG, form_grid, form_styles
from portal.pdf import cjk_font, in_form_language, issuer_name, official_pdf, text_paragraph

TITLE = "社会保险费缴费通知单(核定单)"


def _money(value) -> str:
    return f"{value:,.2f}"


def _day(day: datetime.date) -> str:
    return _("%(year)04d年%(month)02d月%(day)02d日") % {
        "year": day.year,
        "month": day.month,
        "day": day.day,
    }


def how_to_pay_lines(*, mode: str, bill: MonthlyBill, order: CollectionOrder | None) -> list[str]:
    """The payment instructions printed on the notice (in Chinese, as bill_notice_pdf runs in the
    form language) and shown on the bill page (in the page's language)."""
    due = _day(bill.due_on)
    if mode != CollectionMode.TAX_BUREAU:
        return [
            _(
                "本统筹区由社会保险经办机构从单位缴费账户扣款。请在 %(due)s 前登录网上服务大厅,"
                "在“缴费确认”中确认核定单并发起扣款。"
            )
            % {"due": due}
        ]
    voucher = order.voucher_number if order and order.voucher_number else _("(推送税务部门后生成)")
    return [
        _("本统筹区社会保险费由税务部门征收,应征凭证序号:%(voucher)s。") % {"voucher": voucher},
        _("方式一:登录电子税务局,进入“社保费缴纳”,按应征凭证序号查询应缴费额后在线缴款。"),
        _(
            "方式二:已与税务部门、开户银行签订三方协议的,税务部门于缴费截止日 %(due)s "
            "从协议账户扣款,请在该日前存足资金。"
        )
        % {"due": due},
        _("缴款成功后可在电子税务局打印电子缴款凭证;本页面在收到税务部门的缴款结果后更新。"),
    ]


@in_form_language
def bill_notice_pdf(
    bill: MonthlyBill,
    *,
    mode: str,
    order: CollectionOrder | None,
    type_totals: list[TypeTotal],
    printed_at: datetime.datetime,
) -> bytes:
    """Render the bill's 缴费通知单 / 核定单, sealed and signed, and return the PDF bytes."""
    font = cjk_font()
    employer = bill.employer
    title_style, subtitle, body, cell, small = form_styles(font)

    def p(text, style=cell):
        return text_paragraph(str(text), style)

    status = bill.get_status_display()
    if order is not None and mode == CollectionMode.TAX_BUREAU:
        status = f"{status}(税务征收:{order.get_status_display()})"
    info = [
        [p("单位名称"), p(employer.name), p("统一社会信用代码"), p(employer.uscc)],
        [p("单位社保编号"), p(employer.ss_number or "—"), p("核定单号"), p(bill.reference)],
        [
            p("费款所属期"),
            p(f"{bill.month:%Y年%m月}"),
            p("类型"),
            p(bill.get_kind_display() + (f" #{bill.sequence}" if bill.sequence else "")),
        ],
        [
            p("应征凭证序号"),
            p(order.voucher_number if order and order.voucher_number else "—"),
            p("缴费截止日"),
            p(f"{bill.due_on:%Y年%m月%d日}"),
        ],
        [p("人数"), p(bill.person_count), p("状态"), p(status)],
    ]
    story = [
        text_paragraph(TITLE, title_style),
        text_paragraph(f"{bill.month:%Y年%m月} 费款所属期", subtitle),
        Spacer(1, 5 * mm),
        form_grid(
            info,
            [26 * mm, 56 * mm, 34 * mm, 54 * mm],
            extra=[
                ("BACKGROUND", (0, 0), (-1, 0), None),
                ("BACKGROUND", (0, 0), (0, -1), HEADER_BG),
                ("BACKGROUND", (2, 0), (2, -1), HEADER_BG),
            ],
        ),
        Spacer(1, 4 * mm),
    ]

    rows = [[p(text) for text in ("险种", "人数", "单位缴费(元)", "个人缴费(元)", "合计(元)")]]
    for row in type_totals:
        rows.append(
            [
                # The label again, in the form's language (the row's was made for the page).
                p(InsuranceType(row.insurance_type).label),
                p(row.persons),
                p(_money(row.employer)),
                p(_money(row.personal)),
                p(_money(row.total)),
            ]
        )
    rows.append(
        [
            p("合计"),
            p(""),
            p(_money(bill.employer_total)),
            p(_money(bill.personal_total)),
            p(_money(bill.total)),
        ]
    )
    story += [
        text_paragraph("一、核定结果", body),
        form_grid(rows, [46 * mm, 20 * mm, 35 * mm, 35 * mm, 34 * mm]),
        Spacer(1, 2 * mm),
        text_paragraph(f"应缴合计:人民币 {_money(bill.total)} 元", body),
        Spacer(1, 4 * mm),
        text_paragraph("二、缴费方式", body),
    ]
    story += [
        text_paragraph(line, small) for line in how_to_pay_lines(mode=mode, bill=bill, order=order)
    ]
    story += [
        Spacer(1, 4 * mm),
        text_paragraph(
            "说明:逾期未缴清的,依据《社会保险法》第八十六条自欠缴之日起按日加收万分之五的"
            "滞纳金。核定金额以社会保险经办机构核定为准。",
            small,
        ),
        text_paragraph(f"打印时间:{printed_at:%Y年%m月%d日 %H:%M}", small),
    ]

    region_code = employer.region.code
    return official_pdf(
        story,
        title=TITLE,
        footer_text=f"{TITLE} {bill.reference}",
        issuer=issuer_name(region_code),
        region_code=region_code,
        date_text=timezone.localtime(printed_at).strftime("打印日期:%Y年%m月%d日"),
        reason=TITLE,
    )
