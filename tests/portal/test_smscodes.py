import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.models import AuditEvent, SmsCode
from portal.smscodes import sms_code_send, sms_code_verify

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


def send(django_capture_on_commit_callbacks, phone=PHONE, ip="10.0.0.1", purpose="registration"):
    with django_capture_on_commit_callbacks(execute=True):
        return sms_code_send(purpose=purpose, phone=phone, ip_address=ip)


def last_code(outbox) -> str:
    return re.search(r"验证码 (\d{6})", outbox[-1].text).group(1)


def test_code_is_sent_after_commit_and_verifies_once(
    django_capture_on_commit_callbacks, sms_outbox
):
    send(django_capture_on_commit_callbacks)
    assert len(sms_outbox) == 1 and sms_outbox[0].phone == PHONE
    code = last_code(sms_outbox)
    sms_code_verify(purpose="registration", phone=PHONE, code=code)
    with pytest.raises(ValidationError, match="已使用"):
        sms_code_verify(purpose="registration", phone=PHONE, code=code)


def test_code_is_stored_only_as_keyed_hash(django_capture_on_commit_callbacks, sms_outbox):
    send(django_capture_on_commit_callbacks)
    code = last_code(sms_outbox)
    row = SmsCode.objects.get()
    assert code not in row.code_hash and PHONE not in row.phone_index
    event = AuditEvent.objects.get(action="sms_code.sent")
    assert PHONE not in str(event.details) and code not in str(event.details)


def test_code_for_another_purpose_does_not_verify(django_capture_on_commit_callbacks, sms_outbox):
    send(django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError):
        sms_code_verify(purpose="password_reset", phone=PHONE, code=last_code(sms_outbox))


def test_expired_code_is_refused(django_capture_on_commit_callbacks, sms_outbox):
    send(django_capture_on_commit_callbacks)
    SmsCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(ValidationError, match="已过期"):
        sms_code_verify(purpose="registration", phone=PHONE, code=last_code(sms_outbox))


def test_five_wrong_entries_void_the_code(django_capture_on_commit_callbacks, sms_outbox):
    send(django_capture_on_commit_callbacks)
    code = last_code(sms_outbox)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    for _ in range(4):
        with pytest.raises(ValidationError, match="不正确"):
            sms_code_verify(purpose="registration", phone=PHONE, code=wrong)
    with pytest.raises(ValidationError, match="已失效"):
        sms_code_verify(purpose="registration", phone=PHONE, code=wrong)
    with pytest.raises(ValidationError):
        sms_code_verify(purpose="registration", phone=PHONE, code=code)


def test_resend_within_60_seconds_is_refused_with_time_left(django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError, match=r"请 \d+ 秒后再试") as exc:
        send(django_capture_on_commit_callbacks)
    assert exc.value.code == "sms_rate_limited"


def test_daily_cap_per_ip_across_phones(django_capture_on_commit_callbacks, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_sends_per_ip_per_day": 3}
    for n in range(3):
        send(django_capture_on_commit_callbacks, phone=f"1390000000{n}")
    with pytest.raises(ValidationError, match="明天再试"):
        send(django_capture_on_commit_callbacks, phone="13900000009")


def test_new_code_replaces_the_old_one(django_capture_on_commit_callbacks, sms_outbox, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_resend_seconds": 1}
    send(django_capture_on_commit_callbacks)
    first = last_code(sms_outbox)
    from django.core.cache import cache

    cache.clear()
    send(django_capture_on_commit_callbacks)
    second = last_code(sms_outbox)
    if first != second:
        with pytest.raises(ValidationError):
            sms_code_verify(purpose="registration", phone=PHONE, code=first)
    sms_code_verify(purpose="registration", phone=PHONE, code=second)


def test_bad_phone_is_refused_before_anything_is_sent(sms_outbox):
    with pytest.raises(ValidationError, match="11位手机号码"):
        sms_code_send(purpose="registration", phone="2381234567", ip_address=None)
    assert sms_outbox == []


def test_store_outage_refuses_sending(monkeypatch, sms_outbox):
    from portal import ratelimit

    def broken(*args, **kwargs):
        raise ratelimit.RateLimitUnavailable("down")

    monkeypatch.setattr(ratelimit, "hit", broken)
    with pytest.raises(ValidationError, match="暂时不可用"):
        sms_code_send(purpose="registration", phone=PHONE, ip_address=None)
    assert sms_outbox == [] and not SmsCode.objects.exists()
