"""Choosing an external service's implementation (bank, face provider) from a setting."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

T = TypeVar("T")


def adapter_from_setting(setting: str, known: Mapping[str, Callable[[], T]], what: str) -> T:
    """Return an instance of the class the setting names: a key of ``known`` (default
    "sandbox") or a dotted path to a class. An unknown name is a configuration error."""
    name = getattr(settings, setting, "sandbox")
    if name in known:
        return known[name]()
    try:
        return import_string(name)()
    except ImportError as exc:
        raise ImproperlyConfigured(f"{setting} {name!r} is not a known {what}") from exc
