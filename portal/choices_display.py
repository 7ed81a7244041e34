"""``get_FOO_display()`` read from the field's choices made into a dict once per field."""

from __future__ import annotations

from django.db import models
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable

# field -> (its choices, {value: label}): the labels stay lazy, translated on each call.
_CHOICES: dict = {}


class StoredChoicesDisplay:
    """A model mixin for the models the busiest pages print statuses of: Django's
    ``get_FOO_display()`` makes a dict of the field's flattened choices on every call, hashing
    (so translating) each lazy label, some 20 us a call; this one makes it once per field and
    prints the same (a label in the active language, or the value itself when it is no
    choice). Choices given by a callable go Django's way."""

    def _get_FIELD_display(self, field):
        choices = field.choices
        if not isinstance(choices, list | tuple):
            return models.Model._get_FIELD_display(self, field)
        stored = _CHOICES.get(field)
        if stored is None or stored[0] is not choices:
            stored = _CHOICES[field] = (choices, dict(make_hashable(field.flatchoices)))
        value = getattr(self, field.attname)
        return force_str(stored[1].get(make_hashable(value), value), strings_only=True)
