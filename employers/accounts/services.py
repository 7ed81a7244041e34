"""Every write of logging in: attempts, lockout and unlock, activation, password change and reset.

Login attempts are not one transaction: django-axes records a failure in its own transaction and
a CA challenge is spent even when the certificate is refused, so that a refusal never rolls back
the count that leads to a lockout. The audit rows and state changes each run in a transaction of
their own, with SMS notices sent after commit.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate, login
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from employers.accounts.backends import (
    _agent_for_request,
    agent_of_user_for_request,
    agent_resolve,
    certificate_unit,
    login_key,
)
from employers.accounts.lockout import (
    _agent_key,
    _hotline,
    _limits,
    agent_is_locked,
    agent_unlock,
    bad_credentials_message,
    login_failures,
    login_lock_active,
    login_lock_expire,
    login_lock_message,
    login_lock_record,
)
from employers.models import Agent, CAChallenge, Employer
from employers.verification.ca import CertificateRejected
from employers.verification.ca_services import ca_challenge_redeem
from portal import ratelimit
from portal.audit import audit_log, client_ip
from portal.identifiers import normalise_mobile
from portal.models import AuditEvent
from portal.sms import send_sms
from portal.smscodes import VERIFY_ERRORS, sms_code_send, sms_code_verify

logger = logging.getLogger(__name__)


SESSION_STARTED = "auth_started_at"


SESSION_LAST_SEEN = "auth_last_seen"


REVIEW_STATES = {Employer.Status.UNVERIFIED, Employer.Status.PENDING, Employer.Status.REJECTED}


BAD_CREDENTIALS = _("单位编号、身份证号或密码不正确,请核对后重新输入。")


CA_BAD_IDENTIFIERS = _("身份证号或证书不正确:请确认证书属于本单位,且身份证号是本单位经办人的。")


AGENT_DISABLED = _("您的经办人账号已停用,请联系本单位管理员启用后再登录。")


EMPLOYER_DISABLED = _(
    "本单位的网上服务账号已停用,暂不能登录。请拨打服务热线%(hotline)s或到社保经办窗口咨询。"
)


THROTTLED = _("登录尝试过于频繁,请 %(seconds)d 秒后再试。")


RESET_GONE = _("找回密码的申请已失效,请重新填写单位编号、身份证号和手机号。")


class LoginRefused(Exception):
    """A refused login: ``code`` for the audit log, ``message`` for the agent."""

    def __init__(self, code: str, message, *, field: str | None = None):
        super().__init__(code)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Attempt:
    method: str  # "password", "ca" or "sms"
    unit: str
    id_number: str


def _ip_key(request) -> str | None:
    ip = client_ip(request)
    return f"login:ip:{ip}" if ip else None


def login_throttle_check(*, request) -> None:
    """Refuse an attempt from an address that failed too often this minute (any accounts)."""
    key = _ip_key(request)
    if key is None:
        return
    try:
        count = ratelimit.peek(key, window=60)
    except ratelimit.RateLimitUnavailable:
        # The per-agent lockout lives in the database and still holds: let the attempt through.
        logger.warning("login throttle store unavailable; attempt allowed")
        return
    if count >= _limits()["login_attempts_per_ip_per_minute"]:
        seconds = 60 - int(time.time()) % 60
        raise LoginRefused("throttled", _g(THROTTLED) % {"seconds": max(seconds, 1)})


def login_throttle_count(*, request) -> None:
    """Count one failed (or probing) attempt against the address."""
    key = _ip_key(request)
    if key is None:
        return
    try:
        ratelimit.hit(key, limit=_limits()["login_attempts_per_ip_per_minute"], window=60)
    except ratelimit.RateLimitUnavailable:
        logger.warning("login throttle store unavailable; failure not counted")


@transaction.atomic
def login_failure_record(
    *, request, reason: str, method: str, agent: Agent | None = None, count: bool = True
) -> None:
    """Audit a failed login and count it against the address (no personal data recorded)."""
    audit_log(
        action="agent.login",
        outcome=AuditEvent.Outcome.FAILURE,
        obj=agent,
        employer_id=agent.employer_id if agent else None,
        request=request,
        details={"method": method, "reason": reason},
    )
    if count:
        login_throttle_count(request=request)


@transaction.atomic
def employer_activate(*, employer: Employer, actor=None, request=None) -> Employer:
    """Activate an approved unit (its first login); an active unit stays as it is."""
    employer = Employer.objects.select_for_update().get(pk=employer.pk)
    if employer.status == Employer.Status.APPROVED:
        employer.status = Employer.Status.ACTIVE
        employer.save(update_fields=["status"])
        audit_log(
            action="employer.activated",
            actor=actor,
            obj=employer,
            employer_id=employer.pk,
            request=request,
        )
    return employer


def _refuse_failed_attempt(request, attempt: Attempt, refusal=None) -> LoginRefused:
    identified = attempt.method == "password" or attempt.unit
    agent = _agent_for_request(request, attempt.unit, attempt.id_number) if identified else None
    key = login_key(request, attempt.unit, attempt.id_number) if identified else None
    if getattr(request, "axes_locked_out", False):
        # Axes counts on after the lock; the attempt that reached the limit is the one that locked.
        if key and request.axes_failures_since_start == settings.AXES_FAILURE_LIMIT:
            login_lock_record(key=key, agent=agent, request=request)
        login_failure_record(request=request, reason="locked", method=attempt.method, agent=agent)
        return LoginRefused("locked", login_lock_message(key))
    if refusal is not None:
        login_failure_record(
            request=request, reason=f"ca_{refusal.code}", method=attempt.method, agent=agent
        )
        return LoginRefused(f"ca_{refusal.code}", refusal.messages[0], field="certificate")
    login_failure_record(
        request=request, reason="bad_credentials", method=attempt.method, agent=agent
    )
    message = BAD_CREDENTIALS if attempt.method == "password" else CA_BAD_IDENTIFIERS
    return LoginRefused("bad_credentials", bad_credentials_message(key, message))


def _log_in(request, user, attempt: Attempt) -> Agent:
    agent = agent_of_user_for_request(request, user) or (
        Agent.objects.select_related("employer").get(user=user)
    )
    agent.user = user
    reason = None
    if not agent.is_active or not user.is_active:
        reason, message = "agent_disabled", AGENT_DISABLED
    elif agent.employer.status == Employer.Status.DISABLED:
        reason, message = "employer_disabled", _g(EMPLOYER_DISABLED) % _hotline()
    if reason:
        # The password was right: no count against the address, and the agent may be told.
        login_failure_record(
            request=request, reason=reason, method=attempt.method, agent=agent, count=False
        )
        raise LoginRefused(reason, message)
    login(request, user)
    now = int(time.time())
    request.session[SESSION_STARTED] = now
    request.session[SESSION_LAST_SEEN] = now
    with transaction.atomic():
        audit_log(
            action="agent.login",
            actor=user,
            obj=agent,
            employer_id=agent.employer_id,
            request=request,
            details={"method": attempt.method},
        )
        if agent.employer.status == Employer.Status.APPROVED:
            agent.employer = employer_activate(employer=agent.employer, actor=user, request=request)
    return agent


def agent_login(*, request, unit: str, id_number: str, password: str) -> Agent:
    """Log an agent in by password (the captcha is the form's); raise LoginRefused."""
    attempt = Attempt("password", unit, id_number)
    request.login_view_explains_lockout = True
    login_lock_expire(key=login_key(request, unit, id_number))
    user = authenticate(request, unit=unit or None, id_number=id_number, password=password)
    if user is None:
        raise _refuse_failed_attempt(request, attempt)
    return _log_in(request, user, attempt)


def agent_login_with_certificate(
    *, request, id_number: str, certificate: bytes, signature: str, nonce: str
) -> Agent:
    """Log an agent in by the unit's CA certificate and a signed login challenge."""
    unit = certificate_unit(certificate)
    attempt = Attempt("ca", unit, id_number)
    request.login_view_explains_lockout = True
    if not unit:
        # The certificate names no registered unit, so no agent is identified: spend the
        # challenge and refuse without counting against anyone's lockout.
        refusal = None
        try:
            ca_challenge_redeem(
                nonce=nonce,
                purpose=CAChallenge.Purpose.LOGIN,
                certificate=certificate,
                signature=signature,
                expected_uscc="",
                request=request,
            )
        except CertificateRejected as exc:
            refusal = None if exc.code == "wrong_unit" else exc
        raise _refuse_failed_attempt(request, attempt, refusal)
    key = login_key(request, unit, id_number)
    login_lock_expire(key=key)
    agent = _agent_for_request(request, unit, id_number)
    if agent is not None and login_lock_active(key):
        # The unit's certificate proves more than a password: it lifts the agent's lock.
        return _log_in_locked_with_certificate(
            request, agent, attempt, certificate=certificate, signature=signature, nonce=nonce
        )
    outcome: dict = {}
    user = authenticate(
        request,
        unit=unit or None,
        id_number=id_number,
        certificate=certificate,
        signature=signature,
        ca_challenge=nonce,
        outcome=outcome,
    )
    if user is None:
        raise _refuse_failed_attempt(request, attempt, outcome.get("refusal"))
    return _log_in(request, user, attempt)


def _log_in_locked_with_certificate(
    request, agent: Agent, attempt: Attempt, *, certificate: bytes, signature: str, nonce: str
) -> Agent:
    try:
        ca_challenge_redeem(
            nonce=nonce,
            purpose=CAChallenge.Purpose.LOGIN,
            certificate=certificate,
            signature=signature,
            expected_uscc=agent.employer.uscc,
            request=request,
        )
    except ValidationError as exc:
        # A refused certificate leaves the lock as it is and says why, as for any CA login.
        code = f"ca_{exc.code or 'refused'}"
        login_failure_record(request=request, reason=code, method=attempt.method, agent=agent)
        raise LoginRefused(code, exc.messages[0], field="certificate") from None
    agent_unlock(agent=agent, request=request, via="ca")
    user = agent.user
    user.backend = "employers.accounts.backends.AgentCertificateBackend"
    return _log_in(request, user, attempt)


def login_redirect_url(agent: Agent) -> str:
    """Where an agent goes after logging in: the workbench, or the unit's registration status."""
    employer = agent.employer
    if employer.status in REVIEW_STATES:
        application = getattr(employer, "application", None)
        if application is not None:
            return reverse("employers:register_status", args=[application.reference])
        return reverse("accounts:unit_pending")
    return reverse("dashboard")


def _notify_password_changed(agent: Agent) -> None:
    text = _g(
        "【社保网上服务大厅】您的经办人账号登录密码已于%(time)s修改,其他设备上的登录已退出。"
        "如非本人操作,请立即拨打%(hotline)s。"
    ) % {"time": timezone.localtime().strftime("%Y-%m-%d %H:%M"), **_hotline()}
    phone = agent.phone
    transaction.on_commit(lambda: send_sms(phone, text))


@transaction.atomic
def agent_password_set(*, agent: Agent, password: str, action: str, request=None) -> Agent:
    """Set a new password (the old sessions end with the old session hash), audit, notify."""
    user = agent.user
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_log(
        action=action,
        actor=user,
        obj=agent,
        employer_id=agent.employer_id,
        request=request,
    )
    _notify_password_changed(agent)
    return agent


def agent_password_change(*, agent: Agent, new_password: str, request=None) -> Agent:
    """Change the password of a logged-in agent (the form checked the current one)."""
    return agent_password_set(
        agent=agent, password=new_password, action="agent.password_changed", request=request
    )


def _phone_code_start(
    *, purpose: str, action: str, unit: str, id_number: str, phone: str, request=None
) -> Agent | None:
    """Send a code when unit, ID number and phone name one enabled agent; else nothing.

    The caller answers the same whatever happens here, so that the page reveals nothing about
    who is registered; a send refused by the SMS limits is logged, not shown.
    """
    agent = agent_resolve(unit=unit, id_number=id_number) if unit else None
    matches = (
        agent is not None
        and agent.is_active
        and agent.employer.status != Employer.Status.DISABLED
        and agent.phone == normalise_mobile(phone)
    )
    if matches:
        try:
            sms_code_send(purpose=purpose, phone=agent.phone, ip_address=client_ip(request))
        except ValidationError as exc:
            logger.info("%s code not sent: %s", purpose, getattr(exc, "code", ""))
    with transaction.atomic():
        audit_log(
            action=action,
            outcome=AuditEvent.Outcome.SUCCESS if matches else AuditEvent.Outcome.FAILURE,
            obj=agent if matches else None,
            employer_id=agent.employer_id if matches else None,
            request=request,
            details={} if matches else {"reason": "no_match"},
        )
    return agent if matches else None


def _phone_code_check(*, purpose: str, action: str, agent: Agent | None, code: str, request):
    """Check the code sent to the agent's phone; audit and raise ValidationError when wrong."""
    if agent is None:
        with transaction.atomic():
            audit_log(
                action=action,
                outcome=AuditEvent.Outcome.FAILURE,
                request=request,
                details={"reason": "sms_code_missing"},
            )
        raise ValidationError(VERIFY_ERRORS["sms_code_missing"], code="sms_code_missing")
    try:
        # Outside any transaction: a wrong entry must stay counted (portal.smscodes).
        sms_code_verify(purpose=purpose, phone=agent.phone, code=code)
    except ValidationError as exc:
        with transaction.atomic():
            audit_log(
                action=action,
                outcome=AuditEvent.Outcome.FAILURE,
                obj=agent,
                employer_id=agent.employer_id,
                request=request,
                details={"reason": exc.code or "sms_code"},
            )
        raise


def agent_password_reset_start(
    *, unit: str, id_number: str, phone: str, request=None
) -> Agent | None:
    """Send a password-reset code when the identifiers and phone name one enabled agent."""
    return _phone_code_start(
        purpose="password_reset",
        action="agent.password_reset_requested",
        unit=unit,
        id_number=id_number,
        phone=phone,
        request=request,
    )


def agent_unlock_start(*, unit: str, id_number: str, phone: str, request=None) -> Agent | None:
    """Send a login-unlock code when the identifiers and phone name one enabled agent."""
    return _phone_code_start(
        purpose="login_unlock",
        action="agent.unlock_requested",
        unit=unit,
        id_number=id_number,
        phone=phone,
        request=request,
    )


def agent_sms_login_start(*, unit: str, id_number: str, phone: str, request=None) -> Agent | None:
    """Send a login code when the identifiers and phone name one enabled agent (短信验证码登录,
    the way in without the image captcha)."""
    return _phone_code_start(
        purpose="sms_login",
        action="agent.sms_login_requested",
        unit=unit,
        id_number=id_number,
        phone=phone,
        request=request,
    )


def agent_sms_login_finish(*, agent: Agent | None, code: str, request) -> Agent:
    """Log the agent in once the code sent to its registered phone is right.

    Holding the phone proves what 短信验证解锁 proves, so a login lock is lifted as there.
    """
    _phone_code_check(
        purpose="sms_login", action="agent.sms_login", agent=agent, code=code, request=request
    )
    agent_unlock(agent=agent, request=request, via="sms")
    user = agent.user
    # A backend of AUTHENTICATION_BACKENDS that loads agents by id for later requests.
    user.backend = "employers.accounts.backends.AgentCertificateBackend"
    return _log_in(request, user, Attempt("sms", "", agent.id_number))


def agent_unlock_finish(*, agent: Agent | None, code: str, request=None) -> Agent:
    """Lift the agent's login lock once the code sent to its phone is right (短信验证解锁)."""
    _phone_code_check(
        purpose="login_unlock",
        action="agent.unlock_by_sms",
        agent=agent,
        code=code,
        request=request,
    )
    agent_unlock(agent=agent, request=request, via="sms")
    return agent


def agent_password_reset_finish(
    *, agent: Agent | None, code: str, new_password: str, request=None
) -> Agent:
    """Check the SMS code sent to the agent's phone, then set the new password.

    Raises ValidationError (for the code field) when the code is wrong, used, expired or void;
    a reset whose first step matched no agent fails as a missing code does.
    """
    _phone_code_check(
        purpose="password_reset",
        action="agent.password_reset",
        agent=agent,
        code=code,
        request=request,
    )
    agent = agent_password_set(
        agent=agent, password=new_password, action="agent.password_reset", request=request
    )
    # Whoever proved the phone by the code may log in with the new password at once.
    if agent_is_locked(agent) or login_failures(_agent_key(agent)):
        agent_unlock(agent=agent, request=request, via="password_reset")
    return agent
