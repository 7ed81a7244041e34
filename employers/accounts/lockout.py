"""Login lockout (DESIGN.md section 7): failures per login key, timed locks, and lifting them.

django-axes counts consecutive failures per login key (an agent's login name, or a keyed hash of
identifiers that name no agent, so that unknown accounts lock exactly as known ones); a
LoginLock times each lock: 15 minutes, doubling with each further lock within a day, and the
fourth lock in 24 hours holds until it is lifted by the agent's SMS code, a CA-certificate login,
a completed password reset, a clerk or ``manage.py unlock_agent``.
"""

from __future__ import annotations

import datetime

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from employers.accounts.backends import (
    normalise_username,
)
from employers.models import Agent, LoginLock
from portal.audit import audit_log
from portal.inbox import SMS_PREFIX, inbox_message_create
from portal.models import InboxCategory
from portal.sms import send_sms

TRIES_LEFT = _("再输错%(left)d次,账号将被锁定%(minutes)d分钟。")


LOCKED = _(
    "因连续多次登录失败,该账号已被暂时锁定,请于%(until)s后再试。如是本人操作,可以通过"
    "“短信验证解锁”立即解锁,或使用CA证书登录。"
)


LOCKED_HELD = _(
    "该账号24小时内已多次因登录失败被锁定,需解锁后才能登录:请通过“短信验证解锁”或CA证书"
    "登录解锁,也可以携带单位介绍信或授权委托书、经办人身份证原件到社保经办窗口办理,或拨打"
    "服务热线%(hotline)s咨询。"
)


def _limits() -> dict:
    return settings.RATE_LIMITS


def _hotline() -> dict:
    return {"hotline": settings.SERVICE_HOTLINE}


def login_failures(key: str) -> int:
    """Consecutive failures django-axes holds for a login key."""
    total = AccessAttempt.objects.filter(username=key).aggregate(total=Sum("failures_since_start"))[
        "total"
    ]
    return total or 0


def _agent_key(agent: Agent) -> str:
    return normalise_username(agent.user.get_username())


def login_lock_active(key: str, *, now=None) -> bool:
    """Tell whether logins under this key are refused now."""
    lock = LoginLock.objects.filter(key=key).first()
    if lock is not None:
        return lock.is_active(now)
    # Failures counted to the limit before locks were timed hold until lifted.
    return login_failures(key) >= settings.AXES_FAILURE_LIMIT


def agent_is_locked(agent: Agent) -> bool:
    """Tell whether the agent is locked out of password login now."""
    return login_lock_active(_agent_key(agent))


def locked_agent_lock_list(*, employer_id: int, now: datetime.datetime) -> QuerySet[LoginLock]:
    """The locks that keep the unit's agents out of password login at ``now``."""
    keys = Agent.objects.filter(employer_id=employer_id).values("user__username")
    return LoginLock.objects.filter(key__in=keys).filter(Q(held=True) | Q(locked_until__gt=now))


def login_lock_expire(*, key: str, now=None) -> bool:
    """Lift a temporary lock whose time is up, so the failures count from zero again."""
    now = now or timezone.now()
    # Asked at every login: one plain read, and the row lock only when there is a lock to lift.
    if not LoginLock.objects.filter(key=key, held=False, locked_until__lte=now).exists():
        return False
    with transaction.atomic():
        lock = LoginLock.objects.select_for_update().filter(key=key).first()
        if lock is None or lock.held or lock.locked_until is None or lock.locked_until > now:
            return False
        axes_reset(username=key)
        lock.locked_until = None
        lock.save(update_fields=["locked_until", "updated_at"])
    return True


def _lock_minutes(locks_in_day: int) -> int:
    return _limits()["login_lock_minutes"] * 2 ** max(locks_in_day - 1, 0)


def _recent_locks(lock: LoginLock | None, now) -> list[str]:
    if lock is None:
        return []
    since = now - datetime.timedelta(hours=24)
    return [stamp for stamp in lock.lock_times if datetime.datetime.fromisoformat(stamp) > since]


@transaction.atomic
def login_lock_record(*, key: str, agent: Agent | None, request=None, now=None) -> LoginLock:
    """Lock the key after the failure that reached the limit; tell a known agent by SMS.

    The lock lasts login_lock_minutes, doubling with each further lock within 24 hours; the
    login_locks_before_hold-th lock in 24 hours holds until lifted. Unknown keys lock the same way.
    """
    now = now or timezone.now()
    lock, _created = LoginLock.objects.select_for_update().get_or_create(key=key)
    locks = [*_recent_locks(lock, now), now.isoformat()]
    lock.lock_times = locks
    lock.held = len(locks) >= _limits()["login_locks_before_hold"]
    lock.locked_until = (
        None if lock.held else now + datetime.timedelta(minutes=_lock_minutes(len(locks)))
    )
    lock.save()
    audit_log(
        action="agent.locked",
        obj=agent,
        employer_id=agent.employer_id if agent else None,
        request=request,
        details={
            "failures": settings.AXES_FAILURE_LIMIT,
            "locks_in_24h": len(locks),
            "held": lock.held,
            "minutes": 0 if lock.held else _lock_minutes(len(locks)),
        },
    )
    if agent is not None:
        if lock.held:
            text = (
                _g(
                    "【社保网上服务大厅】您的经办人账号24小时内已多次因登录失败被锁定,需解锁后才能"
                    "登录:可在登录页通过“短信验证解锁”,或使用CA证书登录。如非本人操作,请及时修改"
                    "密码或拨打%(hotline)s。"
                )
                % _hotline()
            )
        else:
            text = _g(
                "【社保网上服务大厅】您的经办人账号因连续%(limit)d次登录失败已被锁定%(minutes)d"
                "分钟。可在登录页通过“短信验证解锁”立即解锁。如非本人操作,请及时修改密码。"
            ) % {"limit": settings.AXES_FAILURE_LIMIT, "minutes": _lock_minutes(len(locks))}
        phone = agent.phone
        transaction.on_commit(lambda: send_sms(phone, text))
        # The full notice stays in the agent's 站内消息, read after the next login.
        inbox_message_create(
            employer_id=agent.employer_id,
            agent_id=agent.pk,
            template="agent_locked",
            context={},
            category=InboxCategory.SECURITY,
            fallback=(_g("经办人账号登录锁定"), text.removeprefix(SMS_PREFIX)),
            created_at=now,
        )
    return lock


def login_lock_message(key: str | None) -> str:
    """What a locked login is told: when to try again, or that the lock must be lifted."""
    lock = LoginLock.objects.filter(key=key).first() if key else None
    if lock is None or lock.held or lock.locked_until is None:
        return _g(LOCKED_HELD) % _hotline()
    until = timezone.localtime(lock.locked_until).strftime("%H:%M")
    return _g(LOCKED) % {"until": until}


def bad_credentials_message(key: str | None, message) -> str:
    """The refusal of a wrong password, with the tries left once three have failed."""
    text = str(message)
    if key is None:
        return text
    failures = login_failures(key)
    left = settings.AXES_FAILURE_LIMIT - failures
    if failures >= 3 and left > 0:
        locks = _recent_locks(LoginLock.objects.filter(key=key).first(), timezone.now())
        if len(locks) + 1 < _limits()["login_locks_before_hold"]:
            text += _g(TRIES_LEFT) % {"left": left, "minutes": _lock_minutes(len(locks) + 1)}
        else:
            text += _g("再输错%(left)d次,账号将被锁定,需解锁后才能登录。") % {"left": left}
    return text


@transaction.atomic
def agent_unlock(*, agent: Agent, actor=None, request=None, via: str = "admin") -> int:
    """Lift the agent's lock and clear its failures; return how many attempt records went."""
    key = _agent_key(agent)
    removed = axes_reset(username=key)
    was_locked = LoginLock.objects.filter(key=key).exists()
    LoginLock.objects.filter(key=key).delete()
    audit_log(
        action="agent.unlocked",
        actor=actor,
        obj=agent,
        employer_id=agent.employer_id,
        request=request,
        details={"via": via, "records_cleared": removed, "was_locked": was_locked},
    )
    return removed
