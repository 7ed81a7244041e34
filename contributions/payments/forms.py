"""Forms of 缴费确认: the pay button, and the sandbox bank's balance."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _


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
