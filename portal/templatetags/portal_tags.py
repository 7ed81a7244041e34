"""Template helpers for the portal layout: the current module's menu and message styling."""

from decimal import Decimal, InvalidOperation

from django import template
from django.contrib.messages import constants
from django.urls import reverse

from portal.navigation import MenuItem, Module, module_by_key

register = template.Library()

# Bootstrap has no "error" or "debug" alert; map Django's message levels onto its colours.
ALERT_CLASSES = {
    constants.DEBUG: "secondary",
    constants.INFO: "info",
    constants.SUCCESS: "success",
    constants.WARNING: "warning",
    constants.ERROR: "danger",
}


@register.filter
def module_for_key(key: str, modules=None) -> Module | None:
    """Return the module whose key is given, from ``modules`` (the agent's) when passed."""
    if not key:
        return None
    if modules is None:
        return module_by_key(key)
    return next((module for module in modules if module.key == key), None)


@register.simple_tag
def menu_item_url(item: MenuItem) -> str:
    """Return the URL of a menu item, or "" while the item has no page yet."""
    return reverse(item.url_name) if item.url_name else ""


@register.simple_tag
def module_url(module: Module) -> str:
    """Return the URL of a module's first page, or its tile on the home page until it has one."""
    for item in module.items:
        if item.url_name:
            return reverse(item.url_name)
    return f"{reverse('home')}#module-{module.key}"


@register.filter
def alert_class(message) -> str:
    """Return the Bootstrap alert colour for a Django message."""
    return ALERT_CLASSES.get(message.level, "info")


@register.filter
def is_urgent(message) -> bool:
    """Tell whether a message should interrupt a screen reader (role="alert")."""
    return message.level >= constants.WARNING


@register.filter
def money(value) -> str:
    """An amount in yuan with thousands separators and two decimals: 1,177,151.93."""
    if value in (None, ""):
        return ""
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value)


@register.filter
def percent(value) -> str:
    """A rate as a percentage without trailing zeros: 0.16 → 16%, 0.005 → 0.5%."""
    if value in (None, ""):
        return ""
    try:
        number = (Decimal(str(value)) * 100).normalize()
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{number:f}%"
