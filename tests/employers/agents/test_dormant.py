import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from employers.agents.services import agent_enable, agents_disable_dormant
from employers.models import Agent, Employer, Role
from employers.tasks import agents_disable_dormant as dormant_task
from portal.celery import app
from portal.models import AuditEvent
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 1, 3, 0, tzinfo=datetime.UTC)


def days_ago(days: int) -> datetime.datetime:
    return NOW - datetime.timedelta(days=days)


def agent_with(*, last_login=None, created=None, employer=None, roles=(Role.QUERIES,), **kw):
    agent = create_agent(employer=employer or create_employer(), roles=roles, **kw)
    Agent.objects.filter(pk=agent.pk).update(created_at=created or days_ago(400))
    agent.user.last_login = last_login
    agent.user.save(update_fields=["last_login"])
    return agent


def is_active(agent) -> bool:
    return Agent.objects.get(pk=agent.pk).is_active


def test_agent_without_login_for_90_days_is_disabled_with_an_audit_row():
    dormant = agent_with(last_login=days_ago(91))
    assert agents_disable_dormant(now=NOW) == 1
    assert not is_active(dormant)
    event = AuditEvent.objects.get(action="agent.disabled", object_id=str(dormant.pk))
    assert event.actor is None and event.employer_id == dormant.employer_id
    assert event.details == {"reason": "dormant", "days": 90}


def test_agent_who_logged_in_within_90_days_stays():
    recent = agent_with(last_login=days_ago(89))
    assert agents_disable_dormant(now=NOW) == 0
    assert is_active(recent)


def test_never_used_account_counts_from_its_creation():
    old = agent_with(last_login=None, created=days_ago(91))
    new = agent_with(last_login=None, created=days_ago(10))
    agents_disable_dormant(now=NOW)
    assert not is_active(old) and is_active(new)


def test_the_period_is_the_rate_limits_setting(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "dormant_agent_days": 30}
    agent = agent_with(last_login=days_ago(31))
    agents_disable_dormant(now=NOW)
    assert not is_active(agent)


def test_last_active_admin_is_disabled_too():
    # Decision (employers.services.agents_disable_dormant): a dormant admin is no exception;
    # the unit gets it back at the counter.
    admin = agent_with(last_login=days_ago(200), roles=[Role.UNIT_ADMIN])
    agents_disable_dormant(now=NOW)
    assert not is_active(admin)


def test_agents_of_units_still_in_registration_are_left_alone():
    pending = create_employer(status=Employer.Status.PENDING)
    agent = agent_with(last_login=None, employer=pending)
    agents_disable_dormant(now=NOW)
    assert is_active(agent)


def test_admin_enables_a_dormant_agent_and_the_next_run_leaves_it_alone():
    now = timezone.now()
    unit = create_employer()
    admin = create_agent(employer=unit, roles=[Role.UNIT_ADMIN])
    admin.user.last_login = now - datetime.timedelta(days=1)
    admin.user.save(update_fields=["last_login"])
    dormant = agent_with(last_login=now - datetime.timedelta(days=120), employer=unit)
    assert agents_disable_dormant(now=now) == 1

    agent_enable(actor=admin, agent=Agent.objects.get(pk=dormant.pk))
    assert agents_disable_dormant(now=now) == 0
    assert is_active(dormant)
    # ... until it has again been idle for a whole period since being enabled.
    later = now + datetime.timedelta(days=91)
    assert agents_disable_dormant(now=later) == 2  # the admin has not logged in since either
    assert not is_active(dormant)


def test_second_run_changes_nothing():
    agent_with(last_login=days_ago(100))
    assert agents_disable_dormant(now=NOW) == 1
    assert agents_disable_dormant(now=NOW) == 0
    assert AuditEvent.objects.filter(action="agent.disabled").count() == 1


def test_task_runs_the_service():
    agent = agent_with(last_login=timezone.now() - datetime.timedelta(days=100))
    assert dormant_task.apply().get() == 1
    assert not is_active(agent)


def test_beat_runs_the_task_daily():
    entries = [
        entry
        for entry in app.conf.beat_schedule.values()
        if entry["task"] == "employers.tasks.agents_disable_dormant"
    ]
    assert len(entries) == 1
    schedule = entries[0]["schedule"]
    assert schedule.hour == {2} and schedule.minute == {30}
    assert schedule.day_of_week == set(range(7)) and schedule.day_of_month == set(range(1, 32))


def test_management_command_runs_the_service():
    agent = agent_with(last_login=timezone.now() - datetime.timedelta(days=100))
    out = StringIO()
    call_command("disable_dormant_agents", stdout=out)
    assert "已停用 1 名" in out.getvalue()
    assert not is_active(agent)
