from django.conf import settings

from portal.navigation import MODULES


def portal(request):
    """Expose the navigation and portal-wide constants to every template."""
    return {
        "portal_name": settings.PORTAL_NAME,
        "service_hotline": settings.SERVICE_HOTLINE,
        "nav_modules": MODULES,
    }
