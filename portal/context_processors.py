from django.conf import settings

from portal.navigation import MODULES, modules_for


def nav_modules_for(request) -> list:
    """The modules an agent may use; visitors and clerks see the whole catalogue."""
    # The top of the project may import every app (DESIGN.md section 2).
    from employers.permissions import agent_has_permission, request_agent

    agent = request_agent(request)
    if agent is None:
        return MODULES
    return modules_for(lambda permission: agent_has_permission(agent, permission))


def greeting_name(request) -> str:
    """Whom the header greets: an agent by name (its login name is an internal key), a clerk by
    full name or user name."""
    from employers.permissions import request_agent

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    agent = request_agent(request)
    if agent is not None:
        return agent.name
    return user.get_full_name() or user.get_username()


def inbox_unread(request) -> int | None:
    """How many inbox messages the agent has not read (one query); None off agent pages."""
    from employers.inbox.selectors import inbox_unread_count
    from employers.models import Employer
    from employers.permissions import request_agent

    agent = request_agent(request)
    if agent is None or not agent.is_active or agent.employer.status != Employer.Status.ACTIVE:
        return None
    return inbox_unread_count(agent=agent)


def portal(request):
    """Expose the navigation and portal-wide constants to every template."""
    return {
        "portal_name": settings.PORTAL_NAME,
        "service_hotline": settings.SERVICE_HOTLINE,
        "nav_modules": nav_modules_for(request),
        "greeting_name": greeting_name(request),
        "inbox_unread": inbox_unread(request),
    }
