"""get_FOO_display() of the models with portal.choices_display.StoredChoicesDisplay: what
Django's own prints, for every choice of every field with choices, a value that is no choice,
an empty one and None, in zh and en, the store made in one language and read in the other."""

from __future__ import annotations

import pytest
from django.db import models
from django.utils import translation

from contributions.models import CollectionOrder, MonthlyBill, Payment
from employers.models import Employer
from portal import choices_display
from portal.choices_display import StoredChoicesDisplay

MODELS = [Employer, MonthlyBill, Payment, CollectionOrder]


def _fields_with_choices(model):
    return [field for field in model._meta.concrete_fields if field.choices]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_the_display_is_djangos(model, monkeypatch):
    monkeypatch.setattr(choices_display, "_CHOICES", {})
    fields = _fields_with_choices(model)
    assert fields and all(isinstance(field.choices, list) for field in fields)
    seen = set()
    for _time in range(2):
        for language in ("en", "zh-hans"):
            with translation.override(language):
                for field in fields:
                    values = [value for value, _label in field.flatchoices]
                    for value in [*values, "no such value", "", None]:
                        instance = model()
                        setattr(instance, field.attname, value)
                        shown = getattr(instance, f"get_{field.name}_display")()
                        expected = models.Model._get_FIELD_display(instance, field)
                        assert shown == expected and type(shown) is type(expected), value
                        seen.add((language, shown))
    assert set(choices_display._CHOICES) == set(fields)
    # The labels differ by language: the store keeps them lazy.
    assert (
        len(
            {shown for language, shown in seen if language == "en"}
            ^ {shown for language, shown in seen if language == "zh-hans"}
        )
        > 0
    )


def test_the_models_read_the_stored_choices():
    for model in MODELS:
        assert issubclass(model, StoredChoicesDisplay)
        field = _fields_with_choices(model)[0]
        method = model.__dict__[f"get_{field.name}_display"]  # Django's partialmethod
        assert method.func is StoredChoicesDisplay._get_FIELD_display


def test_callable_choices_go_djangos_way(monkeypatch):
    field = Employer._meta.get_field("status")
    instance = Employer(status="active")
    choices = list(field.choices)
    monkeypatch.setattr(field, "choices", lambda: choices)  # a callable's: not stored
    monkeypatch.setattr(choices_display, "_CHOICES", {})
    calls = []
    real = models.Model._get_FIELD_display
    monkeypatch.setattr(
        models.Model,
        "_get_FIELD_display",
        lambda self, field: calls.append(field) or real(self, field),
    )
    instance.get_status_display()
    assert calls == [field] and not choices_display._CHOICES
