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


def portal(request):
    """Expose the navigation and portal-wide constants to every template."""
    return {
        "portal_name": settings.PORTAL_NAME,
        "service_hotline": settings.SERVICE_HOTLINE,
        "nav_modules": nav_modules_for(request),
    }
