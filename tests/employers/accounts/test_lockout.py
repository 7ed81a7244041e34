import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import Client

from portal.models import AuditEvent
from tests.employers.auth_helpers import PASSWORD, login, make_agent
from tests.factories import create_agent

pytestmark = pytest.mark.django_db

WRONG = "Wrong2026pw"
BAD_CREDENTIALS = "单位编号、身份证号或密码不正确"
LOCKED = "已被锁定"


@pytest.fixture
def agent():
    return make_agent()


def fail(client, agent, times, **identifiers):
    identifiers = identifiers or {"unit": agent.employer.ss_number}
    responses = [
        login(client, id_number=agent.id_number, password=WRONG, **identifiers)
        for _ in range(times)
    ]
    return responses[-1] if responses else None


def logs_in(agent) -> bool:
    client = Client()
    response = login(client, unit=agent.employer.ss_number, id_number=agent.id_number)
    return response.status_code == 302 and "_auth_user_id" in client.session


def test_five_wrong_passwords_lock_the_agent(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    fourth = fail(client, agent, 4)
    assert BAD_CREDENTIALS in fourth.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        fifth = fail(client, agent, 1)
    with django_capture_on_commit_callbacks(execute=True):
        right = login(client, unit=agent.employer.ss_number, id_number=agent.id_number)

    for response in (fifth, right):
        assert response.status_code == 200
        content = response.content.decode()
        assert LOCKED in content and "12333" in content and "身份证原件" in content
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="agent.locked", object_id=str(agent.pk)).count() == 1
    notices = [m for m in sms_outbox if "已被锁定" in m.text]
    assert len(notices) == 1 and notices[0].phone == agent.phone


def test_lockout_is_kept_under_the_login_name_not_the_id_number(client, agent):
    fail(client, agent, 2)

    attempt = AccessAttempt.objects.get()
    assert attempt.username == agent.user.username
    assert agent.id_number not in attempt.post_data
    assert WRONG not in attempt.post_data


def test_a_success_resets_the_consecutive_failures(client, agent):
    fail(client, agent, 4)
    assert (
        login(client, unit=agent.employer.ss_number, id_number=agent.id_number).status_code == 302
    )
    client.post("/logout/")

    fail(client, agent, 4)

    assert logs_in(agent)


def test_both_ways_of_naming_the_agent_count_against_the_same_lock(client, agent):
    fail(client, agent, 3, unit=agent.employer.uscc)
    fail(client, agent, 2, unit="")

    assert not logs_in(agent)


def test_unknown_identifiers_leave_no_lockout_records(client, agent):
    for _ in range(6):
        login(client, unit="99999999999", id_number=agent.id_number, password=WRONG)

    assert AccessAttempt.objects.count() == 0
    assert logs_in(agent)


def test_a_locked_agent_does_not_lock_colleagues_behind_the_same_address(client, agent):
    colleague = create_agent(employer=agent.employer)
    fail(client, agent, 5)

    assert logs_in(colleague)


def test_unlock_agent_command_unlocks_and_audits(client, agent):
    fail(client, agent, 5)
    assert not logs_in(agent)

    call_command("unlock_agent", agent.employer.ss_number, agent.id_number.lower())

    assert logs_in(agent)
    event = AuditEvent.objects.get(action="agent.unlocked")
    assert event.object_id == str(agent.pk) and event.details["via"] == "command"


@pytest.mark.parametrize("which", ["unit", "agent"])
def test_unlock_agent_command_names_what_it_cannot_find(agent, which):
    unit = "99999999999" if which == "unit" else agent.employer.ss_number
    id_number = agent.id_number if which == "unit" else "11010519491231002X"

    with pytest.raises(CommandError):
        call_command("unlock_agent", unit, id_number)
    assert not AuditEvent.objects.filter(action="agent.unlocked").exists()


def test_clerk_unlocks_in_the_admin_and_it_is_audited(client, agent, admin_client, admin_user):
    fail(client, agent, 5)
    changelist = "/admin/employers/agent/"
    assert 'alt="True"' in admin_client.get(changelist).content.decode()

    response = admin_client.post(
        changelist, {"action": "unlock_agents", "_selected_action": [agent.pk]}, follow=True
    )

    assert "已解除 1 名经办人的登录锁定" in response.content.decode()
    assert logs_in(agent)
    event = AuditEvent.objects.get(action="agent.unlocked")
    assert event.actor == admin_user and event.details["via"] == "admin"


def test_failures_per_address_are_throttled_with_the_wait_shown(client, agent, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_attempts_per_ip_per_minute": 3}
    other = make_agent()
    for _ in range(3):
        login(client, unit="99999999999", id_number=agent.id_number, password=WRONG)

    response = login(client, unit=other.employer.ss_number, id_number=other.id_number)

    content = response.content.decode()
    assert response.status_code == 200 and "登录尝试过于频繁" in content and "秒后再试" in content
    assert f'value="{other.employer.ss_number}"' in content
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(details__reason="throttled").count() == 1
    # Another address is not affected.
    elsewhere = Client(REMOTE_ADDR="10.0.0.9")
    assert (
        login(elsewhere, unit=other.employer.ss_number, id_number=other.id_number).status_code
        == 302
    )


def test_lock_events_and_failures_are_audited_without_personal_data(client, agent):
    fail(client, agent, 6)

    events = AuditEvent.objects.filter(action__in=["agent.login", "agent.locked"])
    assert events.filter(outcome="failure").count() == 6
    assert events.filter(details__reason="locked").count() == 2
    for event in events:
        assert agent.id_number not in str(event.details) + event.actor_label


def test_usernames_and_passwords_authenticate_clerks_only(rf, agent, admin_user):
    admin_user.set_password("Clerk2026pass")
    admin_user.save()

    as_agent = authenticate(
        rf.post("/admin/login/"), username=agent.user.username, password=PASSWORD
    )
    as_clerk = authenticate(
        rf.post("/admin/login/"), username=admin_user.username, password="Clerk2026pass"
    )

    assert as_agent is None and as_clerk == admin_user
