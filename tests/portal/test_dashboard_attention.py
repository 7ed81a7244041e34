"""The workbench's 待办提醒 (issue 16 item 8): what needs the agent, only what its roles allow."""

import datetime
import uuid

import pytest
from django.utils import timezone

from employers.models import LoginLock, RegistrationApplication, Role
from enrollment.models import RemovalReason, RemoveEmployeeFiling
from portal.dashboard import dashboard_for_agent
from portal.models import ReviewState
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.contributions.factories import make_period
from tests.factories import create_agent

pytestmark = pytest.mark.django_db


def keys(agent, **kwargs):
    return {item.key: item for item in dashboard_for_agent(agent, **kwargs).attention}


def rejected_removal(unit, agent, enrolment):
    RemoveEmployeeFiling.objects.create(
        reference="JY0000001",
        employer=unit,
        enrolment=enrolment,
        submitted_by=agent,
        idempotency_key=uuid.uuid4(),
        reason=RemovalReason.CONTRACT_ENDED,
        last_contribution_month=timezone.localdate().replace(day=1),
        review_state=ReviewState.REJECTED,
        submitted_at=timezone.now(),
    )


def test_an_admin_is_told_of_each_thing_waiting_for_the_unit():
    unit, admin, period, staff = create_unit_with_staff(2)
    rejected_removal(unit, admin, staff[0])
    create_bill(unit, datetime.date(2026, 7, 1), staff)
    # The coming period is published and not declared yet.
    make_period(
        unit.region,
        starts_on=period.ends_on + datetime.timedelta(days=1),
        ends_on=period.ends_on.replace(year=period.ends_on.year + 1),
    )
    locked = create_agent(employer=unit, roles=[Role.QUERIES])
    LoginLock.objects.create(key=locked.user.get_username(), held=True)
    RegistrationApplication.objects.filter(employer=unit).delete()
    RegistrationApplication.objects.create(
        reference="ZC000000000777",
        account=unit.account,
        employer=unit,
        verification_method="ca",
        verified_at=timezone.now(),
        verification_evidence={
            "method": "ca",
            "not_after": (timezone.now() + datetime.timedelta(days=10)).isoformat(),
        },
        review_state=ReviewState.APPROVED,
    )

    items = keys(admin)
    assert set(items) == {"refused", "bills", "declaration", "locked", "certificate"}
    assert "1 项业务审核未通过" in items["refused"].text
    assert items["refused"].url == "/filings/?outcome=refused"
    assert "1 张核定单" in items["bills"].text
    assert "缴费基数尚未申报" in items["declaration"].text
    assert "1 名经办人登录已被锁定" in items["locked"].text
    assert "将于" in items["certificate"].text and items["certificate"].level == "danger"


def test_a_queries_agent_sees_only_the_filings_it_can_follow():
    unit, admin, period, staff = create_unit_with_staff(1)
    rejected_removal(unit, admin, staff[0])
    create_bill(unit, datetime.date(2026, 7, 1), staff)
    queries = create_agent(employer=unit, roles=[Role.QUERIES])
    assert set(keys(queries)) == {"refused"}


def test_nothing_waiting_gives_an_empty_list_and_the_page_says_so(client):
    unit, admin, period, staff = create_unit_with_staff(1)
    agent = create_agent(employer=unit, roles=[Role.ENROLMENT])
    assert keys(agent) == {}
    client.force_login(agent.user)
    assert "暂无需要处理的事项" in client.get("/dashboard/").content.decode()


def test_an_expired_certificate_and_a_declared_period_are_told_apart():
    unit, admin, period, staff = create_unit_with_staff(1)
    RegistrationApplication.objects.filter(employer=unit).delete()
    RegistrationApplication.objects.create(
        reference="ZC000000000778",
        account=unit.account,
        employer=unit,
        verification_method="ca",
        verified_at=timezone.now(),
        verification_evidence={"not_after": "2026-01-01T00:00:00+00:00"},
        review_state=ReviewState.APPROVED,
    )
    items = keys(admin, now=datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC))
    assert "已于 2026-01-01 过期" in items["certificate"].text


def test_the_links_are_reversed_for_the_script_prefix_and_language():
    from django.urls import clear_script_prefix, reverse, set_script_prefix
    from django.utils import translation

    from portal.dashboard import _url

    unit, admin, _period, staff = create_unit_with_staff(1)
    rejected_removal(unit, admin, staff[0])
    try:
        for prefix in ("/", "/portal/"):
            set_script_prefix(prefix)
            for language in ("zh-hans", "en"):
                with translation.override(language):
                    for name in ("filings", "agents:list", "contributions:bill_awaiting"):
                        assert _url(name) == reverse(name)
                        assert _url(name, "outcome=open") == f"{reverse(name)}?outcome=open"
                    refused = keys(admin)["refused"].url
                    assert refused == f"{prefix}filings/?outcome=refused"
    finally:
        clear_script_prefix()
    assert keys(admin)["refused"].url == "/filings/?outcome=refused"
