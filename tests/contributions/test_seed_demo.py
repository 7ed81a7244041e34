import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from contributions.models import PolicyPeriod, PolicyRate, RoundingRule
from contributions.policy.reference import base_bounds, contribution_amounts
from portal.models import AuditEvent, Region

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_labelled_policy_for_the_demo_region_idempotently(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    counts = (
        PolicyPeriod.objects.count(),
        PolicyRate.objects.count(),
        RoundingRule.objects.count(),
        PolicyPeriod.history.count(),
        PolicyRate.history.count(),
        AuditEvent.objects.filter(action="policy.demo_seeded").count(),
    )
    call_command("seed_demo")
    assert counts == (
        PolicyPeriod.objects.count(),
        PolicyRate.objects.count(),
        RoundingRule.objects.count(),
        PolicyPeriod.history.count(),
        PolicyRate.history.count(),
        AuditEvent.objects.filter(action="policy.demo_seeded").count(),
    )
    assert counts[:3] == (2, 22, 7)
    region = Region.objects.get(code="110000")
    periods = PolicyPeriod.objects.filter(region=region).order_by("starts_on")
    assert [(p.starts_on, p.ends_on) for p in periods] == [
        (datetime.date(2025, 7, 1), datetime.date(2026, 6, 30)),
        (datetime.date(2026, 7, 1), datetime.date(2027, 6, 30)),
    ]
    assert all(p.is_published and "演示数据" in p.note for p in periods)
    assert "缴费政策(演示数据) 2026-07-01 至 2027-06-30" in out


def test_demo_policy_gives_plausible_amounts():
    call_command("seed_demo")
    region = Region.objects.get(code="110000")
    assert base_bounds(region, datetime.date(2025, 7, 1)) == (
        Decimal("7162.00"),
        Decimal("35811.00"),
    )
    amounts = contribution_amounts(
        region,
        datetime.date(2026, 7, 1),
        Decimal("10000.00"),
        ["pension", "medical", "unemployment", "work_injury"],
        risk_class=1,
    )
    assert sum(a.employer for a in amounts.values()) == Decimal("2650.00")  # 16+9.8+0.5+0.2 %
    assert sum(a.personal for a in amounts.values()) == Decimal("1050.00")  # 8+2+0.5 %
