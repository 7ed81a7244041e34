"""Who may do what: the one place that maps permissions to the roles of DESIGN.md section 6.

Views declare the permission they need (``permission = "enrollment.add"`` on a class view, or
``@permission_required("enrollment.add")`` on a function view); menus and home tiles are filtered
with the same table, so an agent sees exactly what the server lets it do.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from employers.models import Agent, Employer, Role

ALL_ROLES = frozenset(Role.values)
ADMIN = frozenset({Role.UNIT_ADMIN.value})


def _roles(*roles: Role) -> frozenset[str]:
    # The unit admin may do everything (DESIGN.md section 6), so it is part of every entry.
    return ADMIN | {role.value for role in roles}


PERMISSIONS: dict[str, frozenset[str]] = {
    # 单位信息管理: every agent may read the unit's details; only the admin changes them.
    "unit.view": ALL_ROLES,
    "unit.manage": ADMIN,
    "agents.manage": ADMIN,
    # 增减员经办
    "enrollment.add": _roles(Role.ENROLMENT),
    "enrollment.remove": _roles(Role.ENROLMENT),
    "enrollment.batch": _roles(Role.ENROLMENT),
    "enrollment.roster": _roles(Role.ENROLMENT),
    # 缴费申报员
    "contributions.declare": _roles(Role.CONTRIBUTIONS),
    "contributions.monthly": _roles(Role.CONTRIBUTIONS),
    "contributions.pay": _roles(Role.CONTRIBUTIONS),
    # 信息查询员: read-only
    "queries.view": _roles(Role.QUERIES),
    "queries.export": _roles(Role.QUERIES),
    "proofs.print": _roles(Role.QUERIES),
    # 待遇申领员
    "benefits.claim": _roles(Role.BENEFITS),
}

REQUEST_CACHE_ATTR = "_portal_agent"
NOT_AN_AGENT = _("此页面供参保单位经办人使用。社保经办人员请从“经办管理”进入后台办理。")
AGENT_DISABLED = _("您的经办人账号已停用,请联系本单位管理员启用后再登录。")
UNIT_NOT_ACTIVE = _("本单位账号当前不可办理业务(%(status)s),请拨打服务热线或到经办窗口咨询。")


def roles_for_permission(name: str) -> frozenset[str]:
    """Return the roles that grant ``name``; an unknown name is a programming error."""
    try:
        return PERMISSIONS[name]
    except KeyError:
        raise ImproperlyConfigured(f"unknown permission {name!r}; add it to PERMISSIONS") from None


def role_labels_for_permission(name: str) -> list[str]:
    """Return the Chinese names of the roles that grant ``name``, the admin last."""
    roles = roles_for_permission(name)
    return [
        Role(role).label for role in Role.values if role in roles and role != Role.UNIT_ADMIN
    ] + [Role.UNIT_ADMIN.label]


def agent_has_permission(agent: Agent | None, name: str) -> bool:
    """Tell whether an enabled agent holds a role that grants the permission ``name``."""
    granting = roles_for_permission(name)
    if agent is None or not agent.is_active:
        return False
    return not granting.isdisjoint(agent.roles)


def agent_permissions(agent: Agent | None) -> frozenset[str]:
    """Return every permission the agent holds."""
    return frozenset(name for name in PERMISSIONS if agent_has_permission(agent, name))


def request_agent(request: HttpRequest) -> Agent | None:
    """Return the agent behind the logged-in user (with its unit), loaded once per request."""
    if not hasattr(request, REQUEST_CACHE_ATTR):
        agent = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            agent = Agent.objects.select_related("employer").filter(user_id=user.pk).first()
            if agent is not None:
                agent.user = user  # reuse the loaded user; no second query for agent.user
        setattr(request, REQUEST_CACHE_ATTR, agent)
    return getattr(request, REQUEST_CACHE_ATTR)


def check_agent(request: HttpRequest) -> HttpResponse | None:
    """Return the response that stops a request without a working agent, or None to go on."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    agent = request_agent(request)
    if agent is None:
        raise PermissionDenied(NOT_AN_AGENT)
    if not agent.is_active:
        # A disabled agent's session ends at its next request for an agent's page.
        logout(request)
        setattr(request, REQUEST_CACHE_ATTR, None)
        messages.error(request, AGENT_DISABLED)
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    employer = agent.employer
    if employer.status != Employer.Status.ACTIVE:
        reference = employer.application.reference if hasattr(employer, "application") else None
        if reference and employer.status != Employer.Status.DISABLED:
            return redirect("employers:register_status", reference=reference)
        raise PermissionDenied(UNIT_NOT_ACTIVE % {"status": employer.get_status_display()})
    return None


def permission_denied_response(request: HttpRequest, name: str) -> HttpResponse:
    """The 403 page that names the roles that would allow ``name`` and who can grant them."""
    return TemplateResponse(
        request,
        "403.html",
        {"required_roles": role_labels_for_permission(name), "permission": name},
        status=403,
    )


class AgentRequiredMixin:
    """Let through only a logged-in, enabled agent of an active unit; ``self.agent`` is it."""

    agent: Agent

    def dispatch(self, request, *args, **kwargs):
        stop = check_agent(request)
        if stop is not None:
            return stop
        self.agent = request_agent(request)
        denied = self.deny(request)
        if denied is not None:
            return denied
        return super().dispatch(request, *args, **kwargs)

    def deny(self, request) -> HttpResponse | None:
        """Return a refusal for this agent, or None to let it through."""
        return None


class PermissionRequiredMixin(AgentRequiredMixin):
    """Also require the permission named by the class attribute ``permission``."""

    permission: str = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.permission:
            roles_for_permission(cls.permission)  # a misspelt name fails at import

    def deny(self, request) -> HttpResponse | None:
        if not self.permission:
            raise ImproperlyConfigured(f"{type(self).__name__} must declare a permission")
        if not agent_has_permission(self.agent, self.permission):
            return permission_denied_response(request, self.permission)
        return None


def agent_required(view: Callable) -> Callable:
    """Decorate a function view: only a working agent; ``request.agent`` is set."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        stop = check_agent(request)
        if stop is not None:
            return stop
        request.agent = request_agent(request)
        return view(request, *args, **kwargs)

    return wrapper


def permission_required(name: str) -> Callable[[Callable], Callable]:
    """Decorate a function view with the permission it needs; ``request.agent`` is set."""
    roles_for_permission(name)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            stop = check_agent(request)
            if stop is not None:
                return stop
            request.agent = request_agent(request)
            if not agent_has_permission(request.agent, name):
                return permission_denied_response(request, name)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
