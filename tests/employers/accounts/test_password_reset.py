import re

import pytest
from django.test import Client

from employers.accounts.lockout import agent_is_locked
from portal.models import AuditEvent
from tests.employers.auth_helpers import PASSWORD, form_with_captcha, login, make_agent

pytestmark = pytest.mark.django_db

NEW = "Renewed2027pw"
SENT = "如信息无误,验证码已发送"
CODE_GONE = "验证码无效或已使用,请重新获取。"


@pytest.fixture
def agent():
    return make_agent()


def start(client, agent, capture, *, unit=None, id_number=None, phone=None):
    data = {
        "unit": agent.employer.ss_number if unit is None else unit,
        "id_number": agent.id_number if id_number is None else id_number,
        "phone": agent.phone if phone is None else phone,
    }
    data.update(form_with_captcha(client, "/password/forgot/"))
    with capture(execute=True):
        return client.post("/password/forgot/", data, follow=True)


def code_from(outbox) -> str:
    return re.search(r"验证码 (\d{6})", outbox[-1].text).group(1)


def finish(client, code, password=NEW, password2=None):
    return client.post(
        "/password/reset/",
        {"code": code, "new_password": password, "new_password2": password2 or password},
    )


def password_is(agent, password) -> bool:
    agent.user.refresh_from_db()
    return agent.user.check_password(password)


def test_forgot_page_says_which_documents_to_bring_without_the_phone(client):
    content = client.get("/password/forgot/").content.decode()

    for document in ["单位介绍信或授权委托书", "经办人身份证原件", "营业执照副本复印件"]:
        assert document in content
    assert "12333" in content


def test_reset_by_sms_code_sets_the_password_and_tells_the_agent(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    response = start(client, agent, django_capture_on_commit_callbacks)

    assert response.redirect_chain[-1][0] == "/password/reset/"
    assert SENT in response.content.decode()
    assert sms_outbox[-1].phone == agent.phone and "找回密码" in sms_outbox[-1].text
    with django_capture_on_commit_callbacks(execute=True):
        response = finish(client, code_from(sms_outbox))

    assert response["Location"] == "/login/"
    assert password_is(agent, NEW)
    assert sms_outbox[-1].phone == agent.phone and "密码已于" in sms_outbox[-1].text
    event = AuditEvent.objects.get(action="agent.password_reset")
    assert event.outcome == "success" and event.object_id == str(agent.pk)
    assert (
        login(client, unit=agent.employer.ss_number, id_number=agent.id_number, password=NEW)[
            "Location"
        ]
        == "/dashboard/"
    )


@pytest.mark.parametrize("wrong", ["phone", "unit", "id_number"])
def test_a_triple_that_matches_no_agent_gets_the_same_answer_and_no_sms(
    client, agent, sms_outbox, django_capture_on_commit_callbacks, wrong
):
    changes = {
        "phone": {"phone": "13700000000"},
        "unit": {"unit": "99999999999"},
        "id_number": {"id_number": "11010519491231002X"},
    }[wrong]

    response = start(client, agent, django_capture_on_commit_callbacks, **changes)

    assert response.redirect_chain[-1][0] == "/password/reset/"
    assert SENT in response.content.decode()
    assert sms_outbox == []
    response = finish(client, "123456")
    assert response.context["form"].errors["code"] == [CODE_GONE]
    assert password_is(agent, PASSWORD)


def test_a_reset_ends_every_session_of_the_agent(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    elsewhere = Client()
    login(elsewhere, unit=agent.employer.ss_number, id_number=agent.id_number)
    assert elsewhere.get("/dashboard/").status_code == 200

    start(client, agent, django_capture_on_commit_callbacks)
    finish(client, code_from(sms_outbox))

    assert elsewhere.get("/dashboard/").status_code == 302
    assert "_auth_user_id" not in elsewhere.session


def test_a_used_code_cannot_be_replayed(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    start(client, agent, django_capture_on_commit_callbacks)
    code = code_from(sms_outbox)
    finish(client, code)

    again = finish(client, code, password="Another2027pw")
    assert again.status_code == 302 and again["Location"] == "/password/forgot/"

    start(client, agent, django_capture_on_commit_callbacks)
    response = finish(client, code, password="Another2027pw")
    assert "code" in response.context["form"].errors
    assert password_is(agent, NEW)


def test_guessing_voids_the_code_after_five_wrong_entries(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    start(client, agent, django_capture_on_commit_callbacks)
    code = code_from(sms_outbox)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    messages = [finish(client, wrong).context["form"].errors["code"][0] for _ in range(5)]
    response = finish(client, code)

    assert messages[0] == "验证码不正确,请核对短信后重新输入。"
    assert messages[-1] == "验证码错误次数过多,已失效,请重新获取。"
    assert response.context["form"].errors["code"]
    assert password_is(agent, PASSWORD)
    failures = AuditEvent.objects.filter(action="agent.password_reset", outcome="failure")
    assert failures.count() == 6


def test_a_reset_started_for_one_agent_cannot_be_finished_for_another(
    agent, sms_outbox, django_capture_on_commit_callbacks
):
    victim = make_agent()
    attacker_client, victim_client = Client(), Client()
    start(attacker_client, agent, django_capture_on_commit_callbacks)
    attacker_code = code_from(sms_outbox)
    start(victim_client, victim, django_capture_on_commit_callbacks)

    # The attacker's code in the victim's reset, and a forged agent in the form: both refused.
    response = victim_client.post(
        "/password/reset/",
        {"code": attacker_code, "new_password": NEW, "new_password2": NEW, "agent": agent.pk},
    )
    assert response.context["form"].errors["code"]
    session = attacker_client.session
    session["password_reset"] = session["password_reset"].replace(":", ";", 1)
    session.save()
    response = finish(attacker_client, attacker_code)

    assert response.status_code == 302 and response["Location"] == "/password/forgot/"
    assert password_is(agent, PASSWORD) and password_is(victim, PASSWORD)


def test_a_weak_new_password_is_refused_without_spending_the_code(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    start(client, agent, django_capture_on_commit_callbacks)
    code = code_from(sms_outbox)

    weak = finish(client, code, password=f"a{agent.phone}")
    mismatch = finish(client, code, password=NEW, password2="Different2027")
    assert "不能包含身份证号或手机号" in weak.context["form"].errors["new_password"][0]
    assert mismatch.context["form"].errors["new_password2"] == ["两次输入的密码不一致。"]

    assert finish(client, code).status_code == 302
    assert password_is(agent, NEW)


def test_reset_page_without_a_started_reset_goes_back_to_the_start(client):
    response = client.get("/password/reset/", follow=True)

    assert response.redirect_chain[-1][0] == "/password/forgot/"
    assert "申请已失效" in response.content.decode()


def test_forgot_needs_the_captcha(client, agent, sms_outbox):
    response = client.post(
        "/password/forgot/",
        {"unit": agent.employer.ss_number, "id_number": agent.id_number, "phone": agent.phone},
    )

    assert response.status_code == 200 and response.context["form"].errors["captcha"]
    assert sms_outbox == []


@pytest.mark.parametrize("payload", ["'; DROP TABLE portal_user; --", "<b>x</b>", "9" * 10_000])
def test_bad_input_in_the_reset_forms_gets_messages(client, agent, payload):
    data = {"unit": payload, "id_number": payload, "phone": payload}
    data.update(form_with_captcha(client, "/password/forgot/"))

    response = client.post("/password/forgot/", data)

    errors = response.context["form"].errors
    assert {"unit", "id_number", "phone"} <= errors.keys()
    assert "<b>x</b>" not in response.content.decode()


def test_reset_audit_entries_hold_no_personal_data(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    start(client, agent, django_capture_on_commit_callbacks)
    start(client, agent, django_capture_on_commit_callbacks, phone="13700000000")
    finish(client, "000000")

    for event in AuditEvent.objects.all():
        text = f"{event.actor_label} {event.details}"
        assert agent.id_number not in text and agent.phone not in text


def test_forgot_password_tries_are_throttled_per_address(
    client, agent, settings, sms_outbox, django_capture_on_commit_callbacks
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_attempts_per_ip_per_minute": 2}
    for phone in ("13700000001", "13700000002"):
        start(client, agent, django_capture_on_commit_callbacks, phone=phone)

    response = client.post(
        "/password/forgot/",
        {"unit": agent.employer.ss_number, "id_number": agent.id_number, "phone": agent.phone}
        | form_with_captcha(client, "/password/forgot/"),
    )

    assert (
        "登录尝试过于频繁" in response.content.decode() and "秒后再试" in response.content.decode()
    )
    assert sms_outbox == []


def test_a_completed_reset_lifts_a_lock_and_says_so(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    for _ in range(5):
        login(Client(), unit=agent.employer.ss_number, id_number=agent.id_number, password="x1")
    assert agent_is_locked(agent)
    start(client, agent, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = finish(client, code_from(sms_outbox))

    assert not agent_is_locked(agent)
    page = client.get(response["Location"]).content.decode()
    assert "登录锁定已一并解除" in page
    assert AuditEvent.objects.get(action="agent.unlocked").details["via"] == "password_reset"
    assert login(Client(), unit=agent.employer.ss_number, id_number=agent.id_number, password=NEW)[
        "Location"
    ]
