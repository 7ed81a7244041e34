import datetime
import re

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from employers.accounts.lockout import agent_is_locked
from employers.models import LoginLock
from portal.models import AuditEvent
from tests.employers.auth_helpers import PASSWORD, form_with_captcha, login, make_agent
from tests.factories import create_agent

pytestmark = pytest.mark.django_db

WRONG = "Wrong2026pw"
BAD_CREDENTIALS = "单位编号、身份证号或密码不正确"


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


def test_five_wrong_passwords_lock_the_agent_for_15_minutes(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    fourth = fail(client, agent, 4)
    assert BAD_CREDENTIALS in fourth.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        fifth = fail(client, agent, 1)
    with django_capture_on_commit_callbacks(execute=True):
        right = login(client, unit=agent.employer.ss_number, id_number=agent.id_number)

    until = timezone.localtime(LoginLock.objects.get().locked_until)
    assert until - timezone.localtime() > datetime.timedelta(minutes=14)
    for response in (fifth, right):
        assert response.status_code == 200
        content = response.content.decode()
        assert "暂时锁定" in content and f"请于{until:%H:%M}后再试" in content
        assert "短信验证解锁" in content
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="agent.locked", object_id=str(agent.pk)).count() == 1
    notices = [m for m in sms_outbox if "已被锁定" in m.text]
    assert len(notices) == 1 and notices[0].phone == agent.phone and "15分钟" in notices[0].text


def test_the_tries_left_are_shown_from_the_third_failure(client, agent):
    responses = [fail(client, agent, 1) for _ in range(4)]
    texts = [response.content.decode() for response in responses]
    assert "再输错" not in texts[0] and "再输错" not in texts[1]
    assert "再输错2次,账号将被锁定15分钟" in texts[2]
    assert "再输错1次,账号将被锁定15分钟" in texts[3]


def test_a_lock_ends_by_itself_and_the_next_one_lasts_twice_as_long(client, agent):
    fail(client, agent, 5)
    assert not logs_in(agent)
    LoginLock.objects.update(locked_until=timezone.now() - datetime.timedelta(seconds=1))

    assert logs_in(agent)
    client.post("/logout/")
    third = fail(client, agent, 3)
    assert "再输错2次,账号将被锁定30分钟" in third.content.decode()
    fail(client, agent, 2)
    lock = LoginLock.objects.get()
    assert len(lock.lock_times) == 2 and not lock.held
    assert lock.locked_until - timezone.now() > datetime.timedelta(minutes=29)


def test_the_fourth_lock_in_a_day_holds_until_it_is_lifted(client, agent, sms_outbox):
    earlier = [
        (timezone.now() - datetime.timedelta(hours=hours)).isoformat() for hours in (30, 5, 3, 1)
    ]
    LoginLock.objects.create(key=agent.user.username, lock_times=earlier)
    third = fail(client, agent, 3)
    assert "再输错2次,账号将被锁定,需解锁后才能登录" in third.content.decode()
    content = fail(client, agent, 2).content.decode()
    lock = LoginLock.objects.get()
    assert (
        lock.held and lock.locked_until is None and len(lock.lock_times) == 4
    )  # 30 h ago fell out
    assert "需解锁后才能登录" in content and "12333" in content and "身份证原件" in content
    LoginLock.objects.update(locked_until=timezone.now() - datetime.timedelta(days=1))
    assert not logs_in(agent)


def test_unknown_accounts_get_the_same_answers_and_the_same_lock(client, agent):
    """A lock tells nobody whether the account exists (DESIGN.md section 7)."""
    unknown = {"unit": "99999999999", "id_number": agent.id_number}
    known = {"unit": agent.employer.ss_number, "id_number": agent.id_number}
    answers = {}
    for name, identifiers in (("unknown", unknown), ("known", known)):
        answers[name] = [_refusal(login(Client(), password=WRONG, **identifiers)) for _ in range(6)]
    assert answers["unknown"] == answers["known"]
    assert "再输错2次" in answers["unknown"][2] and "暂时锁定" in answers["unknown"][5]
    keys = set(AccessAttempt.objects.values_list("username", flat=True))
    assert agent.user.username in keys and len(keys) == 2
    assert all(agent.id_number not in key and "99999999999" not in key for key in keys)
    # The known agent's lock is its own: the unknown identifiers locked nothing real.
    LoginLock.objects.filter(key=agent.user.username).delete()
    AccessAttempt.objects.filter(username=agent.user.username).delete()
    assert logs_in(agent)


def _refusal(response) -> str:
    """The refusal a login page shows, with the lock's time of day left out."""
    text = " ".join(str(error) for error in response.context["form"].non_field_errors())
    return re.sub(r"\d{2}:\d{2}", "HH:MM", text)


def test_failures_counted_before_locks_were_timed_still_hold(agent):
    AccessAttempt.objects.create(
        username=agent.user.username,
        ip_address="127.0.0.1",
        user_agent="",
        get_data="",
        post_data="",
        http_accept="",
        path_info="/login/",
        failures_since_start=5,
    )
    assert agent_is_locked(agent) and not logs_in(agent)


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


# 短信验证解锁 -----------------------------------------------------------------------------------


def unlock_start(client, agent, capture, **overrides):
    data = {
        "unit": agent.employer.ss_number,
        "id_number": agent.id_number,
        "phone": agent.phone,
        **overrides,
    }
    data.update(form_with_captcha(client, "/login/unlock/"))
    with capture(execute=True):
        return client.post("/login/unlock/", data, follow=True)


def test_an_agent_lifts_its_own_lock_with_an_sms_code(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    fail(Client(), agent, 5)
    assert agent_is_locked(agent)
    assert "短信验证解锁" in client.get("/login/").content.decode()

    response = unlock_start(client, agent, django_capture_on_commit_callbacks)
    assert response.redirect_chain[-1][0] == "/login/unlock/confirm/"
    assert sms_outbox[-1].phone == agent.phone and "登录解锁" in sms_outbox[-1].text
    code = re.search(r"验证码 (\d{6})", sms_outbox[-1].text).group(1)
    response = client.post("/login/unlock/confirm/", {"code": code}, follow=True)

    assert "账号已解锁" in response.content.decode() and not agent_is_locked(agent)
    assert AuditEvent.objects.get(action="agent.unlocked").details["via"] == "sms"
    assert logs_in(agent)


def test_unlocking_needs_the_right_code_and_reveals_nothing(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    fail(Client(), agent, 5)
    stranger = unlock_start(client, agent, django_capture_on_commit_callbacks, phone="13700000000")
    assert "如信息无误,验证码已发送" in stranger.content.decode() and sms_outbox == []
    refused = client.post("/login/unlock/confirm/", {"code": "123456"})
    assert "验证码" in " ".join(refused.context["form"].errors["code"])
    assert agent_is_locked(agent)

    unlock_start(client, agent, django_capture_on_commit_callbacks)
    wrong = client.post("/login/unlock/confirm/", {"code": "000000"})
    assert wrong.status_code == 200 and agent_is_locked(agent)
    assert AuditEvent.objects.filter(action="agent.unlock_by_sms", outcome="failure").count() == 2


def test_unlock_needs_the_captcha(client, agent, sms_outbox):
    data = {"unit": agent.employer.ss_number, "id_number": agent.id_number, "phone": agent.phone}
    response = client.post("/login/unlock/", {**data, "captcha_0": "x", "captcha_1": "y"})
    assert response.status_code == 200 and "captcha" in response.context["form"].errors
    assert sms_outbox == []


def test_the_confirm_page_without_a_started_unlock_goes_back_to_the_start(client):
    response = client.get("/login/unlock/confirm/")
    assert response["Location"] == "/login/unlock/"
