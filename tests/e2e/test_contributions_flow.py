"""Contributions end to end in real Chromium (issue 7, "done when").

A contributions agent declares the year's bases (one above the upper bound first: the bounds
are shown and one click adjusts it), generates this month's bill, checks its totals, confirms
and pays it at the sandbox bank; time moves forward to the expected settlement date and the
bill is 已到账; the records page lists the month's records with totals; an XLSX export holds a
figure and a masked ID number; a person's 参保缴费证明 PDF carries a verification code that the
public check page (logged out) accepts, showing masked data only.

Hand-checked figures (rates of tests/contributions/factories.py: 养老 16 %/8 %, 医疗 9.8 %/2 %,
失业 0.5 %/0.5 %, 工伤 class 1 0.2 %/—; 四舍五入到分, half a cent rounds up):

  赵一鸣 9,000.00:   单位 1,440.00 + 882.00 + 45.00 + 18.00 = 2,385.00
                    个人   720.00 + 180.00 + 45.00         =   945.00
  钱二妹 35,811.00 (typed 50,000, adjusted to the upper bound):
                    单位 5,729.76 + 3,509.478→3,509.48 + 179.055→179.06 + 71.622→71.62 = 9,489.92
                    个人 2,864.88 + 716.22 + 179.055→179.06                              = 3,760.16
  孙三立 7,162.00 (the lower bound):
                    单位 1,145.92 + 701.876→701.88 + 35.81 + 14.324→14.32 = 1,897.93
                    个人   572.96 + 143.24 + 35.81                        =   752.01
  Bill: 单位 13,772.85, 个人 5,457.17, 合计 19,230.02.
  By type (单位 / 个人): 养老 8,315.68 / 4,157.84; 医疗 5,093.36 / 1,039.46;
  失业 259.87 / 259.87; 工伤 103.94 / 0.00.
"""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

import pytest
from captcha.models import CaptchaStore
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect
from pypdf import PdfReader

from contributions.models import (
    BaseDeclaration,
    BillStatus,
    ContributionAccount,
    ContributionBase,
    ContributionProof,
    MonthlyBill,
    Payment,
    PolicyPeriod,
    RegionContributionSettings,
    SandboxBankAccount,
)
from contributions.payments.services import payments_settle_due
from employers.models import Role
from portal.workdays import add_working_days
from tests.contributions.factories import make_period
from tests.e2e.conftest import DESKTOP
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.e2e

PASSWORD = "Test2026pass"  # tests.factories.create_agent's default
BALANCE = Decimal("100000.00")
SETTLEMENT_DAYS = 3

# name, typed wage, declared base
STAFF = [
    ("赵一鸣", "9000", Decimal("9000.00")),
    ("钱二妹", "50000", Decimal("35811.00")),
    ("孙三立", "7162.00", Decimal("7162.00")),
]
EMPLOYER_TOTAL, PERSONAL_TOTAL, TOTAL = "13772.85", "5457.17", "19230.02"


def shown(amount) -> str:
    """An amount as the pages show it: thousands separators, two decimals."""
    return f"{Decimal(amount):,.2f}"


BY_TYPE = {
    "pension": ("8315.68", "4157.84"),
    "medical": ("5093.36", "1039.46"),
    "unemployment": ("259.87", "259.87"),
    "work_injury": ("103.94", "0.00"),
}


def log_in(page, live_server, agent) -> None:
    """Log the agent in through /login/, answering the captcha from the database."""
    page.goto(live_server.url + "/login/")
    page.fill("#id_unit", agent.employer.ss_number)
    page.fill("#id_id_number", agent.id_number)
    page.fill("#id_password", PASSWORD)
    key = page.locator("input[name=captcha_0]").input_value()
    page.fill("input[name=captcha_1]", CaptchaStore.objects.get(hashkey=key).response.upper())
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(live_server.url + "/dashboard/")


def set_up_unit():
    """An active unit, its contributions agent (also 信息查询员), three active employees
    enrolled since 2024-01, this year's period 2026-07 → 2027-06 (7,162–35,811), declarations
    applied without review, and a sandbox bank account holding BALANCE."""
    employer = create_employer()
    agent = create_agent(employer, roles=[Role.CONTRIBUTIONS, Role.QUERIES], name="缴费经办人")
    ContributionAccount.objects.get_or_create(employer=employer)
    region = employer.region
    period = PolicyPeriod.objects.filter(region=region, starts_on="2026-07-01").first()
    period = period or make_period(region)
    RegionContributionSettings.objects.update_or_create(
        region=region,
        defaults={"declaration_requires_review": False, "collection_mode": "direct_debit"},
    )
    staff = [
        create_enrolment(employer, name=name, start_month=datetime.date(2024, 1, 1))
        for name, _typed, _base in STAFF
    ]
    SandboxBankAccount.objects.create(employer=employer, balance=BALANCE)
    return employer, agent, period, staff


def cell_text(value) -> str:
    """A workbook cell as the page shows it: numbers with two decimals."""
    if isinstance(value, int | float | Decimal):
        return f"{Decimal(str(value)):.2f}"
    return "" if value is None else str(value)


def test_declare_bill_pay_settle_query_export_and_prove(
    browser, live_server, transactional_db, settings, tmp_path
):
    settings.SANDBOX_BANK_SETTLEMENT_DAYS = SETTLEMENT_DAYS
    employer, agent, period, staff = set_up_unit()
    month = timezone.localdate().replace(day=1)
    month_text = f"{month:%Y-%m}"
    assert period.starts_on <= month <= period.ends_on

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    log_in(page, live_server, agent)

    # 1. 缴费基数申报: one wage above the upper bound is refused with the bounds shown.
    page.goto(live_server.url + "/contributions/declarations/")
    expect(page.locator("h1")).to_have_text("缴费基数申报")
    for enrolment, (_name, typed, _base) in zip(staff, STAFF, strict=True):
        page.fill(f"input[name=base_{enrolment.pk}]", typed)
    page.get_by_role("button", name="提交申报").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("1 人的金额不在 7162.00 元至 35811.00 元之间")
    high = staff[1]
    expect(page.locator(f"#id_base_{high.pk}_error")).to_contain_text(
        "缴费基数应在 7162.00 元至 35811.00 元之间"
    )
    expect(page.locator(f"input[name=base_{high.pk}]")).to_have_value("50000")
    assert not ContributionBase.objects.filter(period=period).exists()

    # One click sets it to the bound (marked, the typed wage kept), then it is submitted.
    summary.get_by_role("button", name="一键调整到上下限").click()
    expect(page.locator(f"[data-adjusted-row='{high.pk}']")).to_contain_text(
        "已按上下限调整(填写的工资 50000"
    )
    expect(page.locator(f"input[name=base_{high.pk}]")).to_have_value("35811.00")
    expect(page.locator(f"input[name=base_{staff[0].pk}]")).to_have_value("9000")
    page.get_by_role("button", name="提交申报").click()
    expect(page.locator("body")).to_contain_text("缴费基数申报已提交并生效")
    declaration = BaseDeclaration.objects.get(employer=employer)
    expect(page.locator("h1")).to_have_text(f"缴费基数申报 {declaration.reference}")
    assert declaration.applied_at is not None
    expect(page.locator("tbody tr.table-warning")).to_contain_text("已按上下限调整")
    declared = dict(
        ContributionBase.objects.filter(period=period).values_list("enrolment_id", "base")
    )
    assert declared == {e.pk: base for e, (_n, _t, base) in zip(staff, STAFF, strict=True)}

    # 2. 月度核定: generate this month's bill (the task runs eagerly once the request commits).
    page.goto(live_server.url + "/contributions/bills/")
    expect(page.locator("#id_month")).to_have_value(month_text)
    page.get_by_role("button", name="核定", exact=True).click()
    expect(page).to_have_url(re.compile(r"/contributions/bills/HD[0-9A-Z]+/$"))
    bill = MonthlyBill.objects.get(employer=employer, month=month)
    expect(page).to_have_url(f"{live_server.url}/contributions/bills/{bill.reference}/")
    expect(page.locator("body")).to_contain_text(
        f"{month_text} 核定结果:正常应缴,3 人,应缴合计 19,230.02 元,状态“已核定”。"
    )
    expect(page.locator("[data-bill-status]")).to_have_text("已核定")
    expect(page.locator("[data-bill-total]")).to_have_text(shown(TOTAL))
    for insurance_type, (employer_part, personal_part) in BY_TYPE.items():
        cells = page.locator(f"tr[data-type={insurance_type}] td")
        expect(cells).to_have_text(
            [
                "3",
                shown(employer_part),
                shown(personal_part),
                shown(Decimal(employer_part) + Decimal(personal_part)),
            ]
        )
    foot = page.locator("tfoot tr").first.locator("td")
    expect(foot).to_have_text(["", shown(EMPLOYER_TOTAL), shown(PERSONAL_TOTAL), shown(TOTAL)])
    assert (bill.person_count, bill.employer_total, bill.personal_total, bill.total) == (
        3,
        Decimal(EMPLOYER_TOTAL),
        Decimal(PERSONAL_TOTAL),
        Decimal(TOTAL),
    )

    # 3. Confirm and pay: the sandbox bank debits; the page says when the money arrives.
    page.get_by_role("button", name="确认核定单").click()
    expect(page.locator("[data-bill-status]")).to_have_text("已确认,待扣款")
    page.get_by_role("button", name="发起扣款").click()
    expect(page.locator("[data-bill-status]")).to_have_text("已扣款")
    payment = Payment.objects.get(bill=bill)
    expected_on = add_working_days(timezone.localdate(payment.debited_at), SETTLEMENT_DAYS)
    assert payment.expected_settle_on == expected_on
    expect(page.locator("body")).to_contain_text(f"款项预计 {expected_on:%Y-%m-%d} 到账")
    expect(page.locator("tr[data-payment-status=debited]")).to_contain_text(shown(TOTAL))
    assert SandboxBankAccount.objects.get(employer=employer).balance == BALANCE - Decimal(TOTAL)

    # 4. Time moves on: the day before, nothing settles; on the expected day the bank settles.
    assert payments_settle_due(today=expected_on - datetime.timedelta(days=1)) == 0
    assert payments_settle_due(today=expected_on) == 1
    page.reload()
    expect(page.locator("[data-bill-status]")).to_have_text("已到账")
    expect(page.locator("tr[data-payment-status=settled]")).to_contain_text(shown(TOTAL))
    bill.refresh_from_db()
    assert bill.status == BillStatus.SETTLED

    # 5. 缴费记录查询 for the month: 12 records (3 persons × 4 types), all 已到账, with totals.
    page.goto(live_server.url + "/contributions/records/")
    expect(page.locator("h1")).to_have_text("缴费记录查询")
    page.fill("#id_month_from", month_text)
    page.fill("#id_month_to", month_text)
    page.get_by_role("button", name="查询", exact=True).click()
    records = page.locator("tr[data-record]")
    expect(records).to_have_count(12)
    expect(records.locator(".badge", has_text="已到账")).to_have_count(12)
    expect(page.locator("[data-totals] tr[data-type=all] td")).to_have_text(
        ["12", shown(EMPLOYER_TOTAL), shown(PERSONAL_TOTAL), shown(TOTAL)]
    )
    expect(page.locator("[data-totals] tr[data-type=pension] td")).to_have_text(
        ["3", "8,315.68", "4,157.84", "12,473.52"]
    )
    # The ID numbers on the page are masked.
    person = high.person
    expect(page.locator("body")).to_contain_text(person.masked_document_number)
    expect(page.locator("body")).not_to_contain_text(person.document_number)

    # 6. Export the records shown as XLSX (streamed at once: few rows).
    page.get_by_role("link", name="导出", exact=True).click()
    expect(page.locator("h1")).to_have_text("数据导出")
    expect(page.locator("#id_month_from")).to_have_value(month_text)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="导出", exact=True).click()
    download = download_info.value
    assert download.suggested_filename.startswith("缴费记录-"), download.suggested_filename
    assert download.suggested_filename.endswith("-脱敏.xlsx"), download.suggested_filename
    path = tmp_path / "records.xlsx"
    download.save_as(path)
    workbook = load_workbook(path, read_only=True)
    sheet = workbook.active
    values = [[cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    header = values[0]
    rows = [dict(zip(header, row, strict=False)) for row in values[1:]]
    assert len(rows) == 12
    assert {row["状态"] for row in rows} == {"已到账"}
    pension = next(r for r in rows if r["姓名"] == "钱二妹" and r["险种"] == "养老保险")
    assert pension["费款所属期"] == month_text
    assert pension["证件号码"] == person.masked_document_number
    # Numbers in the workbook (Excel can sum them).
    assert tuple(float(pension[k]) for k in ("缴费基数", "单位缴费", "个人缴费")) == (
        35811.00,
        5729.76,
        2864.88,
    )
    assert pension["核定单号"] == bill.reference
    everything = "\n".join("\t".join(row) for row in values)
    assert all(e.person.document_number not in everything for e in staff)
    assert "*" in person.masked_document_number

    # 7. 打印证明: a person's proof for the month, as a PDF with its verification code.
    page.goto(live_server.url + "/contributions/proofs/new/")
    expect(page.locator("h1")).to_have_text("开具参保缴费证明")
    page.fill("#id_person_query", "钱二妹")
    page.fill("#id_month_from", month_text)
    page.fill("#id_month_to", month_text)
    page.get_by_role("button", name="开具证明").click()
    expect(page.locator("body")).to_contain_text("证明已开具,验证码")
    proof = ContributionProof.objects.get(employer=employer)
    assert proof.person_id == person.pk
    code_shown = "-".join(proof.code[i : i + 4] for i in range(0, len(proof.code), 4))
    expect(page.locator("dd code")).to_have_text(code_shown)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载PDF").click()
    pdf_path = tmp_path / "proof.pdf"
    download_info.value.save_as(pdf_path)
    data = pdf_path.read_bytes()
    assert data[:5] == b"%PDF-"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "参保缴费证明" in text
    match = re.search(r"验证码[::]\s*([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})", text)
    assert match, text
    code = match.group(1)
    assert code.replace("-", "") == proof.code
    assert person.document_number not in text
    context.close()

    # 8. The public check page, logged out: the code typed in lower case with spaces.
    public = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    check = public.new_page()
    check.goto(live_server.url + "/proof/")
    expect(check.locator("h1")).to_have_text("参保缴费证明核验")
    typed = " ".join(code.replace("-", "")[i : i + 4] for i in range(0, 16, 4)).lower()
    check.fill("#id_code", f" {typed} ")
    check.get_by_role("button", name="核验", exact=True).click()
    expect(check).to_have_url(f"{live_server.url}/proof/{proof.code}/")
    expect(check.locator(".alert-success")).to_contain_text("证明真实有效")
    expect(check.locator(".alert-success")).to_contain_text(code)
    content = check.locator("section[aria-labelledby=content-title]")
    expect(content).to_contain_text(employer.name)
    expect(content).to_contain_text(person.masked_document_number)
    expect(content).to_contain_text("已到账 1 个月")
    body = check.locator("body")
    expect(body).not_to_contain_text(person.document_number)
    expect(body).not_to_contain_text("钱二妹")
    public.close()
