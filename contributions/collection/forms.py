"""The sandbox 电子税务局's payment form (development only)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from contributions.collection.sandbox import FAILURE_REASONS


class SandboxTaxPayForm(forms.Form):
    """Pay one claim in full (amount left empty) or in part, or make the payment fail."""

    ACTIONS = [("pay", _("缴款")), ("fail", _("模拟缴款失败"))]

    voucher = forms.CharField(widget=forms.HiddenInput, max_length=40)
    # Set by the button pressed.
    action = forms.ChoiceField(
        choices=ACTIONS,
        widget=forms.HiddenInput,
        error_messages={"required": _("请选择缴款或模拟失败。")},
    )
    amount = forms.DecimalField(
        label=_("本次缴款金额(元)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=_("留空即缴清全部未缴金额;小于未缴金额即部分缴款。"),
        error_messages={
            "invalid": _("请填写以元为单位的金额,如 1000.00。"),
            "min_value": _("缴款金额应大于零。"),
            "max_decimal_places": _("金额最多两位小数。"),
            "max_digits": _("金额过大。"),
            "max_whole_digits": _("金额过大。"),
        },
    )
    failure = forms.ChoiceField(
        label=_("失败原因"),
        required=False,
        choices=[("", _("(模拟失败时选择)"))] + list(FAILURE_REASONS.items()),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "fail" and not cleaned.get("failure"):
            self.add_error("failure", _("模拟缴款失败时请选择失败原因。"))
        return cleaned
