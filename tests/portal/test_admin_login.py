"""The clerks' admin login: user name, password and TOTP code in one Chinese form (issue 15)."""

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import otp_verify
from tests.factories import create_clerk

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "Clerk2026pass"
QUEUE = "admin:employers_registrationapplication_changelist"


@pytest.fixture
def device():
    return TOTPDevice.objects.create(user=create_clerk("totpclerk"), name="手机", confirmed=True)


def code(device) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"


def log_in(client, token, *, password=PASSWORD, username="totpclerk"):
    data = {"username": username, "password": password, "otp_token": token}
    return client.post(LOGIN, data, HTTP_ACCEPT_LANGUAGE="en")


def test_login_form_asks_for_the_code_in_chinese_without_a_device_choice(client):
    page = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    for label in ("用户名", "密码", "动态验证码", "登录"):
        assert label in page
    assert 'name="otp_token"' in page and 'autocomplete="one-time-code"' in page
    assert "otp_device" not in page and "otp_challenge" not in page
    assert "OTP" not in page and "Log in" not in page and "Username" not in page


def test_one_submit_with_the_right_code_logs_in_verified(client, device):
    response = log_in(client, code(device))

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.session["otp_device_id"] == device.persistent_id
    assert client.get(reverse(QUEUE)).status_code == 200


def test_a_second_device_is_found_without_choosing(client, device):
    TOTPDevice.objects.create(user=device.user, name="旧手机", confirmed=True)
    newer = TOTPDevice.objects.create(user=device.user, name="新手机", confirmed=True)

    response = log_in(client, code(newer))

    assert response.status_code == 302
    assert client.session["otp_device_id"] == newer.persistent_id


def test_wrong_code_is_refused_in_chinese_and_throttled(client, device):
    wrong = "000000" if code(device) != "000000" else "111111"

    refused = log_in(client, wrong)

    assert refused.status_code == 200
    assert "动态验证码不正确" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # django-otp slows down guessing
    # Within the throttle's delay even the right code waits.
    throttled = log_in(client, code(device))
    assert "错误次数过多" in throttled.content.decode()
    assert "_auth_user_id" not in client.session
    device.throttle_reset()
    assert log_in(client, code(device)).status_code == 302


def test_a_code_is_not_six_digits_is_refused_before_checking(client, device):
    response = log_in(client, "12ab5")

    assert "动态验证码是 6 位数字" in response.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_wrong_password_is_refused_in_chinese_and_the_code_is_not_tried(client, device):
    response = log_in(client, code(device), password="wrong-password")

    assert "用户名或密码不正确" in response.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 0 and device.last_t == -1


def test_clerk_without_a_device_is_sent_to_the_administrator(client):
    create_clerk("nodevice")

    response = log_in(client, "123456", username="nodevice")

    assert "尚未登记动态验证码设备" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_repeated_wrong_passwords_lock_the_clerk_out(client, device, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "000000", password="wrong-password")

    locked = log_in(client, code(device))

    assert locked.status_code == 403
    assert "账号已锁定" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_clerks_see_only_their_sections_in_chinese(admin_client):
    clerk = otp_verify(Client(), create_clerk())
    clerk_index = clerk.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    admin_index = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "单位注册申请" in clerk_index and "最近动作" in clerk_index
    for hidden in ("/admin/axes/", "/admin/otp_totp/", "/admin/otp_static/", "/admin/auth/"):
        assert hidden not in clerk_index
        assert hidden in admin_index  # the system administrator still manages them
    for chinese in ("登录失败锁定", "登录失败计数", "动态验证码设备", "备用验证码"):
        assert chinese in admin_index
    for english in ("Axes", "Otp_", "Access attempts", "TOTP devices", "Model name"):
        assert english not in clerk_index and english not in admin_index
    assert clerk.get("/admin/axes/").status_code == 404


def test_admin_logins_and_failures_are_in_the_audit_log(client, device):
    from portal.models import AuditEvent

    log_in(client, code(device), password="wrong-password")
    wrong = "000000" if code(device) != "000000" else "111111"
    log_in(Client(), wrong)
    device.refresh_from_db()
    device.throttle_reset()  # a wrong code delays the next try (django-otp); as if time passed
    log_in(Client(), code(device))
    events = list(AuditEvent.objects.filter(action__startswith="clerk.").order_by("pk"))
    assert [(e.action, e.outcome, e.details.get("reason")) for e in events] == [
        ("clerk.login_failed", "failure", "password"),
        ("clerk.login_failed", "failure", "otp"),
        ("clerk.login", "success", None),
    ]
    assert events[-1].actor == device.user and events[-1].details == {"second_factor": True}
    assert "totpclerk" not in str([e.details for e in events])
