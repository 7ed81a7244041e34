"""Form fields the apps share."""

from __future__ import annotations

from django import forms
from django.forms.models import ModelChoiceIterator


class QuerySetChoiceIterator(ModelChoiceIterator):
    """A ModelChoiceIterator that reads the queryset as a list, kept for the form's life.

    Django's iterates ``queryset.iterator()``: each rendering queries again, on PostgreSQL through
    a server-side cursor (DECLARE, FETCH, CLOSE) — the slowest query of a page for a list of ten.
    The field's queryset is the form's own copy, so its result is the form's, cached for one
    request; the choices, their order and labels are the same.
    """

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ShortModelChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField for a short list (a select of a few dozen rows), read once per form."""

    iterator = QuerySetChoiceIterator
