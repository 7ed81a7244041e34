"""The 补缴申请 form: the person, the months with their bases, the reason and the proof; the
rules run in contributions.backpay.services."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from contributions.backpay.services import MAX_MONTHS
from contributions.benefits.forms import FILES_NOT_KEPT, MONEY_ERRORS, REQUIRED, AttachmentField
from portal.i18n import lazy_join


class MonthInput(forms.DateInput):
    input_type = "month"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m")


class RowsInput(forms.Widget):
    """Every value posted under the name (one per month row), as a list."""

    def value_from_datadict(self, data, files, name):
        return _values(data, name)


def _values(data, name: str) -> list:
    if hasattr(data, "getlist"):
        return data.getlist(name)
    value = data.get(name)
    return value if isinstance(value, list) else [] if value is None else [value]


class RowsField(forms.Field):
    """The texts of one column of the month rows; BackPayForm.clean parses them row by row."""

    widget = RowsInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        return [str(item).strip() for item in (value or [])]


class BackPayForm(forms.Form):
    """Who, why, the proof, and the month rows (``month`` and ``base`` posted once per row)."""

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
    month = RowsField(label=_("费款所属期"))
    base = RowsField(label=_("缴费基数(元)"))
    evidence = AttachmentField(
        label=_("劳动合同或工资发放记录"),
        required=False,
        help_text=lazy_join(
            _("证明该职工在补缴月份在本单位工作;JPG、PNG或PDF,不超过 5 MB。提交时必须上传。"),
            FILES_NOT_KEPT,
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())
        self.rows = _rows(_values(self.data, "month"), _values(self.data, "base"))

    def clean_document_number(self):
        return "".join(self.cleaned_data["document_number"].split()).upper()

    def clean(self):
        data = super().clean()
        filled = [row for row in self.rows if row.is_bound]
        if len(filled) > MAX_MONTHS:
            raise forms.ValidationError(
                _("一次最多申请 %d 个月,更多月份请另行申请。") % MAX_MONTHS, code="too_many"
            )
        if not all(row.is_valid() for row in filled):
            raise forms.ValidationError(_("请修改下列补缴月份中标出的错误。"), code="rows")
        data["months"] = [
            (row.cleaned_data["month"].replace(day=1), row.cleaned_data["base"]) for row in filled
        ]
        return data

    def row_for(self, month) -> MonthForm | None:
        """The filled row of a month (the first day of the month), to put its errors on."""
        for row in self.rows:
            if (
                row.is_bound
                and row.is_valid()
                and row.cleaned_data["month"].replace(day=1) == month
            ):
                return row
        return None


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


def _rows(months: list, bases: list) -> list[MonthForm]:
    """A form per month row: the rows typed (a blank one left unbound), padded to MAX_MONTHS."""
    count = max(len(months), len(bases))
    rows = []
    for index in range(max(count, MAX_MONTHS)):
        month = str(months[index]).strip() if index < len(months) else ""
        base = str(bases[index]).strip() if index < len(bases) else ""
        auto_id = f"id_months_{index}_%s"
        if month or base:
            rows.append(MonthForm({"month": month, "base": base}, auto_id=auto_id))
        else:
            rows.append(MonthForm(auto_id=auto_id))
    return rows
