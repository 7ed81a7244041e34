"""短信验证码登录 (issue 19): a way in without the image captcha — unit, ID number and the
registered phone, then the code sent to that phone."""

import re

import pytest
from django.test import Client

from employers.accounts.lockout import agent_is_locked
from portal.models import AuditEvent
from tests.employers.auth_helpers import make_agent

pytestmark = pytest.mark.django_db

START, CONFIRM = "/login/sms/", "/login/sms/confirm/"


@pytest.fixture
def agent():
    return make_agent()


def start(client, agent, capture, **changes):
    data = {"unit": agent.employer.ss_number, "id_number": agent.id_number, "phone": agent.phone}
    data.update(changes)
    with capture(execute=True):
        return client.post(START, data, follow=True)


def code_from(outbox) -> str:
    return re.search(r"验证码 (\d{6})", outbox[-1].text).group(1)


def test_the_login_page_offers_it_and_it_needs_no_image_captcha(client):
    assert f'href="{START}"' in client.get("/login/").content.decode()
    page = client.get(START).content.decode()
    assert "captcha" not in page and "短信验证码登录" in page


def test_an_agent_logs_in_with_the_code_sent_to_its_phone(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    response = start(client, agent, django_capture_on_commit_callbacks)
    assert response.redirect_chain[-1][0] == CONFIRM
    assert sms_outbox[-1].phone == agent.phone and "短信验证码登录" in sms_outbox[-1].text
    response = client.post(CONFIRM, {"code": code_from(sms_outbox)})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.session["_auth_user_id"] == str(agent.user.pk)
    assert AuditEvent.objects.get(action="agent.login").details == {"method": "sms"}


def test_a_wrong_phone_gets_the_same_answer_and_no_sms(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    response = start(client, agent, django_capture_on_commit_callbacks, phone="13700000000")
    assert "如信息无误,验证码已发送" in response.content.decode() and sms_outbox == []
    refused = client.post(CONFIRM, {"code": "123456"})
    assert refused.status_code == 200 and "code" in refused.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_a_wrong_code_is_refused_and_a_lock_is_lifted_by_the_right_one(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    from tests.employers.accounts.test_lockout import fail

    fail(Client(), agent, 5)
    assert agent_is_locked(agent)
    start(client, agent, django_capture_on_commit_callbacks)
    code = code_from(sms_outbox)
    wrong = "000000" if code != "000000" else "111111"
    assert "code" in client.post(CONFIRM, {"code": wrong}).context["form"].errors
    assert client.post(CONFIRM, {"code": code}).status_code == 302
    assert not agent_is_locked(agent)
