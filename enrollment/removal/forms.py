"""Forms of the 减员 page."""

from __future__ import annotations

import datetime
import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from enrollment.models import RemovalReason

REQUIRED = {"required": _("请填写此项。")}


class MonthField(forms.Field):
    """A month typed as YYYY-MM (the browser's month input); cleaned to the month's first day."""

    widget = forms.DateInput(attrs={"type": "month", "placeholder": "YYYY-MM"})
    default_error_messages = {
        "required": _("请选择末次缴费年月。"),
        "invalid": _("请按“年-月”填写,例如 2026-03。"),
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.date):
            return value.replace(day=1)
        text = str(value).strip().replace("/", "-").replace(".", "-")
        for fmt in ("%Y-%m", "%Y-%m-%d", "%Y%m"):
            try:
                return datetime.datetime.strptime(text, fmt).date().replace(day=1)  # noqa: DTZ007
            except ValueError:
                continue
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")

    def prepare_value(self, value):
        if isinstance(value, datetime.date):
            return value.strftime("%Y-%m")
        return value


class RemoveEmployeeForm(forms.Form):
    enrolment = forms.IntegerField(widget=forms.HiddenInput, error_messages=REQUIRED)
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    reason = forms.ChoiceField(
        label=_("减员原因"),
        choices=[("", _("请选择")), *RemovalReason.choices],
        error_messages={
            "required": _("请选择减员原因。"),
            "invalid_choice": _("请从列表中选择减员原因。"),
        },
    )
    voluntary = forms.TypedChoiceField(
        label=_("是否本人自愿离职"),
        choices=[("yes", _("是")), ("no", _("否"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={
            "required": _("请选择是否本人自愿离职。"),
            "invalid_choice": _("请选择“是”或“否”。"),
        },
        help_text=_("影响失业保险待遇的领取:本人自愿离职的一般不能领取失业保险金。"),
    )
    last_contribution_month = MonthField(
        label=_("末次缴费年月"),
        help_text=_("最晚为当月,最早为上月;更早的减员请到经办窗口办理。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())
