"""Forms of the 月度核定 and 缴费确认 pages."""

from __future__ import annotations

import datetime
from decimal import Decimal

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


class BillPayForm(forms.Form):
    """The pay button: a key per rendered page, so that a double click debits once."""

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)


class SandboxBalanceForm(forms.Form):
    MODES = [("deposit", _("存入")), ("set", _("设为该余额"))]

    amount = forms.DecimalField(
        label=_("金额(元)"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        error_messages={
            "required": _("请填写金额,如 50000.00。"),
            "invalid": _("请填写以元为单位的金额,如 50000.00。"),
            "min_value": _("金额不能为负数。"),
            "max_decimal_places": _("金额最多两位小数。"),
            "max_digits": _("金额过大。"),
            "max_whole_digits": _("金额过大。"),
        },
    )
    mode = forms.ChoiceField(choices=MODES, widget=forms.HiddenInput, initial="deposit")
