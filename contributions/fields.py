"""Form fields the contribution pages share."""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributions.common import parse_month


def current_month() -> datetime.date:
    return timezone.localdate().replace(day=1)


class PastMonthField(forms.CharField):
    """A month typed as 2026-07 (also 202607, 2026/07, 2026-07-01), returned as its first day;
    never later than the current month nor earlier than ``earliest``.

    Messages may use %(value)s (what was typed) for "invalid" and %(month)s for "future" (the
    current month) and "too_early" (``earliest``).
    """

    default_error_messages = {
        "invalid": _("请按“年-月”格式填写,如 2026-07"),
        "future": _("不能查询未来月份"),
        "too_early": _("请按“年-月”格式填写,如 2026-07"),
    }

    def __init__(self, *, earliest: datetime.date = datetime.date(1990, 1, 1), **kwargs):
        kwargs.setdefault("max_length", 10)
        kwargs.setdefault("required", False)
        self.earliest = earliest
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        try:
            month = parse_month(text)
        except ValueError:
            raise forms.ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": text[:10]}
            ) from None
        this_month = current_month()
        if month > this_month:
            raise forms.ValidationError(
                self.error_messages["future"],
                code="future",
                params={"month": f"{this_month:%Y-%m}"},
            )
        if month < self.earliest:
            raise forms.ValidationError(
                self.error_messages["too_early"],
                code="too_early",
                params={"month": f"{self.earliest:%Y-%m}"},
            )
        return month
