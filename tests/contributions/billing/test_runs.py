"""Monthly bills for many units: tasks, the generate_bills command, admin, demo seed, queries."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contributions.billing.runs import bills_generate_all
from contributions.billing.tasks import (
    bill_generate_unit,
    bills_recompute_period,
)
from contributions.billing.tasks import (
    bills_generate_all as bills_generate_all_task,
)
from contributions.common import add_months, month_start
from contributions.models import (
    BillLine,
    BillStatus,
    ContributionAccount,
    ContributionBase,
    MonthlyBill,
    SandboxBankAccount,
)
from employers.models import Employer
from portal.celery import app
from portal.review import clerk_group_setup
from tests.conftest import otp_verify
from tests.contributions.bill_helpers import create_unit_with_staff
from tests.contributions.factories import make_period
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import RegionFactory, create_employer

pytestmark = pytest.mark.django_db

AUG = datetime.date(2026, 8, 1)
D = Decimal


def unit_in_region(region, staff: int, period=None):
    """An active unit of the region with ``staff`` active employees at base 8000."""
    employer = create_employer()
    employer.region = region
    employer.save(update_fields=["region"])
    ContributionAccount.objects.create(employer=employer)
    for _ in range(staff):
        enrolment = create_enrolment(employer)
        if period is not None:
            ContributionBase.objects.create(enrolment=enrolment, period=period, base=D("8000"))
    return employer


def test_task_generates_one_unit_eagerly():
    employer, agent, period, _staff = create_unit_with_staff(2)
    bill_id = bill_generate_unit.delay(employer.pk, "2026-08", agent.user_id).get()
    bill = MonthlyBill.objects.get(pk=bill_id)
    assert (bill.employer, bill.month, bill.total) == (employer, AUG, D("5920.00"))
    # Idempotent: the same bill again, no new rows.
    assert bill_generate_unit.delay(employer.pk, "2026-08").get() == bill_id
    assert BillLine.objects.count() == 8
    # A refusal is final and returns None (no policy for June 2026).
    assert bill_generate_unit.delay(employer.pk, "2026-06").get() is None


def test_task_names_and_monthly_beat_entry():
    from celery.schedules import crontab

    assert bill_generate_unit.name == "contributions.tasks.bill_generate_unit"
    assert bills_generate_all_task.name == "contributions.tasks.bills_generate_all"
    assert bills_recompute_period.name == "contributions.tasks.bills_recompute_period"
    entry = app.conf.beat_schedule["contributions-bills-generate-all"]
    assert entry["task"] == "contributions.tasks.bills_generate_all"
    assert entry["schedule"] == crontab(day_of_month=1, hour=1, minute=0)


def test_generate_all_bills_active_units_and_reports_failures():
    employer, _agent, period, _staff = create_unit_with_staff(2)
    region = employer.region
    second = unit_in_region(region, 3, period)
    unit_in_region(region, 0)  # nobody to bill
    disabled = unit_in_region(region, 1, period)
    Employer.objects.filter(pk=disabled.pk).update(status=Employer.Status.DISABLED)
    no_policy = create_employer(region=RegionFactory(code="120000", name="天津市(测试)"))
    create_enrolment(no_policy)
    summary = bills_generate_all_task.delay("2026-08").get()
    assert summary["created"] == 2
    assert (summary["empty"], summary["failures"], summary["persons"]) == (1, 1, 5)
    assert summary["total"] == "14800.00"  # 5 × 2960.00
    assert set(MonthlyBill.objects.values_list("employer_id", flat=True)) == {
        employer.pk,
        second.pk,
    }
    again = bills_generate_all(month=AUG)
    assert (again.created, again.unchanged) == (0, 2)
    assert MonthlyBill.objects.count() == 2


def test_generate_all_default_month_is_the_current_month():
    employer, _agent, period, _staff = create_unit_with_staff(1)
    current = month_start(timezone.localdate())
    summary = bills_generate_all_task.delay().get()
    assert summary["month"] == f"{current:%Y-%m}"


def test_generate_all_queries_per_unit_do_not_grow_with_staff():
    region_unit, _agent, period, _staff = create_unit_with_staff(0)
    region = region_unit.region
    Employer.objects.filter(pk=region_unit.pk).update(status=Employer.Status.DISABLED)
    small = [unit_in_region(region, 1, period) for _ in range(2)]
    with CaptureQueriesContext(connection) as two_small:
        bills_generate_all(month=AUG, region=region)
    for _ in range(2):
        unit_in_region(region, 15, period)
    MonthlyBill.objects.filter(employer__in=small).delete()
    Employer.objects.filter(pk__in=[unit.pk for unit in small]).update(
        status=Employer.Status.DISABLED
    )
    with CaptureQueriesContext(connection) as two_big:
        summary = bills_generate_all(month=AUG, region=region)
    assert (summary.created, summary.persons) == (2, 30)
    assert len(two_small.captured_queries) == len(two_big.captured_queries)
    # And per unit: four units cost the set-up plus four times what one costs.
    Employer.objects.filter(pk__in=[unit.pk for unit in small]).update(
        status=Employer.Status.ACTIVE
    )
    MonthlyBill.objects.all().delete()
    with CaptureQueriesContext(connection) as four:
        bills_generate_all(month=AUG, region=region)
    per_unit = (len(four.captured_queries) - len(two_big.captured_queries)) / 2
    assert len(two_big.captured_queries) - 2 * per_unit < 10  # set-up: units, accounts, policy


def test_recompute_task_after_a_bounds_change():
    employer, _agent, period, _staff = create_unit_with_staff(1)
    bill = bill_generate_unit.delay(employer.pk, "2026-08").get()
    MonthlyBill.objects.filter(pk=bill).update(status=BillStatus.DEBITED)
    type(period).objects.filter(pk=period.pk).update(base_lower=D("8200.00"))
    summary = bills_recompute_period.delay(period.pk).get()
    assert summary["supplements"] == 1
    supplement = MonthlyBill.objects.get(sequence=1)
    # +200 base: 32+19.6+1+0.4 = 53.00 employer, 16+4+1 = 21.00 personal
    assert (supplement.employer_total, supplement.personal_total) == (D("53.00"), D("21.00"))
    assert bills_recompute_period.delay(999999).get() is None


# --- the command --------------------------------------------------------------------------------


def test_command_for_one_unit_prints_a_chinese_summary(capsys):
    employer, _agent, period, _staff = create_unit_with_staff(2)
    call_command("generate_bills", "--month", "2026-08", "--unit", employer.ss_number)
    out = capsys.readouterr().out
    bill = MonthlyBill.objects.get(employer=employer)
    assert f"核定单 {bill.reference}" in out
    assert "应缴合计 5920.00 元" in out
    assert "费款所属期 2026-08:处理单位 1 个,新核定 1 张" in out
    call_command("generate_bills", "--month", "2026-08", "--unit", employer.ss_number)
    assert "无变化 1 个" in capsys.readouterr().out
    assert MonthlyBill.objects.count() == 1


def test_command_for_a_region(capsys):
    employer, _agent, period, _staff = create_unit_with_staff(1)
    call_command("generate_bills", "--month", "2026-08", "--region", employer.region.code)
    assert "新核定 1 张" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2026-13"], "费款所属期“2026-13”格式不对,应写成 YYYY-MM,如 2026-08"),
        (["--month", "abc"], "格式不对"),
        (["--month", "2026-08", "--unit", "nope"], "单位社保编号 nope 不存在"),
        (["--month", "2026-08", "--region", "999999"], "统筹区代码 999999 不存在"),
    ],
)
def test_command_bad_input(args, message):
    create_unit_with_staff(1)
    with pytest.raises(CommandError, match=message):
        call_command("generate_bills", *args)
    assert not MonthlyBill.objects.exists()


def test_command_future_month_and_failures():
    employer, _agent, period, _staff = create_unit_with_staff(1)
    future = add_months(month_start(timezone.localdate()), 2)
    with pytest.raises(CommandError, match="不能核定未来月份的费款"):
        call_command("generate_bills", "--month", f"{future:%Y-%m}")
    with pytest.raises(CommandError, match="没有适用于 2026-06-01 的缴费政策"):
        call_command("generate_bills", "--month", "2026-06", "--unit", employer.ss_number)
    with pytest.raises(CommandError, match="1 个单位未能核定"):
        call_command("generate_bills", "--month", "2026-06")
    assert not MonthlyBill.objects.exists()


# --- admin --------------------------------------------------------------------------------------


@pytest.fixture
def clerk_client(client):
    group, codenames = clerk_group_setup()
    assert {"view_monthlybill", "change_monthlybill", "view_billline"} <= set(codenames)
    user = get_user_model().objects.create_user("bill-clerk", "b@example.invalid", "x")
    user.is_staff = True
    user.save()
    user.groups.add(group)
    return otp_verify(client, user)


def test_admin_lists_bills_read_only_and_regenerates(clerk_client):
    employer, _agent, period, staff = create_unit_with_staff(2)
    bill = bill_generate_unit.delay(employer.pk, "2026-08").get()
    bill = MonthlyBill.objects.get(pk=bill)
    page = clerk_client.get(f"/admin/contributions/monthlybill/?q={employer.ss_number}")
    assert page.status_code == 200
    assert bill.reference in page.content.decode()
    detail = clerk_client.get(f"/admin/contributions/monthlybill/{bill.pk}/change/")
    text = detail.content.decode()
    assert detail.status_code == 200
    assert "养老保险:2 人,单位 2560.00 元,个人 1280.00 元" in text
    assert 'name="_save"' not in text  # read-only
    lines = clerk_client.get(f"/admin/contributions/billline/?bill__id__exact={bill.pk}")
    assert lines.status_code == 200
    assert clerk_client.get("/admin/contributions/monthlybill/add/").status_code == 403
    ContributionBase.objects.filter(enrolment=staff[0]).update(base=D("9000"))
    response = clerk_client.post(
        "/admin/contributions/monthlybill/",
        {"action": "regenerate", "_selected_action": [bill.pk]},
        follow=True,
    )
    assert "已重新核定 1 个单位月份" in response.content.decode()
    bill.refresh_from_db()
    assert bill.total == D("2960.00") + D("3330.00")


# --- demo seed ----------------------------------------------------------------------------------


def test_seed_demo_gives_the_demo_unit_a_bill_and_a_bank_balance(capsys):
    call_command("seed_demo")
    employer = Employer.objects.get(ss_number="11000000001")
    counts = (
        MonthlyBill.objects.count(),
        BillLine.objects.count(),
        ContributionBase.objects.count(),
    )
    call_command("seed_demo")
    assert counts == (
        MonthlyBill.objects.count(),
        BillLine.objects.count(),
        ContributionBase.objects.count(),
    )
    assert ContributionAccount.objects.filter(employer=employer).exists()
    assert SandboxBankAccount.objects.get(employer=employer).balance == D("500000.00")
    previous = add_months(month_start(timezone.localdate()), -1)
    covered = datetime.date(2025, 7, 1) <= previous <= datetime.date(2027, 6, 30)
    bills = MonthlyBill.objects.filter(employer=employer, month=previous)
    assert bills.count() == (1 if covered else 0)
    if covered:
        assert bills.get().person_count == 4
        assert "演示核定单" in capsys.readouterr().out


def test_make_period_helper_is_usable_for_a_second_region():
    # Sanity check for the helper used above: a region without a policy has none.
    employer = create_employer()
    assert make_period(employer.region).is_published


def test_admin_bounds_change_bills_the_difference(django_capture_on_commit_callbacks):
    from tests.contributions.policy.test_admin import change_form_data

    superuser = get_user_model().objects.create_superuser("bounds-clerk", "c@example.invalid", "x")
    employer, _agent, period, _staff = create_unit_with_staff(1)
    bill = MonthlyBill.objects.get(pk=bill_generate_unit.delay(employer.pk, "2026-08").get())
    MonthlyBill.objects.filter(pk=bill.pk).update(status=BillStatus.CONFIRMED)
    client = otp_verify(Client(), superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/contributions/policyperiod/{period.pk}/change/",
            change_form_data(period, base_lower="8100.00"),
        )
    assert response.status_code == 302
    supplement = MonthlyBill.objects.get(employer=employer, sequence=1)
    # +100 base: 16 + 9.8 + 0.5 + 0.2 = 26.50 employer, 8 + 2 + 0.5 = 10.50 personal
    assert (supplement.employer_total, supplement.personal_total) == (D("26.50"), D("10.50"))
