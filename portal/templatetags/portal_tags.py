"""Template helpers for the portal layout: the current module's menu and message styling."""

import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django import forms, template
from django.contrib.messages import constants
from django.core.signals import setting_changed
from django.template.defaulttags import CsrfTokenNode, IfNode
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from portal.crispy_fields import crispy_field_html, stored_crispy_field_html
from portal.form_renderer import _formatted
from portal.navigation import MenuItem, Module, module_by_key
from portal.templatetags.row_tags import split_at_markers

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
    if type(value) is Decimal:
        # A Decimal is its own str() read back (exact, whatever the context): format it as it is.
        try:
            return f"{value:,.2f}"
        except (InvalidOperation, ValueError):
            return str(value)
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


@register.filter
def as_crispy_field_stored(field):
    """``field|as_crispy_field_fast``, stored per value for a form with ``stored_field_html``
    (portal.crispy_fields.stored_crispy_field_html)."""
    return stored_crispy_field_html(field)


# A fragment of the layout that is the same on every page for the same few values -----------

# (name, language, (script prefix, urlconf), the key values) -> the rendered fragment: its text,
# or its text split at its slots (see ConstantFragmentNode).
_FRAGMENTS: dict[tuple, object] = {}
FRAGMENTS_MAX = 2000  # a bound, not a size to reach: the keys are few (language × module × page)

# The fragment being rendered into the store, in the render context: its slots print markers.
_STORING = "portal_tags.constant_fragment"
_WHERE = "portal_tags.script_prefix_urlconf"
_PLAIN_KEY_TYPES = frozenset({str, int, bool, type(None)})


def _fragment_key_part(value):
    """A hashable stand-in for a value a fragment depends on: a module by its key and its items'
    URL names (which items an agent may see), a list item by item."""
    if type(value) in _PLAIN_KEY_TYPES:
        return value
    if isinstance(value, Module):
        return (value.key, tuple(item.url_name for item in value.items))
    if isinstance(value, (list, tuple)):
        return tuple(_fragment_key_part(item) for item in value)
    hash(value)  # anything else must be a constant such as a str, an int, a bool or None
    return value


def _stored(context, name: str, key_values: tuple, make):
    """The store's entry for ``name`` and ``key_values`` in the current language, script prefix
    and urlconf, made by ``make()`` the first time."""
    # The prefix and the urlconf are the request's: looked up once per render (each is an
    # asgiref local, slow to read); the language each time, since {% language %} may change it.
    render_context = context.render_context
    where = render_context.get(_WHERE)
    if where is None:
        where = render_context[_WHERE] = (get_script_prefix(), get_urlconf())
    key = (name, get_language(), where, key_values)
    try:
        return _FRAGMENTS[key]
    except KeyError:
        pass
    value = make()
    if len(_FRAGMENTS) >= FRAGMENTS_MAX:
        _FRAGMENTS.clear()
    _FRAGMENTS[key] = value
    return value


def fragments_clear(**kwargs) -> None:
    _FRAGMENTS.clear()
    _FORM_FRAGMENTS.clear()


setting_changed.connect(fragments_clear)


@register.simple_tag(takes_context=True)
def active_menu_item(context, module: Module | None) -> int | None:
    """Return the index of the first of the module's items whose URL is the request's path (the
    one the side menu marks as current), or None: a key for the side menu that stays as small
    as the menu, whatever the page's address."""
    request = context.get("request")
    if not module or request is None:
        return None
    urls = _stored(
        context,
        "menu item urls",
        _fragment_key_part(module),
        lambda: [menu_item_url(item) for item in module.items],
    )
    return next((index for index, url in enumerate(urls) if url and url == request.path), None)


class SlotNode(template.Node):
    """A part of a constant fragment rendered on every request (see constant_fragment)."""

    def __init__(self, nodelist):
        self.nodelist = nodelist
        self.fragment, self.index = None, None

    def render(self, context):
        if self.fragment is not None and context.render_context.get(_STORING) is self.fragment:
            return f"\x00{self.index}\x00"
        return self.nodelist.render(context)


class ConstantFragmentNode(template.Node):
    # The inside is printed from the store, never looked into: this keeps Django from walking
    # it on every page that extends base.html ({% extends %} collects the parent's blocks with
    # get_nodes_by_type), and there is no block inside (constant_fragment refuses one).
    child_nodelists = ()

    def __init__(self, name: str, values: list, nodelist, slots: list[SlotNode]):
        self.name, self.values, self.nodelist, self.slots = name, values, nodelist, slots
        for index, slot in enumerate(slots):
            slot.fragment, slot.index = self, index

    def render(self, context):
        key_values = tuple([_fragment_key_part(value.resolve(context)) for value in self.values])
        stored = _stored(context, self.name, key_values, lambda: self._render_for_store(context))
        if not self.slots:
            return stored
        head, rest = stored
        out = [head]
        for index, text in rest:
            out.append(self.slots[index].nodelist.render(context))
            out.append(text)
        return "".join(out)

    def _render_for_store(self, context):
        """The fragment's text; with slots, split at them: the text up to the first slot, then
        each slot's index with the text that follows it."""
        if not self.slots:
            return self.nodelist.render(context)
        render_context = context.render_context
        outer = render_context.get(_STORING)
        render_context[_STORING] = self
        try:
            text = self.nodelist.render(context)
        finally:
            render_context[_STORING] = outer
        return split_at_markers(
            text, f"constant_fragment {self.name!r}: a slot was changed on its way to the text"
        )


def _fragment_slots(nodelist, name: str) -> list[SlotNode]:
    """The slots of a fragment's body; refuse what must not be stored: a CSRF token outside a
    slot (it is new on every request), a block (a child template may replace it) and a fragment
    inside a fragment. A slot is rendered with the context the fragment starts with, so it may
    sit in {% if %}s but not in a {% for %} or {% with %} that would give it other values."""
    slots = []
    for node in nodelist:
        if isinstance(node, SlotNode):
            slots.append(node)
            continue
        if isinstance(node, (CsrfTokenNode, BlockNode, ConstantFragmentNode)):
            raise template.TemplateSyntaxError(
                f"constant_fragment {name!r}: no {type(node).__name__} outside a slot"
            )
        for attr in node.child_nodelists:
            inner = _fragment_slots(getattr(node, attr, None) or (), name)
            if inner and not isinstance(node, IfNode):
                raise template.TemplateSyntaxError(
                    f"constant_fragment {name!r}: a slot may sit in an if, not in a "
                    f"{type(node).__name__}"
                )
            slots.extend(inner)
    return slots


@register.tag
def constant_fragment(parser, token):
    """``{% constant_fragment "name" value … %}…{% endconstant_fragment %}``: render the part
    once per process for each language, script prefix, urlconf and the values given, and print
    the stored text afterwards.

    For the parts of the layout every page repeats (the header, the navigation, the footer, the
    top bar): the part must depend on nothing but the values given (translations and {% url %}
    are covered by the language, prefix and urlconf) — never on the user's data, a CSRF token or
    the request's address, except inside ``{% slot %}…{% endslot %}``: a slot is rendered on
    every request and put in its place in the stored text (a name, a count, a token). Settings
    changes (tests) clear the store."""
    bits = token.split_contents()
    if len(bits) < 2 or bits[1][0] not in "\"'" or bits[1][-1] != bits[1][0]:
        raise template.TemplateSyntaxError(f"{bits[0]} takes a quoted name, then values")
    nodelist = parser.parse(("endconstant_fragment",))
    parser.delete_first_token()
    values = [parser.compile_filter(bit) for bit in bits[2:]]
    name = bits[1][1:-1]
    return ConstantFragmentNode(name, values, nodelist, _fragment_slots(nodelist, name))


@register.tag
def slot(parser, token):
    """``{% slot %}…{% endslot %}``: inside a constant_fragment, a part rendered on every
    request; anywhere else, rendered as if the tags were not there."""
    if len(token.split_contents()) != 1:
        raise template.TemplateSyntaxError("slot takes no arguments")
    nodelist = parser.parse(("endslot",))
    parser.delete_first_token()
    return SlotNode(nodelist)


# An unbound form: the same for every request but for a per-page value or two -----------------

# (name, language, script prefix, urlconf, the form's key, the key values) -> (the text before
# the first per-request value, [(its index, the text after it), …]).
_FORM_FRAGMENTS: dict[tuple, tuple[str, list[tuple[int, str]]]] = {}
# A bound, not a size to reach: the add-employee form is some 30 kB (Chinese text takes two
# bytes a character) for each language × region in use × its bounds, 6 MB at most.
FORM_FRAGMENTS_MAX = 200


def _form_key(form, fill: list[str]) -> tuple | None:
    """What the unbound form's HTML depends on, or None when it may not be stored: a bound form
    shows the user's input, an initial value other than the per-request ones is not in the key,
    and a form that cannot tell what its HTML depends on (``unbound_html_key``) is rendered."""
    if form.is_bound or set(form.initial) != set(fill):
        return None
    own = getattr(form, "unbound_html_key", None)
    own = own() if own is not None else None
    if own is None:
        return None
    return (
        type(form),
        form.prefix,
        form.auto_id,
        form.label_suffix,
        form.use_required_attribute,
        own,
    )


_SCALARS = (str, int, Decimal, datetime.date, type(None))


def _value_key_part(value):
    """A key for a value the part prints: a list item by item, a plain value with its type and
    its text (Decimal("1.0") equals Decimal("1.00") but prints otherwise); nothing else, since
    an object's text need not be all the part reads of it."""
    if isinstance(value, (list, tuple)):
        return tuple(_value_key_part(item) for item in value)
    if not isinstance(value, _SCALARS):
        raise TypeError(f"unbound_form_fragment: {type(value).__name__} is no key value")
    return (type(value), str(value))


def _fill_text(field) -> str | None:
    """What a hidden input prints as its value (portal.form_renderer), None for anything else."""
    widget = field.field.widget
    if not isinstance(widget, forms.HiddenInput) or isinstance(widget, forms.MultipleHiddenInput):
        return None
    value = widget.format_value(field.value())
    return None if value is None else _formatted(value)


def _split_at(text: str, fills: list[str]) -> tuple[str, list[tuple[int, str]]] | None:
    """The text cut at each per-request value, which must occur exactly once (else None)."""
    if any(not fill or text.count(fill) != 1 for fill in fills):
        return None
    cuts = sorted((text.index(fill), index) for index, fill in enumerate(fills))
    head_end = cuts[0][0] if cuts else len(text)
    pieces = []
    for number, (start, index) in enumerate(cuts):
        end = start + len(fills[index])
        following = cuts[number + 1][0] if number + 1 < len(cuts) else len(text)
        if following < end:  # one value inside another: nothing to cut cleanly
            return None
        pieces.append((index, text[end:following]))
    return text[:head_end], pieces


class UnboundFormFragmentNode(template.Node):
    def __init__(self, name: str, form, fill: list[str], values: list, nodelist):
        self.name, self.form, self.fill = name, form, fill
        self.values, self.nodelist = values, nodelist

    def render(self, context):
        form = self.form.resolve(context)
        form_key = _form_key(form, self.fill)
        if form_key is None:
            return self.nodelist.render(context)
        fills = [_fill_text(form[name]) for name in self.fill]
        if None in fills:
            return self.nodelist.render(context)
        key = (
            self.name,
            get_language(),
            get_script_prefix(),
            get_urlconf(),
            form_key,
            tuple(_value_key_part(value.resolve(context)) for value in self.values),
        )
        stored = _FORM_FRAGMENTS.get(key)
        if stored is None:
            rendered = self.nodelist.render(context)
            stored = _split_at(rendered, fills)
            if stored is None:
                return rendered
            if len(_FORM_FRAGMENTS) >= FORM_FRAGMENTS_MAX:
                _FORM_FRAGMENTS.clear()
            _FORM_FRAGMENTS[key] = stored
        head, pieces = stored
        return mark_safe(head + "".join(fills[index] + text for index, text in pieces))


@register.tag
def unbound_form_fragment(parser, token):
    """``{% unbound_form_fragment "name" form "field" … with value … %}…{% end… %}``: render
    the part once per process for an unbound form, each language, script prefix, urlconf and
    the values after ``with``, and print the stored text afterwards with this request's values
    of the hidden fields named (a per-page token) put back in.

    The form must say what else its HTML depends on (``form.unbound_html_key()``: the choices
    it offers, …) and have no initial values but those fields'; a bound form, which shows the
    user's input and errors, is always rendered. The part must depend on nothing else: the
    values after ``with`` are the context it reads (a region's name and bounds), and never a
    CSRF token or the request's address. Settings changes (tests) clear the store."""
    bits = token.split_contents()
    if len(bits) < 3 or bits[1][0] not in "\"'" or bits[1][-1] != bits[1][0]:
        raise template.TemplateSyntaxError(f"{bits[0]} takes a quoted name, a form, then fields")
    rest = bits[3:]
    split = rest.index("with") if "with" in rest else len(rest)
    fill, values = rest[:split], rest[split + 1 :]
    if any(len(name) < 2 or name[0] not in "\"'" or name[-1] != name[0] for name in fill):
        raise template.TemplateSyntaxError(f"{bits[0]}: the per-request fields are quoted names")
    nodelist = parser.parse(("endunbound_form_fragment",))
    parser.delete_first_token()
    return UnboundFormFragmentNode(
        bits[1][1:-1],
        parser.compile_filter(bits[2]),
        [name[1:-1] for name in fill],
        [parser.compile_filter(bit) for bit in values],
        nodelist,
    )
