"""The workbench's figures read in one statement give the page the one-query-each reads gave.

The page is rendered twice per case: with the figures read as they were before (one ORM query
per figure, the selectors' querysets counted and read with ``.count()`` and ``.first()``) and
as they are (one compiled statement); the HTML must be the same byte for byte, for an admin
and for agents of other roles, in Chinese and in English, for a small and a larger unit.
"""

import datetime
import re
import uuid

import pytest
from django.conf import settings
from django.utils import timezone

from contributions.billing.selectors import bill_list_for_agent
from contributions.declarations.selectors import declaration_due_list, declaration_season_start
from contributions.models import BillStatus
from employers.accounts.lockout import locked_agent_lock_list
from employers.agents.selectors import agent_list_for_agent
from employers.agents.services import agent_disable
from employers.models import LoginLock, RegistrationApplication, Role
from enrollment.models import RemovalReason, RemoveEmployeeFiling
from portal import dashboard
from portal.models import ReviewState
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.contributions.factories import make_period
from tests.factories import create_agent

pytestmark = pytest.mark.django_db

# Tokens that differ from one response to the next whatever the figures.
VOLATILE = re.compile(r'(name="csrfmiddlewaretoken" value=|nonce=)"[^"]*"')


def figures_one_query_each(agent, *, now, pay, declare, manage):
    """The figures as read before they shared one statement."""
    figures = {}
    if pay:
        figures["bills"] = bill_list_for_agent(agent=agent, awaiting=True).count()
    if declare:
        period = declaration_due_list(
            employer_id=agent.employer_id,
            region_id=agent.employer.region_id,
            season_start=declaration_season_start(timezone.localdate(now)),
        ).first()
        figures["due_starts_on"] = period.starts_on if period else None
        figures["due_ends_on"] = period.ends_on if period else None
    if manage:
        agents = agent_list_for_agent(agent=agent)
        figures["agents_total"] = agents.count()
        figures["agents_active"] = agents.filter(is_active=True).count()
        figures["locked"] = locked_agent_lock_list(employer_id=agent.employer_id, now=now).count()
        evidence = (
            RegistrationApplication.objects.filter(
                employer_id=agent.employer_id, verification_method="ca"
            )
            .values_list("verification_evidence", flat=True)
            .first()
        )
        figures["certificate_not_after"] = (evidence or {}).get("not_after")
    return figures


def a_unit_with_something_of_everything(size):
    unit, admin, period, staff = create_unit_with_staff(size)
    statuses = [BillStatus.ASSESSED, BillStatus.CONFIRMED, BillStatus.SETTLED][:size]
    for month, status in enumerate(statuses, start=7):
        create_bill(unit, datetime.date(2026, month, 1), staff, status=status)
    make_period(
        unit.region,
        starts_on=period.ends_on + datetime.timedelta(days=1),
        ends_on=period.ends_on.replace(year=period.ends_on.year + 1),
    )
    RemoveEmployeeFiling.objects.create(
        reference="JY0000009",
        employer=unit,
        enrolment=staff[0],
        submitted_by=admin,
        idempotency_key=uuid.uuid4(),
        reason=RemovalReason.CONTRACT_ENDED,
        last_contribution_month=timezone.localdate().replace(day=1),
        review_state=ReviewState.REJECTED,
        submitted_at=timezone.now(),
    )
    others = [create_agent(employer=unit, roles=[Role.QUERIES]) for _ in range(size)]
    LoginLock.objects.create(key=others[0].user.get_username(), held=True)
    if size > 1:
        agent_disable(actor=admin, agent=others[1])
        LoginLock.objects.create(
            key=others[1].user.get_username(),
            locked_until=timezone.now() + datetime.timedelta(minutes=15),
        )
    RegistrationApplication.objects.filter(employer=unit).delete()
    RegistrationApplication.objects.create(
        reference="ZC000000000779",
        account=unit.account,
        employer=unit,
        verification_method="ca",
        verified_at=timezone.now(),
        verification_evidence={
            "method": "ca",
            "certificate": "-----BEGIN CERTIFICATE-----…",
            "not_after": (timezone.now() + datetime.timedelta(days=size)).isoformat(),
        },
        review_state=ReviewState.APPROVED,
    )
    return unit, admin


def page(client, agent, language) -> str:
    client.force_login(agent.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get("/dashboard/")
    assert response.status_code == 200
    return VOLATILE.sub(r"\1", response.content.decode())


@pytest.mark.parametrize("size", [1, 12])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(
    "roles",
    [[Role.UNIT_ADMIN], [Role.CONTRIBUTIONS], [Role.QUERIES], [Role.ENROLMENT, Role.CONTRIBUTIONS]],
)
def test_the_page_is_the_one_the_figures_read_one_by_one_gave(
    client, monkeypatch, size, language, roles
):
    unit, admin = a_unit_with_something_of_everything(size)
    agent = admin if roles == [Role.UNIT_ADMIN] else create_agent(employer=unit, roles=roles)
    page(client, agent, language)  # the first request after login settles the session

    now_page = page(client, agent, language)
    with monkeypatch.context() as patch:
        patch.setattr(dashboard, "_figures", figures_one_query_each)
        before_page = page(client, agent, language)

    assert now_page == before_page
    if roles == [Role.UNIT_ADMIN]:
        expected = {"refused", "bills", "declaration", "locked", "certificate"}
        assert all(f'data-attention-item="{key}"' in now_page for key in expected)
        assert f'data-agent-count="{1 + size}"' in now_page


def test_an_admin_of_a_unit_with_nothing_waiting_gets_zeros_and_no_items():
    unit, admin, period, staff = create_unit_with_staff(1)
    RegistrationApplication.objects.filter(employer=unit).delete()
    figures = dashboard.dashboard_for_agent(admin)
    assert figures.agent_counts == {"total": 1, "active": 1}
    assert figures.attention == []
