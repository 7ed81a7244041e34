"""Template helpers for the portal layout: the current module's menu and message styling."""

import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django import template
from django.contrib.messages import constants
from django.core.signals import setting_changed
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language

from portal.crispy_fields import crispy_field_html
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


@lru_cache(maxsize=1024)
def month_label(month: datetime.date) -> str:
    """A month as 2026-07; a page's rows share a few months, each formatted once a process."""
    return month.strftime("%Y-%m")


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


@register.filter
def as_crispy_field_fast(field):
    """``field|as_crispy_field`` (crispy-bootstrap5), the same HTML written in Python."""
    return crispy_field_html(field)


# A fragment of the layout that is the same on every page for the same few values -----------

# (name, language, script prefix, urlconf, the key values) -> the rendered fragment.
_FRAGMENTS: dict[tuple, str] = {}
FRAGMENTS_MAX = 2000  # a bound, not a size to reach: the keys are few (language × module × page)


def _fragment_key_part(value):
    """A hashable stand-in for a value a fragment depends on: a module by its key and its items'
    URL names (which items an agent may see), a list item by item."""
    if isinstance(value, Module):
        return (value.key, tuple(item.url_name for item in value.items))
    if isinstance(value, (list, tuple)):
        return tuple(_fragment_key_part(item) for item in value)
    hash(value)  # anything else must be a constant such as a str, an int, a bool or None
    return value


def fragments_clear(**kwargs) -> None:
    _FRAGMENTS.clear()


setting_changed.connect(fragments_clear)


class ConstantFragmentNode(template.Node):
    def __init__(self, name: str, values: list, nodelist):
        self.name, self.values, self.nodelist = name, values, nodelist

    def render(self, context):
        key = (
            self.name,
            get_language(),
            get_script_prefix(),
            get_urlconf(),
            tuple(_fragment_key_part(value.resolve(context)) for value in self.values),
        )
        try:
            return _FRAGMENTS[key]
        except KeyError:
            pass
        rendered = self.nodelist.render(context)
        if len(_FRAGMENTS) >= FRAGMENTS_MAX:
            _FRAGMENTS.clear()
        _FRAGMENTS[key] = rendered
        return rendered


@register.tag
def constant_fragment(parser, token):
    """``{% constant_fragment "name" value … %}…{% endconstant_fragment %}``: render the part
    once per process for each language, script prefix, urlconf and the values given, and print
    the stored text afterwards.

    For the parts of the layout every page repeats (the header, the navigation, the footer):
    the part must depend on nothing but the values given (translations and {% url %} are
    covered by the language, prefix and urlconf) — never on the user's data, a CSRF token or
    the request's address. Settings changes (tests) clear the store."""
    bits = token.split_contents()
    if len(bits) < 2 or bits[1][0] not in "\"'" or bits[1][-1] != bits[1][0]:
        raise template.TemplateSyntaxError(f"{bits[0]} takes a quoted name, then values")
    nodelist = parser.parse(("endconstant_fragment",))
    parser.delete_first_token()
    values = [parser.compile_filter(bit) for bit in bits[2:]]
    return ConstantFragmentNode(bits[1][1:-1], values, nodelist)
