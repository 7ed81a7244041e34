"""One-time SMS verification codes: 6 digits, 5 minutes, single use, 5 wrong entries void it."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from portal import ratelimit
from portal.audit import audit_log
from portal.crypto import blind_index
from portal.identifiers import normalise_mobile, validate_mobile
from portal.models import Notification, SmsCode
from portal.notifications import notification_create

PURPOSE_TEXTS = {
    "registration": "单位注册",
    "password_reset": "找回密码",
    "login_unlock": "登录解锁",
    "sms_login": "短信验证码登录",
    "agent_add": "添加经办人",
    "unit_contact": "变更单位联系人手机号",
}


def _limits() -> dict:
    return settings.RATE_LIMITS


def _code_hash(purpose: str, phone: str, code: str) -> str:
    message = f"smscode:{purpose}:{normalise_mobile(phone)}:{code}".encode()
    return hmac.new(settings.PII_INDEX_KEY.encode(), message, hashlib.sha256).hexdigest()


DAY = 86400


def _wait_message(seconds: int, *, daily: bool) -> str:
    # Which limit refused says which message, not the seconds left: near midnight a daily cap
    # has only minutes to run and is still a daily cap.
    if daily:
        return _("今日发送次数已达上限,请明天再试。")
    return _("发送过于频繁,请 %(s)d 秒后再试。") % {"s": max(seconds, 1)}


def sms_code_send(*, purpose: str, phone: str, ip_address: str | None = None) -> SmsCode:
    """Issue a code to ``phone`` within the per-phone and per-IP limits; send it after commit."""
    validate_mobile(phone)
    phone = normalise_mobile(phone)
    phone_key = blind_index("phone", phone)
    limits = _limits()
    checks = [
        (f"sms:phone:{phone_key}", 1, limits["sms_resend_seconds"]),
        (f"sms:phone-day:{phone_key}", limits["sms_sends_per_phone_per_day"], DAY),
    ]
    if ip_address:
        checks.append((f"sms:ip-day:{ip_address}", limits["sms_sends_per_ip_per_day"], DAY))
    try:
        for key, limit, window in checks:
            verdict = ratelimit.hit(key, limit=limit, window=window)
            if not verdict.allowed:
                raise ValidationError(
                    _wait_message(verdict.retry_after, daily=window >= DAY),
                    code="sms_rate_limited",
                )
    except ratelimit.RateLimitUnavailable:
        raise ValidationError(
            _("短信服务暂时不可用,请稍后再试。"), code="sms_unavailable"
        ) from None

    digits = limits["sms_code_digits"]
    code = f"{secrets.randbelow(10**digits):0{digits}d}"
    ttl = limits["sms_code_ttl_seconds"]
    with transaction.atomic():
        # A new code replaces any earlier unused one for the same purpose and phone.
        SmsCode.objects.filter(purpose=purpose, phone_index=phone_key, used_at=None).update(
            used_at=timezone.now()
        )
        sms_code = SmsCode.objects.create(
            purpose=purpose,
            phone_index=phone_key,
            code_hash=_code_hash(purpose, phone, code),
            expires_at=timezone.now() + datetime.timedelta(seconds=ttl),
        )
        audit_log(action="sms_code.sent", obj=sms_code, details={"purpose": purpose})
        notification_create(
            channel=Notification.Channel.SMS,
            recipient=phone,
            template="sms_code",
            context={
                "code": code,
                "purpose": PURPOSE_TEXTS.get(purpose, purpose),
                "minutes": ttl // 60,
            },
            expires_at=sms_code.expires_at,
        )
    return sms_code


VERIFY_ERRORS = {
    "sms_code_missing": _lazy("验证码无效或已使用,请重新获取。"),
    "sms_code_expired": _lazy("验证码已过期,请重新获取。"),
    "sms_code_void": _lazy("验证码错误次数过多,已失效,请重新获取。"),
    "sms_code_wrong": _lazy("验证码不正确,请核对短信后重新输入。"),
}


def sms_code_verify(*, purpose: str, phone: str, code: str) -> None:
    """Consume a valid code or raise ValidationError with what to do next.

    A wrong entry is counted in a transaction that commits before the error is raised, so the
    count survives; call it outside any transaction of the caller's.
    """
    error = _sms_code_consume(purpose=purpose, phone=normalise_mobile(phone), code=code)
    if error:
        raise ValidationError(VERIFY_ERRORS[error], code=error)


def _sms_code_consume(*, purpose: str, phone: str, code: str) -> str:
    with transaction.atomic():
        sms_code = (
            SmsCode.objects.select_for_update()
            .filter(purpose=purpose, phone_index=blind_index("phone", phone), used_at=None)
            .order_by("-created_at")
            .first()
        )
        if sms_code is None:
            return "sms_code_missing"
        now = timezone.now()
        if sms_code.expires_at <= now:
            return "sms_code_expired"
        code = "".join(str(code).split())
        if hmac.compare_digest(sms_code.code_hash, _code_hash(purpose, phone, code)):
            sms_code.used_at = now
            sms_code.save(update_fields=["used_at"])
            return ""
        sms_code.wrong_attempts += 1
        update = ["wrong_attempts"]
        if sms_code.wrong_attempts >= _limits()["sms_code_wrong_entries"]:
            sms_code.used_at = now
            update.append("used_at")
        sms_code.save(update_fields=update)
        return "sms_code_void" if sms_code.used_at else "sms_code_wrong"
