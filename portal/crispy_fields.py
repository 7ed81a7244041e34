"""crispy-bootstrap5's ``{{ field|as_crispy_field }}`` written in Python, byte for byte.

The filter renders bootstrap5/field.html through the template engine: some 60 nodes, three to five
includes, the crispy_field tag resolving its arguments per field. ``crispy_field_html`` writes the
same text from the same field: the literal strings below are those templates' text between their
tags (crispy-bootstrap5's templates/bootstrap5/field.html and layout/*.html). It covers the fields
of a form without a FormHelper, a label_class, a field_class or a wrapper: text-like inputs,
selects, radio and checkbox groups, file inputs (without a current file) and hidden inputs; any
other field (a single checkbox, a MultiWidget, a file input showing its current file), or a
project that overrides one of those templates, goes to crispy's filter.
"""

from __future__ import annotations

from pathlib import Path

import crispy_bootstrap5
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field, optgroups
from crispy_forms.utils import TEMPLATE_PACK
from django import forms
from django.conf import settings
from django.core.signals import setting_changed
from django.forms.boundfield import BoundField
from django.template.loader import get_template
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from portal.form_renderer import _attrs, _text

CRISPY_TEMPLATES = [
    "bootstrap5/field.html",
    "bootstrap5/layout/attrs.html",
    "bootstrap5/layout/field_errors_block.html",
    "bootstrap5/layout/field_file.html",
    "bootstrap5/layout/help_text.html",
    "bootstrap5/layout/help_text_and_errors.html",
    "bootstrap5/layout/radio_checkbox_select.html",
]
_templates_own: list[bool] = []


def templates_are_crispys() -> bool:
    """Whether the templates the functions below copy are crispy-bootstrap5's (once per process)."""
    if not _templates_own:
        package = Path(crispy_bootstrap5.__file__).parent
        _templates_own.append(
            TEMPLATE_PACK == "bootstrap5"
            and all(
                Path(get_template(name).origin.name).is_relative_to(package)
                for name in CRISPY_TEMPLATES
            )
        )
    return _templates_own[0]


def _templates_clear(*, setting, **kwargs):
    if setting in ("TEMPLATES", "INSTALLED_APPS") or setting.startswith("CRISPY_"):
        _templates_own.clear()


setting_changed.connect(_templates_clear)


def _errors_block(field: BoundField, errors) -> str:
    """bootstrap5/layout/field_errors_block.html"""
    if not errors:
        return "\n"
    auto_id = _text(field.auto_id)
    lines = "".join(
        f'\n        <p id="error_{counter}_{auto_id}"><strong>{_text(error)}</strong></p>\n    '
        for counter, error in enumerate(errors, start=1)
    )
    field_id = _text(getattr(errors, "field_id", ""))
    return (
        f'\n    <div id="{field_id}_error" class="invalid-feedback">\n    {lines}\n    </div>\n\n'
    )


def _help_text(field: BoundField) -> str:
    """bootstrap5/layout/help_text.html"""
    help_text = field.help_text
    if not help_text:
        return "\n"
    auto_id = field.auto_id
    id_attr = f'id="{_text(auto_id)}_helptext" ' if auto_id else ""
    return f'\n    \n        <div {id_attr}class="form-text">{str(help_text)}</div>\n    \n\n'


def _help_text_and_errors(field: BoundField, errors) -> str:
    """bootstrap5/layout/help_text_and_errors.html"""
    return f"\n\n\n    {_errors_block(field, errors)}\n\n\n\n    {_help_text(field)}\n\n"


def _unlocalize(value) -> str:
    """{{ value|unlocalize }}"""
    return _text(str(localize(value, use_l10n=False)))


def _radio_checkbox_select(field: BoundField, errors) -> str:
    """bootstrap5/layout/radio_checkbox_select.html"""
    invalid = " is-invalid" if errors else ""
    name = _text(field.html_name)
    groups = list(optgroups(field))
    parts = ["\n\n\n<div >\n\n    "]
    for group_number, (group, options, _index) in enumerate(groups, start=1):
        parts.append(f"\n    {f'<strong>{_text(group)}</strong>' if group else ''}\n    ")
        for number, option in enumerate(options, start=1):
            option_id = _text(option["attrs"]["id"]) if "id" in option["attrs"] else ""
            last = number == len(options) and group_number == len(groups)
            block = (
                f"\n            {_errors_block(field, errors)}\n        " if errors and last else ""
            )
            parts.append(
                f'\n      <div class="form-check">\n        <input type="{_text(option["type"])}"'
                f' class="form-check-input{invalid}"  name="{name}"'
                f' value="{_unlocalize(option["value"])}" {_attrs(option["attrs"])}>\n'
                f'        <label for="{option_id}" class="form-check-label">\n'
                f"            {_unlocalize(option['label'])}\n        </label>\n        {block}"
                "\n     </div>\n    "
            )
        parts.append("\n    ")
    parts.append(f"\n\n</div>\n\n{_help_text(field)}\n")
    return "".join(parts)


def _file_input(field: BoundField, errors, subwidgets) -> str:
    """bootstrap5/layout/field_file.html, for inputs without a current file."""
    parts = ["\n\n"]
    for subwidget in subwidgets:
        data = subwidget.data
        attrs = data["attrs"]
        css = f" {_text(attrs['class'])}" if attrs.get("class") else ""
        invalid = " is-invalid" if errors else ""
        disabled = " disabled" if field.field.disabled else ""
        other = _attrs({name: value for name, value in attrs.items() if name != "class"})
        div_class = ' class="is-invalid"' if errors else ""
        parts.append(
            f"\n\n<div{div_class}>\n"
            f'    <input type="{_text(data["type"])}" name="{_text(data["name"])}"'
            f' class="form-control{css}{invalid}"{disabled}{other}>\n'
            f"    {_help_text_and_errors(field, errors)}\n</div>\n"
        )
    parts.append("\n")
    return "".join(parts)


def _widget_with_class(field: BoundField, css: str) -> str:
    """{% crispy_field field 'class' css %}: the widget's class attribute completed, rendered."""
    widget = field.field.widget
    converters = getattr(settings, "CRISPY_CLASS_CONVERTERS", {})
    class_name = type(widget).__name__.lower()
    class_name = converters.get(class_name, class_name)
    css_class = widget.attrs.get("class", "")
    if css_class:
        if css_class.find(class_name) == -1:
            css_class += f" {class_name}"
    else:
        css_class = class_name
    widget.attrs["class"] = css_class
    for word in css.split():
        if word not in widget.attrs["class"].split():
            widget.attrs["class"] += " " + word
    return str(field)


def _supported(field) -> bool:
    if not isinstance(field, BoundField) or getattr(field.form, "helper", None) is not None:
        return False
    widget = field.field.widget
    return not (
        isinstance(widget, forms.CheckboxInput)
        or hasattr(widget, "widgets")
        or hasattr(widget, "widget")
    )


def crispy_field_html(field) -> SafeString:
    """What ``{{ field|as_crispy_field }}`` renders (crispy's filter for what is not covered)."""
    if not _supported(field) or not templates_are_crispys():
        return as_crispy_field(field)
    if field.is_hidden:
        return mark_safe(f"\n\n\n    {_text(field)}\n\n")
    widget = field.field.widget
    is_file = isinstance(widget, forms.FileInput)
    subwidgets = field.subwidgets if is_file else ()
    if any(subwidget.data.get("is_initial") for subwidget in subwidgets):
        return as_crispy_field(field)
    errors = field.errors
    css_classes = field.css_classes()
    parts = [
        f'\n\n\n    \n    <div id="div_{_text(field.auto_id)}" class="mb-3'
        f'{f" {_text(css_classes)}" if css_classes else ""}">\n        '
    ]
    use_fieldset = field.use_fieldset
    required = field.field.required
    if field.label:
        fieldset = ""
        if use_fieldset:
            described = field.aria_describedby
            described = f' aria-describedby="{_text(described)}"' if described else ""
            fieldset = f"<fieldset{described}>"
        tag = "legend" if use_fieldset else "label"
        asterisk = '<span class="asteriskField">*</span>' if required else ""
        id_for_label = field.id_for_label
        label_for = f'for="{_text(id_for_label)}"' if id_for_label else ""
        parts.append(
            f"\n            {fieldset}\n            <{tag}\n                {label_for}"
            f' class="form-label{" requiredField" if required else ""}'
            f'{" fs-6" if use_fieldset else ""}">\n                {_text(field.label)}{asterisk}'
            f"\n            </{tag}>\n        "
        )
    parts.append("\n\n        ")
    choice_group = isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect))
    if choice_group:
        parts.append(f"\n            {_radio_checkbox_select(field, errors)}\n        ")
    parts.append("\n\n        ")
    if not choice_group:
        if is_file:
            control = _file_input(field, errors, subwidgets)
            after = ""
        else:
            if isinstance(widget, forms.Select):
                html = _widget_with_class(
                    field, "form-select is-invalid" if errors else "form-select"
                )
                control = f"\n                            {html}\n                        "
            else:
                css = "form-control is-invalid" if errors else "form-control"
                control = _widget_with_class(field, css)
            help_and_errors = _help_text_and_errors(field, errors)
            after = f"\n                        {help_and_errors}\n                    "
        parts.append(
            "\n            \n                \n                    "
            f"\n                        {control}\n                    "
            f"\n                    {after}\n                \n            \n        "
        )
    closing = "</fieldset>" if use_fieldset and field.label else ""
    parts.append(f"\n        {closing}\n    </div>\n    \n\n")
    return mark_safe("".join(parts))


# A search form's fields as rendered for a value: (form class, prefix, auto_id, bound, field
# name, language, value, initial) -> the HTML. Only for the form classes in STORED_FORMS.
_STORED: dict[tuple, SafeString] = {}
STORED_MAX = 1000  # a bound, not a size to reach: a few months and insurance types a language
_STORED_VALUE_TYPES = frozenset({str, int, type(None)})


def stored_crispy_field_html(field) -> SafeString:
    """``crispy_field_html(field)``, stored per value for a form whose fields are the same on
    every instance (declared on the class, not changed in __init__) and that opts in with
    ``stored_field_html = True``: the records page's filters, rendered on every search.

    The HTML of such a field depends on the form's class, prefix, auto_id and whether it is
    bound, the field's name, the language (labels, help texts, choices), the value it shows,
    its initial value (the required attribute of some widgets) and its errors: a field with
    errors, or with a value of another type than str, int or None, is rendered each time."""
    if not isinstance(field, BoundField) or not getattr(field.form, "stored_field_html", False):
        return crispy_field_html(field)
    form = field.form
    value, initial = field.value(), field.initial
    if (
        type(value) not in _STORED_VALUE_TYPES
        or type(initial) not in _STORED_VALUE_TYPES
        or field.errors
    ):
        return crispy_field_html(field)
    key = (
        type(form),
        form.prefix,
        form.auto_id,
        form.is_bound,
        field.name,
        get_language(),
        value,
        initial,
    )
    try:
        return _STORED[key]
    except KeyError:
        pass
    html = crispy_field_html(field)
    if len(_STORED) >= STORED_MAX:
        _STORED.clear()
    _STORED[key] = html
    return html


def _stored_clear(**kwargs):
    _STORED.clear()


setting_changed.connect(_stored_clear)
