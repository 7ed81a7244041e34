"""The form renderer (settings.FORM_RENDERER): Django's, with its plainest widget templates done in
Python.

Each widget of a page went through the template engine: a context, an include of input.html and
attrs.html, and for a select one include per option. The functions below write the same bytes as
Django's own templates (django/forms/templates/django/forms/widgets/) from the same context; a
template name is rendered in Python only while the engine would load Django's own file for it and
for every template it includes, so a project or app that overrides one gets its template.
"""

from __future__ import annotations

from pathlib import Path

import django.forms
from django.forms.renderers import DjangoTemplates
from django.template.base import render_value_in_context
from django.template.context import Context
from django.utils.html import escape
from django.utils.safestring import SafeData

WIDGETS = "django/forms/widgets/"
DJANGO_FORM_TEMPLATES = Path(django.forms.__file__).parent / "templates"

# What {{ value }} does in a template: autoescape on, localisation as the settings say.
_CONTEXT = Context()


def _text(value) -> str:
    """{{ value }}"""
    if type(value) is str:  # neither safe nor lazy: what render_value_in_context does to it
        return escape(value)
    return render_value_in_context(value, _CONTEXT)


def _formatted(value) -> str:
    """{{ value|stringformat:'s' }}: the filter keeps a safe string safe, escapes anything else."""
    try:
        text = "%s" % (str(value) if isinstance(value, tuple) else value)
    except (ValueError, TypeError):
        return ""
    return text if isinstance(value, SafeData) else escape(text)


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html"""
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{_formatted(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input(widget: dict) -> str:
    """django/forms/widgets/input.html (and the templates that only include it)."""
    value = widget["value"]
    value = "" if value is None else f' value="{_formatted(value)}"'
    return (
        f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}'
        f"{_attrs(widget['attrs'])}>"
    )


def _option(option: dict) -> str:
    """django/forms/widgets/select_option.html, with its closing newline."""
    return (
        f'<option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
        f"{_text(option['label'])}</option>\n"
    )


def _select(widget: dict) -> str | None:
    """django/forms/widgets/select.html; None when an option has a template of its own."""
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            if option["template_name"] != WIDGETS + "select_option.html":
                return None
            parts.append("\n  " + _option(option))
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _textarea(widget: dict) -> str:
    """django/forms/widgets/textarea.html"""
    value = _text(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'


INPUT_TEMPLATES = [
    "checkbox",
    "color",
    "date",
    "datetime",
    "email",
    "file",
    "hidden",
    "number",
    "password",
    "search",
    "tel",
    "text",
    "time",
    "url",
]
# Template name → (the function, the templates whose text it reproduces).
PYTHON_TEMPLATES = {
    **{
        f"{WIDGETS}{name}.html": (
            _input,
            (f"{WIDGETS}{name}.html", WIDGETS + "input.html", WIDGETS + "attrs.html"),
        )
        for name in INPUT_TEMPLATES
    },
    WIDGETS + "select.html": (
        _select,
        (WIDGETS + "select.html", WIDGETS + "select_option.html", WIDGETS + "attrs.html"),
    ),
    WIDGETS + "textarea.html": (_textarea, (WIDGETS + "textarea.html", WIDGETS + "attrs.html")),
}


class PortalFormRenderer(DjangoTemplates):
    """Django's DjangoTemplates renderer; the widget templates above rendered in Python."""

    def __init__(self):
        super().__init__()
        self._own: dict[str, bool] = {}

    def _django_own(self, template_name: str) -> bool:
        """Whether the engine loads Django's own file for the name (checked once per name)."""
        own = self._own.get(template_name)
        if own is None:
            origin = Path(self.get_template(template_name).origin.name)
            own = self._own[template_name] = origin.is_relative_to(DJANGO_FORM_TEMPLATES)
        return own

    def render(self, template_name, context, request=None):
        python = PYTHON_TEMPLATES.get(template_name)
        if python is not None and "widget" in context:
            render, sources = python
            if all(self._django_own(name) for name in sources):
                html = render(context["widget"])
                if html is not None:
                    return html
        return super().render(template_name, context, request=request)
