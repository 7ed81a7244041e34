"""Monthly bills (月度核定): figures checked by hand, who is billed, idempotency, 补缴/退费."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contributions.billing.engine import bill_generate, bill_generate_outcome
from contributions.billing.runs import bills_recompute_period
from contributions.common import add_months, month_start
from contributions.models import (
    BillKind,
    BillLine,
    BillStatus,
    ContributionAccount,
    ContributionBase,
    MonthlyBill,
    RegionContributionSettings,
    RoundingRule,
)
from contributions.policy.services import policy_period_save
from enrollment.models import Enrolment
from portal.models import AuditEvent, InboxMessage
from tests.contributions.bill_helpers import create_unit_with_staff
from tests.contributions.factories import standard_rates
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_employer

pytestmark = pytest.mark.django_db

AUG = datetime.date(2026, 8, 1)
SEP = datetime.date(2026, 9, 1)
D = Decimal


def lines_of(bill):
    return {
        (line.enrolment_id, line.insurance_type): (
            line.base,
            line.employer_rate,
            line.personal_rate,
            line.employer_amount,
            line.personal_amount,
        )
        for line in BillLine.objects.filter(bill=bill)
    }


def set_base(enrolment, period, base):
    ContributionBase.objects.update_or_create(
        enrolment=enrolment, period=period, defaults={"base": D(base)}
    )


def change_bounds(period, lower, upper=None):
    return policy_period_save(
        region=period.region,
        starts_on=period.starts_on,
        ends_on=period.ends_on,
        base_lower=D(lower),
        base_upper=D(upper or period.base_upper),
        is_published=True,
        note=period.note,
        rates=standard_rates(),
    )


# --- figures -----------------------------------------------------------------------------------


def test_base_8000_with_the_standard_rates():
    employer, _agent, period, (enrolment,) = create_unit_with_staff(1)
    bill = bill_generate(employer=employer, month=AUG)
    assert bill.kind == BillKind.REGULAR and bill.sequence == 0
    assert bill.status == BillStatus.ASSESSED
    assert bill.period == period
    assert (bill.base_lower, bill.base_upper) == (D("7162.00"), D("35811.00"))
    assert lines_of(bill) == {
        (enrolment.pk, "pension"): (D("8000"), D("0.16"), D("0.08"), D("1280.00"), D("640.00")),
        (enrolment.pk, "medical"): (D("8000"), D("0.098"), D("0.02"), D("784.00"), D("160.00")),
        (enrolment.pk, "unemployment"): (
            D("8000"),
            D("0.005"),
            D("0.005"),
            D("40.00"),
            D("40.00"),
        ),
        # 工伤 class 1: 0.2 % × float 1.00
        (enrolment.pk, "work_injury"): (D("8000"), D("0.002"), D("0"), D("16.00"), D("0.00")),
    }
    assert (bill.person_count, bill.employer_total, bill.personal_total, bill.total) == (
        1,
        D("2120.00"),
        D("840.00"),
        D("2960.00"),
    )
    # Default due day: the 15th of the next month.
    assert bill.due_on == datetime.date(2026, 9, 15)
    line = BillLine.objects.filter(bill=bill).first()
    assert (line.employer_id, line.month, line.person_id) == (employer.pk, AUG, enrolment.person_id)


@pytest.mark.parametrize(
    ("declared", "applied"),
    [
        ("5000.00", "7162.00"),  # below the lower bound: billed at the lower bound
        ("7162.00", "7162.00"),  # exactly at the lower bound
        ("35811.00", "35811.00"),  # exactly at the upper bound
        ("40000.00", "35811.00"),  # above the upper bound: billed at the upper bound
    ],
)
def test_base_is_brought_within_the_bounds(declared, applied):
    employer, _agent, period, (enrolment,) = create_unit_with_staff(1, base=declared)
    bill = bill_generate(employer=employer, month=AUG)
    assert {line.base for line in BillLine.objects.filter(bill=bill)} == {D(applied)}


def test_amounts_at_each_bound_by_hand():
    employer, _agent, period, (low, high) = create_unit_with_staff(2)
    set_base(low, period, "5000.00")
    set_base(high, period, "40000.00")
    figures = lines_of(bill_generate(employer=employer, month=AUG))
    # 7162 × 0.16 = 1145.92, × 0.08 = 572.96; × 0.098 = 701.876 → 701.88; × 0.02 = 143.24;
    # × 0.005 = 35.81; × 0.002 = 14.324 → 14.32
    assert [figures[(low.pk, kind)][3:] for kind in ("pension", "medical", "unemployment")] == [
        (D("1145.92"), D("572.96")),
        (D("701.88"), D("143.24")),
        (D("35.81"), D("35.81")),
    ]
    assert figures[(low.pk, "work_injury")][3] == D("14.32")
    # 35811 × 0.005 = 179.055 exactly: half a cent, rounded up to 179.06 (四舍五入到分)
    assert figures[(high.pk, "unemployment")][3:] == (D("179.06"), D("179.06"))
    # 35811 × 0.098 = 3509.478 → 3509.48; × 0.16 = 5729.76; × 0.002 = 71.622 → 71.62
    assert figures[(high.pk, "medical")][3:] == (D("3509.48"), D("716.22"))
    assert figures[(high.pk, "pension")][3:] == (D("5729.76"), D("2864.88"))
    assert figures[(high.pk, "work_injury")][3] == D("71.62")
    bill = MonthlyBill.objects.get(employer=employer, month=AUG)
    assert bill.employer_total == D("1897.93") + D("9489.92")
    assert bill.personal_total == D("752.01") + D("3760.16")


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [
        ((), D("35.82")),  # 7163 × 0.005 = 35.815: 四舍五入到分 → 35.82
        ([("unemployment", "employer", "cent_up_to_jiao")], D("35.90")),  # 见分进角
        ([("unemployment", "employer", "truncate_cent")], D("35.81")),  # 截尾到分
    ],
)
def test_rounding_at_the_half_cent_follows_the_region_rule(rounding, expected):
    employer, _agent, period, (enrolment,) = create_unit_with_staff(1, base="7163.00")
    for insurance_type, side, method in rounding:
        RoundingRule.objects.create(
            region=employer.region, insurance_type=insurance_type, side=side, method=method
        )
    figures = lines_of(bill_generate(employer=employer, month=AUG))
    assert figures[(enrolment.pk, "unemployment")][3] == expected
    # The personal side has no rule set: 四舍五入到分.
    assert figures[(enrolment.pk, "unemployment")][4] == D("35.82")


@pytest.mark.parametrize(
    ("risk_class", "work_injury_float", "rate", "amount"),
    [
        (3, "1.20", "0.0084", "67.20"),  # 0.7 % × 1.20 = 0.84 %; 8000 × 0.0084 = 67.20
        (8, "0.50", "0.0095", "76.00"),  # 1.9 % × 0.50 = 0.95 %
        (2, "1.15", "0.0046", "36.80"),  # 0.4 % × 1.15 = 0.46 %; 8000 × 0.0046 = 36.80
    ],
)
def test_work_injury_rate_is_class_rate_times_float(risk_class, work_injury_float, rate, amount):
    employer, _agent, _period, (enrolment,) = create_unit_with_staff(1)
    ContributionAccount.objects.filter(employer=employer).update(
        risk_class=risk_class, work_injury_float=D(work_injury_float)
    )
    figures = lines_of(bill_generate(employer=employer, month=AUG))
    assert figures[(enrolment.pk, "work_injury")] == (
        D("8000"),
        D(rate),
        D("0"),
        D(amount),
        D("0.00"),
    )


def test_without_account_work_injury_is_class_1_at_float_1():
    employer, _agent, _period, (enrolment,) = create_unit_with_staff(1)
    ContributionAccount.objects.filter(employer=employer).delete()
    figures = lines_of(bill_generate(employer=employer, month=AUG))
    assert figures[(enrolment.pk, "work_injury")][1:4] == (D("0.002"), D("0"), D("16.00"))


def test_declared_base_is_used_and_filing_base_when_none_declared():
    employer, _agent, period, (declared, undeclared) = create_unit_with_staff(2)
    set_base(declared, period, "10000.00")
    ContributionBase.objects.filter(enrolment=undeclared).delete()
    Enrolment.objects.filter(pk=undeclared.pk).update(contribution_base=D("9000.00"))
    figures = lines_of(bill_generate(employer=employer, month=AUG))
    assert figures[(declared.pk, "pension")][0] == D("10000.00")
    assert figures[(undeclared.pk, "pension")][:4] == (
        D("9000.00"),
        D("0.16"),
        D("0.08"),
        D("1440.00"),
    )


def test_insurance_codes_decide_the_lines():
    employer, _agent, period, _staff = create_unit_with_staff(0)
    only_injury = create_enrolment(employer, insurance_codes=["410"])
    with_maternity = create_enrolment(employer, insurance_codes=["310", "510"])
    bill = bill_generate(employer=employer, month=AUG)
    assert sorted(lines_of(bill)) == [
        (only_injury.pk, "work_injury"),
        (with_maternity.pk, "medical"),  # 生育 is collected with medical: one line
    ]


# --- who is billed ------------------------------------------------------------------------------


def test_joiner_after_the_cutoff_day_is_billed_from_the_next_month():
    employer, _agent, period, _staff = create_unit_with_staff(0)
    RegionContributionSettings.objects.update_or_create(
        region=employer.region, defaults={"joiner_cutoff_day": 15}
    )
    late = create_enrolment(employer, start_month=AUG)
    on_cutoff = create_enrolment(employer, start_month=AUG)
    Enrolment.objects.filter(pk=late.pk).update(employment_start=datetime.date(2026, 8, 20))
    Enrolment.objects.filter(pk=on_cutoff.pk).update(employment_start=datetime.date(2026, 8, 15))
    august = bill_generate(employer=employer, month=AUG)
    assert {key[0] for key in lines_of(august)} == {on_cutoff.pk}
    september = bill_generate(employer=employer, month=SEP)
    assert {key[0] for key in lines_of(september)} == {on_cutoff.pk, late.pk}


def test_without_cutoff_a_joiner_is_billed_for_the_whole_start_month():
    employer, _agent, period, _staff = create_unit_with_staff(0)
    late = create_enrolment(employer, start_month=AUG)
    Enrolment.objects.filter(pk=late.pk).update(employment_start=datetime.date(2026, 8, 28))
    bill = bill_generate(employer=employer, month=AUG)
    assert {key[0] for key in lines_of(bill)} == {late.pk}


def test_leaver_is_billed_through_the_last_contribution_month():
    employer, _agent, period, (stays, leaving, left) = create_unit_with_staff(3)
    Enrolment.objects.filter(pk=leaving.pk).update(last_contribution_month=AUG)  # 减员 pending
    Enrolment.objects.filter(pk=left.pk).update(
        status=Enrolment.Status.TERMINATED, last_contribution_month=AUG
    )
    assert {key[0] for key in lines_of(bill_generate(employer=employer, month=AUG))} == {
        stays.pk,
        leaving.pk,
        left.pk,
    }
    assert {key[0] for key in lines_of(bill_generate(employer=employer, month=SEP))} == {stays.pk}


def test_not_billed_pending_cancelled_suspended_later_start_or_other_unit():
    employer, _agent, period, (billed,) = create_unit_with_staff(1)
    create_enrolment(employer, status=Enrolment.Status.PENDING)
    create_enrolment(employer, status=Enrolment.Status.CANCELLED)
    create_enrolment(employer, status=Enrolment.Status.SUSPENDED)  # no last month: not billed
    create_enrolment(employer, start_month=SEP)
    other = create_employer()
    other.region = employer.region
    other.save(update_fields=["region"])
    create_enrolment(other)
    bill = bill_generate(employer=employer, month=AUG)
    assert {key[0] for key in lines_of(bill)} == {billed.pk}
    assert bill.person_count == 1


# --- refusals -----------------------------------------------------------------------------------


def test_future_month_is_refused_and_nothing_is_written():
    employer, _agent, period, _staff = create_unit_with_staff(1)
    future = add_months(month_start(timezone.localdate()), 1)
    with pytest.raises(ValidationError) as error:
        bill_generate(employer=employer, month=future)
    assert error.value.messages == ["不能核定未来月份的费款"]
    assert not MonthlyBill.objects.exists()
    assert not AuditEvent.objects.filter(action="bill.generated").exists()


def test_month_without_policy_gives_the_policy_message():
    employer, _agent, period, _staff = create_unit_with_staff(1)
    with pytest.raises(ValidationError) as error:
        bill_generate(employer=employer, month=datetime.date(2026, 6, 1))
    assert "没有适用于 2026-06-01 的缴费政策" in error.value.messages[0]
    assert not MonthlyBill.objects.exists()


def test_month_with_nobody_billed_is_refused():
    employer, _agent, period, _staff = create_unit_with_staff(0)
    with pytest.raises(ValidationError) as error:
        bill_generate(employer=employer, month=AUG)
    assert error.value.messages == ["2026-08 没有应缴费的参保人员,未生成核定单"]
    assert not MonthlyBill.objects.exists()


# --- idempotency and recomputation --------------------------------------------------------------


def test_regenerating_unchanged_month_writes_nothing():
    employer, _agent, period, staff = create_unit_with_staff(3)
    first = bill_generate(employer=employer, month=AUG)
    line_ids = sorted(BillLine.objects.values_list("pk", flat=True))
    audits = AuditEvent.objects.filter(action="bill.generated").count()
    with CaptureQueriesContext(connection) as captured:
        again = bill_generate_outcome(employer=employer, month=AUG)
    assert again.outcome == "unchanged"
    assert again.bill.pk == first.pk and again.bill.reference == first.reference
    assert sorted(BillLine.objects.values_list("pk", flat=True)) == line_ids
    assert MonthlyBill.objects.count() == 1
    assert AuditEvent.objects.filter(action="bill.generated").count() == audits == 1
    writes = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []


def test_assessed_bill_is_recomputed_in_place_when_data_changes():
    employer, _agent, period, (first, second) = create_unit_with_staff(2)
    bill = bill_generate(employer=employer, month=AUG)
    untouched = set(BillLine.objects.filter(enrolment=second).values_list("pk", flat=True))
    set_base(first, period, "10000.00")
    result = bill_generate_outcome(employer=employer, month=AUG)
    assert result.outcome == "replaced"
    # Only the changed person's lines are rewritten.
    assert set(BillLine.objects.filter(enrolment=second).values_list("pk", flat=True)) == untouched
    assert (result.bill.pk, result.bill.reference) == (bill.pk, bill.reference)
    bill.refresh_from_db()
    # 8000 → 10000: employer 2120 → 2650, personal 840 → 1050
    assert bill.employer_total == D("2120.00") + D("2650.00")
    assert bill.personal_total == D("840.00") + D("1050.00")
    assert BillLine.objects.filter(bill=bill).count() == 8
    assert MonthlyBill.objects.count() == 1


def test_confirmed_bill_is_not_touched_and_a_change_gives_a_supplement():
    employer, _agent, period, (first, second) = create_unit_with_staff(2)
    bill = bill_generate(employer=employer, month=AUG)
    MonthlyBill.objects.filter(pk=bill.pk).update(status=BillStatus.CONFIRMED)
    before = lines_of(bill)
    assert bill_generate_outcome(employer=employer, month=AUG).outcome == "unchanged"
    set_base(first, period, "9000.00")
    supplement = bill_generate(employer=employer, month=AUG)
    assert (supplement.kind, supplement.sequence) == (BillKind.SUPPLEMENT, 1)
    assert supplement.reference != bill.reference
    assert lines_of(bill) == before
    # +1000 base: 160/80, 98/20, 5/5, 2/0
    assert lines_of(supplement) == {
        (first.pk, "pension"): (D("1000"), D("0.16"), D("0.08"), D("160.00"), D("80.00")),
        (first.pk, "medical"): (D("1000"), D("0.098"), D("0.02"), D("98.00"), D("20.00")),
        (first.pk, "unemployment"): (D("1000"), D("0.005"), D("0.005"), D("5.00"), D("5.00")),
        (first.pk, "work_injury"): (D("1000"), D("0.002"), D("0"), D("2.00"), D("0.00")),
    }
    assert (supplement.person_count, supplement.total) == (1, D("370.00"))
    # Still assessed: regenerating it again is idempotent; a further change updates it in place.
    assert bill_generate_outcome(employer=employer, month=AUG).outcome == "unchanged"
    set_base(first, period, "8000.00")
    result = bill_generate_outcome(employer=employer, month=AUG)
    assert result.outcome == "withdrawn"
    assert list(MonthlyBill.objects.values_list("pk", flat=True)) == [bill.pk]


def test_bounds_raised_after_confirmation_bill_supplement_with_exact_difference(
    django_capture_on_commit_callbacks,
):
    employer, _agent, period, (at_8000, at_9000) = create_unit_with_staff(2)
    set_base(at_9000, period, "9000.00")
    bill = bill_generate(employer=employer, month=AUG)
    MonthlyBill.objects.filter(pk=bill.pk).update(status=BillStatus.SETTLED)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        change_bounds(period, "8500.00")
    assert len(callbacks) == 1  # the recomputation task, run eagerly
    supplement = MonthlyBill.objects.get(employer=employer, month=AUG, kind=BillKind.SUPPLEMENT)
    assert (supplement.sequence, supplement.status) == (1, BillStatus.ASSESSED)
    assert (supplement.base_lower, supplement.base_upper) == (D("8500.00"), D("35811.00"))
    # Only the person under the new lower bound: 8000 → 8500, +500:
    # 80.00/40.00, 49.00/10.00, 2.50/2.50, 1.00/0
    assert lines_of(supplement) == {
        (at_8000.pk, "pension"): (D("500"), D("0.16"), D("0.08"), D("80.00"), D("40.00")),
        (at_8000.pk, "medical"): (D("500"), D("0.098"), D("0.02"), D("49.00"), D("10.00")),
        (at_8000.pk, "unemployment"): (D("500"), D("0.005"), D("0.005"), D("2.50"), D("2.50")),
        (at_8000.pk, "work_injury"): (D("500"), D("0.002"), D("0"), D("1.00"), D("0.00")),
    }
    assert (supplement.employer_total, supplement.personal_total) == (D("132.50"), D("52.50"))
    bill.refresh_from_db()
    assert (bill.status, bill.base_lower, bill.total) == (
        BillStatus.SETTLED,
        D("7162.00"),
        D("5920.00") + D("370.00"),
    )


def test_bounds_lowered_after_confirmation_gives_a_credit():
    employer, _agent, period, (enrolment,) = create_unit_with_staff(1, base="7100.00")
    bill = bill_generate(employer=employer, month=AUG)
    assert bill.total == D("1897.93") + D("752.01")  # billed at the lower bound 7162
    MonthlyBill.objects.filter(pk=bill.pk).update(status=BillStatus.CONFIRMED)
    change_bounds(period, "7000.00")
    summary = bills_recompute_period(period=period)
    assert summary.supplements == 1
    credit = MonthlyBill.objects.get(employer=employer, month=AUG, sequence=1)
    # 7162 → 7100, −62: pension −9.92/−4.96; medical 701.88 → 695.80: −6.08, 143.24 → 142.00:
    # −1.24; unemployment 35.81 → 35.50: −0.31/−0.31; 工伤 14.32 → 14.20: −0.12
    assert lines_of(credit)[(enrolment.pk, "medical")] == (
        D("-62"),
        D("0.098"),
        D("0.02"),
        D("-6.08"),
        D("-1.24"),
    )
    assert (credit.employer_total, credit.personal_total, credit.total) == (
        D("-16.43"),
        D("-6.51"),
        D("-22.94"),
    )
    assert "退费" in credit.note
    # Nothing left to do: a second run changes nothing.
    assert bills_recompute_period(period=period).as_dict()["supplements"] == 0


def test_bounds_change_recomputes_assessed_bills_in_place():
    employer, _agent, period, (enrolment,) = create_unit_with_staff(1)
    bill = bill_generate(employer=employer, month=AUG)
    change_bounds(period, "8500.00")  # the on-commit task does not run inside the test's atomic
    summary = bills_recompute_period(period=period)
    assert (summary.replaced, summary.supplements) == (1, 0)
    bill.refresh_from_db()
    assert (bill.base_lower, bill.total) == (D("8500.00"), D("2960.00") + D("185.00"))
    assert MonthlyBill.objects.count() == 1
    assert bills_recompute_period(period=period).units == 0


def test_unchanged_bounds_do_not_queue_a_recomputation(django_capture_on_commit_callbacks):
    employer, _agent, period, _staff = create_unit_with_staff(1)
    bill_generate(employer=employer, month=AUG)
    with django_capture_on_commit_callbacks() as callbacks:
        change_bounds(period, "7162.00")
    assert callbacks == []


def test_audit_has_counts_only():
    employer, _agent, period, _staff = create_unit_with_staff(2)
    bill = bill_generate(employer=employer, month=AUG)
    event = AuditEvent.objects.get(action="bill.generated")
    assert event.employer_id == employer.pk and event.object_id == str(bill.pk)
    assert event.details == {
        "month": "2026-08",
        "kind": "regular",
        "sequence": 0,
        "outcome": "created",
        "persons": 2,
        "lines": 8,
    }


# --- queries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("regenerate", [False, True])
def test_query_count_does_not_grow_with_staff(regenerate):
    counts = []
    for size in (2, 20):
        employer, _agent, period, staff = create_unit_with_staff(size)
        if regenerate:
            bill_generate(employer=employer, month=AUG)
            set_base(staff[0], period, "9100.00")
        with CaptureQueriesContext(connection) as captured:
            bill = bill_generate(employer=employer, month=AUG)
        assert bill.person_count == size
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1], counts


def summed_by_type(bill) -> dict:
    """What MonthlyBill.type_totals should hold, summed from the bill's lines."""
    sums = {}
    for line in BillLine.objects.filter(bill=bill):
        entry = sums.setdefault(line.insurance_type, [0, D("0"), D("0")])
        entry[0] += 1
        entry[1] += line.employer_amount
        entry[2] += line.personal_amount
    return {kind: [rows, f"{e:.2f}", f"{p:.2f}"] for kind, (rows, e, p) in sums.items()}


def test_per_type_totals_are_stored_with_the_lines():
    employer, _agent, period, (first, second) = create_unit_with_staff(2)
    bill = bill_generate(employer=employer, month=AUG)
    bill.refresh_from_db()
    # 2 persons at 8,000: pension 1280/640 each, medical 784/160, unemployment 40/40, injury 16/0
    assert bill.type_totals == {
        "pension": [2, "2560.00", "1280.00"],
        "medical": [2, "1568.00", "320.00"],
        "unemployment": [2, "80.00", "80.00"],
        "work_injury": [2, "32.00", "0.00"],
    }
    set_base(first, period, "9000.00")
    bill_generate(employer=employer, month=AUG)  # recomputed in place
    bill.refresh_from_db()
    assert bill.type_totals == summed_by_type(bill)
    assert bill.type_totals["pension"] == [2, "2720.00", "1360.00"]
    MonthlyBill.objects.filter(pk=bill.pk).update(status=BillStatus.CONFIRMED)
    set_base(second, period, "7000.00")  # below the lower bound 7,162: billed at the bound
    supplement = bill_generate(employer=employer, month=AUG)
    supplement.refresh_from_db()
    assert supplement.type_totals == summed_by_type(supplement)
    # 7,162 − 8,000 = −838: a credit of 134.08 / 67.04 on pension
    assert supplement.type_totals["pension"] == [1, "-134.08", "-67.04"]


def test_a_new_bill_is_told_in_the_units_inbox_and_a_recomputation_is_not():
    employer, _agent, _period, _staff = create_unit_with_staff(2)
    bill = bill_generate(employer=employer, month=AUG)
    message = InboxMessage.objects.get(employer_id=employer.pk)
    assert (message.category, message.reference, message.agent_id) == ("bill", bill.reference, None)
    assert "2026-08 社会保险费核定单已生成" in message.title
    assert f"{bill.total:,.2f}" in message.body and "缴费截止日 2026-09-15" in message.body
    bill_generate(employer=employer, month=AUG)  # unchanged: nothing new to tell
    assert InboxMessage.objects.filter(employer_id=employer.pk).count() == 1
