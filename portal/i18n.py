"""Lazy text built from lazy translations, for texts made once at import time (a form field's
help text): ``gettext_lazy(...) % values`` or ``+`` would translate at import, in the default
language, and every page would show that text in Chinese whatever language it is shown in."""

from __future__ import annotations

from django.utils.functional import lazy


def _format(message, values) -> str:
    return str(message) % values


def _join(separator, parts) -> str:
    return str(separator).join(str(part) for part in parts)


def lazy_format(message, **values):
    """``message % values``, translated when it is shown."""
    return lazy(_format, str)(message, values)


def lazy_join(*parts, separator=" "):
    """The parts joined, each translated when it is shown."""
    return lazy(_join, str)(separator, parts)
