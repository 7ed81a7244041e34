"""补缴申请 figures with hand-checked arithmetic, each refused input, and the bills it makes
living beside the engine's own."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from contributions.backpay.services import (
    AMOUNT_CHANGED,
    backpay_compute,
    backpay_submit,
)
from contributions.billing.engine import bill_generate
from contributions.models import (
    BackPayApplication,
    BillKind,
    BillLine,
    MonthlyBill,
    RegionContributionSettings,
)
from employers.models import Role
from enrollment.models import Enrolment
from tests.contributions.backpay.helpers import D, Unit, key, months_ago, pdf, this_month
from tests.contributions.bill_helpers import create_bill
from tests.contributions.factories import make_period
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

DEC_2025 = datetime.date(2025, 12, 1)
JAN_2026 = datetime.date(2026, 1, 1)
FILED = datetime.date(2026, 3, 17)


@pytest.fixture
def fixed():
    """A unit in a period 2025-07 – 2026-06 (lower bound 7162), an employee working since
    2025-12-01 but enrolled from 2026-02: 2025-12 and 2026-01 were missed."""
    employer = create_employer(name="补缴算术有限公司")
    agent = create_agent(employer=employer, roles=[Role.CONTRIBUTIONS])
    make_period(employer.region, datetime.date(2025, 7, 1), datetime.date(2026, 6, 30))
    enrolment = create_enrolment(employer, name="韩梅梅", start_month=datetime.date(2026, 2, 1))
    Enrolment.objects.filter(pk=enrolment.pk).update(employment_start=DEC_2025)
    enrolment.refresh_from_db()
    return agent, enrolment


def compute(agent, enrolment, months, today=FILED):
    return backpay_compute(
        agent=agent,
        document_number=enrolment.person.document_number,
        months=months,
        today=today,
    )


def test_amounts_and_late_fees_by_hand(fixed):
    agent, enrolment = fixed
    figures = compute(agent, enrolment, [(DEC_2025, D("10000")), (JAN_2026, D("7777.77"))])
    dec, jan = figures.months
    # 2025-12, base 10000.00 (rates 养老 16 %/8 %, 医疗 9.8 %/2 %, 失业 0.5 %/0.5 %, 工伤 class 1
    # 0.2 % × 1.00):
    #   养老 1600.00 + 800.00, 医疗 980.00 + 200.00, 失业 50.00 + 50.00, 工伤 20.00
    #   employer 1600 + 980 + 50 + 20 = 2650.00; personal 800 + 200 + 50 = 1050.00; 3700.00
    assert (dec.employer, dec.personal, dec.contribution) == (
        D("2650.00"),
        D("1050.00"),
        D("3700.00"),
    )
    # Due 2026-01-15 (due day 15 of the next month); filed 2026-03-17:
    #   16 days (01-16 … 01-31) + 28 (February) + 17 (03-01 … 03-17) = 61 days
    #   3700.00 × 0.0005 × 61 = 112.85
    assert dec.due_on == datetime.date(2026, 1, 15)
    assert (dec.late.days, dec.late.amount) == (61, D("112.85"))
    # 2026-01, base 7777.77, each amount rounded half up to the cent by the engine:
    #   养老 7777.77 × 0.16 = 1244.4432 → 1244.44;  × 0.08 = 622.2216 → 622.22
    #   医疗 × 0.098 = 762.22146 → 762.22;          × 0.02 = 155.5554 → 155.56
    #   失业 × 0.005 = 38.88885 → 38.89 (each side)
    #   工伤 × 0.002 = 15.55554 → 15.56
    #   employer 1244.44 + 762.22 + 38.89 + 15.56 = 2061.11
    #   personal 622.22 + 155.56 + 38.89 = 816.67;  contribution 2877.78
    assert jan.lines["pension"].employer_amount == D("1244.44")
    assert jan.lines["unemployment"].personal_amount == D("38.89")
    assert jan.lines["work_injury"].employer_amount == D("15.56")
    assert (jan.employer, jan.personal, jan.contribution) == (
        D("2061.11"),
        D("816.67"),
        D("2877.78"),
    )
    # Due 2026-02-15; 13 days (02-16 … 02-28) + 17 = 30 days:
    #   2877.78 × 0.0005 × 30 = 43.1667 → 43.17 (half up, once for the month)
    assert (jan.late.days, jan.late.amount) == (30, D("43.17"))
    # Totals: 3700.00 + 2877.78 = 6577.78; 112.85 + 43.17 = 156.02; 6733.80.
    assert figures.contribution_total == D("6577.78")
    assert figures.late_fee_total == D("156.02")
    assert figures.total == D("6733.80")


def test_filed_on_the_due_date_owes_no_late_fee(fixed):
    agent, enrolment = fixed
    figures = compute(agent, enrolment, [(DEC_2025, D("10000"))], today=datetime.date(2026, 1, 15))
    assert (figures.months[0].late.days, figures.late_fee_total) == (0, D("0.00"))
    # One day later: 3700.00 × 0.0005 × 1 = 1.85.
    figures = compute(agent, enrolment, [(DEC_2025, D("10000"))], today=datetime.date(2026, 1, 16))
    assert figures.late_fee_total == D("1.85")


def test_the_region_due_day_moves_the_late_fee(fixed):
    agent, enrolment = fixed
    RegionContributionSettings.objects.create(region=agent.employer.region, payment_due_day=25)
    figures = compute(agent, enrolment, [(DEC_2025, D("10000"))])
    # Due 2026-01-25: 6 + 28 + 17 = 51 days; 3700.00 × 0.0005 × 51 = 94.35.
    assert figures.months[0].due_on == datetime.date(2026, 1, 25)
    assert figures.late_fee_total == D("94.35")


def refusal(call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    errors = caught.value.error_dict
    return {
        field: [(e.code, (e.params or {}).get("month"), e.messages[0]) for e in items]
        for field, items in errors.items()
    }


def test_base_outside_the_month_bounds_is_refused_naming_them(fixed):
    agent, enrolment = fixed
    errors = refusal(lambda: compute(agent, enrolment, [(DEC_2025, D("5000"))]))
    [(code, month, message)] = errors["months"]
    assert (code, month) == ("base", "2025-12")
    assert "7162.00 元至 35811.00 元" in message


def test_month_without_a_published_policy_is_refused(fixed):
    agent, enrolment = fixed
    Enrolment.objects.filter(pk=enrolment.pk).update(employment_start=datetime.date(2025, 5, 1))
    errors = refusal(lambda: compute(agent, enrolment, [(datetime.date(2025, 6, 1), D("9000"))]))
    [(code, month, message)] = errors["months"]
    assert (code, month) == ("base", "2025-06")
    assert "没有适用于 2025-06-01 的缴费政策" in message


def test_months_outside_the_window_the_current_month_and_duplicates_are_refused(fixed):
    agent, enrolment = fixed
    RegionContributionSettings.objects.create(region=agent.employer.region, backpay_window_months=3)
    # Filed 2026-03: a window of 3 months reaches back to 2025-12; 2025-11 is outside.
    months = [
        (datetime.date(2025, 11, 1), D("9000")),
        (datetime.date(2026, 3, 1), D("9000")),
        (JAN_2026, D("9000")),
        (JAN_2026, D("9000")),
    ]
    errors = refusal(lambda: compute(agent, enrolment, months))
    codes = {(code, month) for code, month, _message in errors["months"]}
    assert codes == {
        ("outside_window", "2025-11"),
        ("not_past", "2026-03"),
        ("duplicate", "2026-01"),
    }
    assert any("最早 2025-12" in message for *_rest, message in errors["months"])


def test_default_window_is_36_months(fixed):
    agent, enrolment = fixed
    errors = refusal(lambda: compute(agent, enrolment, [(datetime.date(2023, 2, 1), D("9000"))]))
    assert errors["months"][0][0] == "outside_window"
    assert "36 个月,最早 2023-03" in errors["months"][0][2]


def test_months_inside_the_enrolment_or_before_employment_are_refused(fixed):
    agent, enrolment = fixed
    months = [(datetime.date(2025, 11, 1), D("9000")), (datetime.date(2026, 2, 1), D("9000"))]
    errors = refusal(lambda: compute(agent, enrolment, months))
    assert {(code, month) for code, month, _m in errors["months"]} == {
        ("before_employment", "2025-11"),
        ("in_enrolment", "2026-02"),
    }


def test_unknown_person_and_no_months_are_refused(fixed):
    agent, enrolment = fixed
    errors = refusal(
        lambda: backpay_compute(
            agent=agent, document_number="110105199001011234", months=[(DEC_2025, D("9000"))]
        )
    )
    assert errors["document_number"][0][0] == "unknown_person"
    errors = refusal(lambda: compute(agent, enrolment, []))
    assert "请至少填写一个补缴月份" in errors["months"][0][2]


def test_another_units_employee_is_unknown_here(fixed):
    agent, enrolment = fixed
    other = create_agent(employer=create_employer(name="别的单位"), roles=[Role.CONTRIBUTIONS])
    errors = refusal(lambda: compute(other, enrolment, [(DEC_2025, D("9000"))]))
    assert errors["document_number"][0][0] == "unknown_person"


def test_months_already_billed_or_paid_elsewhere_are_refused(fixed):
    agent, enrolment = fixed
    create_bill(agent.employer, DEC_2025, [enrolment])
    elsewhere = create_employer(name="另一家单位")
    other = create_enrolment(
        elsewhere, name="韩梅梅", start_month=JAN_2026, status=Enrolment.Status.TERMINATED
    )
    Enrolment.objects.filter(pk=other.pk).update(
        person=enrolment.person, last_contribution_month=JAN_2026
    )
    other.refresh_from_db()
    create_bill(elsewhere, JAN_2026, [other])
    months = [(DEC_2025, D("9000")), (JAN_2026, D("9000"))]
    errors = refusal(lambda: compute(agent, enrolment, months))
    assert {(code, month) for code, month, _m in errors["months"]} == {
        ("already_billed", "2025-12"),
        ("insured_elsewhere", "2026-01"),
    }


# Filing ---------------------------------------------------------------------------------------


@pytest.fixture
def unit():
    return Unit()


def submit(unit, enrolment, months, **extra):
    figures = backpay_compute(
        agent=unit.agent, document_number=enrolment.person.document_number, months=months
    )
    kwargs = {
        "agent": unit.agent,
        "idempotency_key": key(),
        "document_number": enrolment.person.document_number,
        "months": months,
        "reason": "入职后未及时办理参保登记",
        "shown_total": figures.total,
        "evidence": pdf(),
    }
    kwargs.update(extra)
    return backpay_submit(**kwargs), figures


def test_submit_keeps_the_figures_shown_and_the_proof(unit):
    lei = unit.late_joiner()
    months = [(months_ago(5), D("9000")), (months_ago(4), D("9500"))]
    application, figures = submit(unit, lei, months)
    assert application.review_state in ("submitted", "pending")
    assert application.total == figures.total
    assert application.late_fee_total == figures.late_fee_total
    rows = list(application.months.order_by("month"))
    assert [(row.month, row.base) for row in rows] == [(m, b) for m, b in months]
    assert rows[0].late_fee == figures.months[0].late.amount
    assert application.attachments.get().original_name == "劳动合同.pdf"
    # The same key returns the same application.
    again = backpay_submit(
        agent=unit.agent,
        idempotency_key=application.idempotency_key,
        document_number=lei.person.document_number,
        months=months,
        reason="x",
        shown_total=None,
        evidence=None,
    )
    assert again.pk == application.pk and BackPayApplication.objects.count() == 1


def test_submit_refuses_a_missing_proof_a_changed_total_and_a_month_applied_for(unit):
    lei = unit.late_joiner()
    months = [(months_ago(5), D("9000"))]
    errors = refusal(lambda: submit(unit, lei, months, evidence=None))
    assert "请上传该职工在补缴月份的劳动合同或工资发放记录" in errors["evidence"][0][2]
    with pytest.raises(ValidationError) as caught:
        submit(unit, lei, months, shown_total=D("1.00"))
    assert caught.value.code == AMOUNT_CHANGED
    application, _figures = submit(unit, lei, months)
    errors = refusal(lambda: submit(unit, lei, months))
    [(code, month, message)] = errors["months"]
    assert code == "already_applied" and application.reference in message


def test_submit_refuses_a_bad_file(unit):
    from tests.enrollment.add_helpers import upload

    lei = unit.late_joiner()
    fake = upload("合同.pdf", b"not really a pdf", "application/pdf")
    errors = refusal(lambda: submit(unit, lei, [(months_ago(5), D("9000"))], evidence=fake))
    assert errors["evidence"]


# The bills ------------------------------------------------------------------------------------


def test_backpay_bills_survive_the_engine_regenerating_their_month(unit):
    from contributions.backpay.services import backpay_bill

    lei = unit.late_joiner()
    colleague = create_enrolment(unit.employer, name="同事", start_month=months_ago(12))
    month = months_ago(4)
    application, figures = submit(unit, lei, [(month, D("9000"))])
    [bill] = backpay_bill(application)
    assert bill.kind == BillKind.BACKPAY and bill.sequence == 1
    assert bill.late_fee == figures.late_fee_total
    assert bill.total == figures.total
    assert bill.employer_total + bill.personal_total == figures.contribution_total
    regular = bill_generate(employer=unit.employer, month=month)
    assert regular.kind == BillKind.REGULAR
    assert set(BillLine.objects.filter(bill=regular).values_list("enrolment_id", flat=True)) == {
        colleague.pk
    }
    # Again after the regular bill is confirmed: no supplement takes back the 补缴 lines.
    MonthlyBill.objects.filter(pk=regular.pk).update(status="confirmed")
    assert bill_generate(employer=unit.employer, month=month).pk == regular.pk
    bill.refresh_from_db()
    assert bill.total == figures.total
    assert MonthlyBill.objects.filter(employer=unit.employer, month=month).count() == 2
    assert this_month() > month
