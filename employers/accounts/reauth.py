"""Full (unmasked) exports: the one rule for every path that hands out full personal data.

A full export needs the export permission (``queries.export``: 信息查询员 and the unit admin,
DESIGN.md section 6) and the agent's password typed again for each export (section 11:
sensitive actions need the password again). Wrong passwords are counted per agent across all
paths, at most RATE_LIMITS["password_failures_per_agent"] in PASSWORD_WINDOW_SECONDS; when the
counter store is down nothing is exported in full (fail closed). Each refusal is audited with
the caller's action (``roster.export_full``, ``export.full``) as a failure; the caller audits
the export itself. The roster's full export, the exports page and its background jobs all ask
here, and nothing else decides.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from employers.permissions import agent_has_permission, role_labels_for_permission
from portal import ratelimit
from portal.audit import audit_log
from portal.models import AuditEvent

FULL_EXPORT_PERMISSION = "queries.export"
PASSWORD_WINDOW_SECONDS = 15 * 60

PASSWORD_REQUIRED = gettext_lazy("完整导出须输入您的登录密码。")
PASSWORD_INCORRECT = gettext_lazy("密码不正确,未导出任何数据;如只需脱敏数据,请不选“完整导出”。")
TOO_MANY = gettext_lazy("密码连续输错次数过多,请 %(minutes)d 分钟后再试完整导出;脱敏导出不受影响。")
UNAVAILABLE = gettext_lazy("系统繁忙,暂不能校验密码,请稍后再试完整导出。")


def full_export_allowed(agent) -> bool:
    """Tell whether the agent may ask for full exports (each one still needs the password)."""
    return agent_has_permission(agent, FULL_EXPORT_PERMISSION)


def full_export_refused_message() -> str:
    """The refusal of a full export to an agent without the export permission."""
    roles = _("或").join(
        _("“%s”") % label for label in role_labels_for_permission(FULL_EXPORT_PERMISSION)
    )
    return _("完整导出须具有%(roles)s角色,请联系本单位管理员;您仍可导出脱敏数据。") % {
        "roles": roles
    }


def full_export_authorise(
    *, agent, password: str, action: str, request=None, details: dict | None = None
) -> None:
    """Allow one full export by ``agent``, or raise a ValidationError that says why not.

    Codes: no_permission, password_required, too_many, unavailable, password_incorrect. Each
    refusal except a missing password is audited as ``action`` (failure; ``details`` and the
    code as ``reason``).
    """
    try:
        if not full_export_allowed(agent):
            raise ValidationError(full_export_refused_message(), code="no_permission")
        if not password:
            raise ValidationError(PASSWORD_REQUIRED, code="password_required")
        _password_check(agent.user, password)
    except ValidationError as exc:
        if exc.code != "password_required":
            audit_log(
                action=action,
                actor=agent.user,
                employer_id=agent.employer_id,
                request=request,
                outcome=AuditEvent.Outcome.FAILURE,
                details={**(details or {}), "reason": exc.code},
            )
        raise


def _password_check(user, password: str) -> None:
    key = f"full-export-password:{user.pk}"
    limit = settings.RATE_LIMITS["password_failures_per_agent"]
    try:
        failures = ratelimit.peek(key, window=PASSWORD_WINDOW_SECONDS)
    except ratelimit.RateLimitUnavailable:
        raise ValidationError(UNAVAILABLE, code="unavailable") from None
    if failures >= limit:
        raise ValidationError(
            TOO_MANY % {"minutes": PASSWORD_WINDOW_SECONDS // 60}, code="too_many"
        )
    if not user.check_password(password):
        try:
            ratelimit.hit(key, limit=limit, window=PASSWORD_WINDOW_SECONDS)
        except ratelimit.RateLimitUnavailable:
            pass  # this password is refused anyway; the next attempt finds the store down
        raise ValidationError(PASSWORD_INCORRECT, code="password_incorrect")
