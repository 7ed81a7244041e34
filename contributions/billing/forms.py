"""The form of the 月度核定 page (the payment forms are in contributions.payments.forms)."""

from __future__ import annotations

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from contributions.fields import PastMonthField
from contributions.payments.services import MONTH_IN_FUTURE

EARLIEST_MONTH = datetime.date(2000, 1, 1)


class BillMonthForm(forms.Form):
    """The month to generate or refresh the unit's bill for ("2026-07")."""

    error_messages = {
        "required": _("请填写费款所属期,格式为“年-月”,如 2026-07。"),
        "invalid": _("“%(value)s”不是有效的年月,请按“年-月”格式填写,如 2026-07。"),
        "too_early": _("费款所属期不能早于 %(month)s。"),
        "future": MONTH_IN_FUTURE,
    }

    month = PastMonthField(
        label=_("费款所属期"),
        required=True,
        earliest=EARLIEST_MONTH,
        help_text=_("格式为“年-月”,如 2026-07;最晚可选当月。"),
        error_messages=error_messages,
        widget=forms.TextInput(attrs={"placeholder": "2026-07", "inputmode": "numeric"}),
    )
