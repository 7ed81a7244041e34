"""The 补缴申请 form: the person, the months with their bases, the reason and the proof; the
rules run in contributions.backpay.services."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from contributions.backpay.services import MAX_MONTHS
from contributions.benefits.forms import FILES_NOT_KEPT, MONEY_ERRORS, REQUIRED, AttachmentField


class MonthInput(forms.DateInput):
    input_type = "month"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m")


class BackPayForm(forms.Form):
    """Who, why and the proof; the months come in MonthFormSet."""

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    shown_total = forms.DecimalField(
        widget=forms.HiddenInput, max_digits=14, decimal_places=2, required=False
    )
    document_number = forms.CharField(
        label=_("职工证件号码"),
        max_length=30,
        error_messages={**REQUIRED, "max_length": _("证件号码不能超过30位。")},
        help_text=_("填写漏缴职工的完整证件号码;该职工须在本单位有参保登记。"),
    )
    reason = forms.CharField(
        label=_("漏缴原因"),
        max_length=200,
        error_messages={**REQUIRED, "max_length": _("原因不能超过200个字。")},
        help_text=_("如:入职后未及时办理参保登记。"),
    )
    proof = AttachmentField(
        label=_("劳动合同或工资发放记录"),
        required=False,
        help_text=_("证明该职工在补缴月份在本单位工作;JPG、PNG或PDF,不超过 5 MB。提交时必须上传。")
        + " "
        + FILES_NOT_KEPT,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())

    def clean_document_number(self):
        return "".join(self.cleaned_data["document_number"].split()).upper()


class MonthForm(forms.Form):
    """One month to pay for and its base; an untouched row is left out."""

    month = forms.DateField(
        label=_("费款所属期"),
        widget=MonthInput,
        input_formats=["%Y-%m", "%Y-%m-%d", "%Y%m"],
        error_messages={**REQUIRED, "invalid": _("请按“年-月”填写月份,如 2025-03。")},
    )
    base = forms.DecimalField(
        label=_("缴费基数(元)"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages=MONEY_ERRORS,
        help_text=_("该月的月缴费工资,须在该月缴费基数上下限之内。"),
    )


MonthFormSet = forms.formset_factory(
    MonthForm, extra=MAX_MONTHS, max_num=MAX_MONTHS, validate_max=True
)


def months_of(formset) -> list[tuple]:
    """(month, base) of the filled-in rows of a valid formset."""
    return [
        (form.cleaned_data["month"], form.cleaned_data["base"])
        for form in formset.forms
        if form.cleaned_data
    ]
