"""Forms of 缴费基数申报: the on-screen table of bases and the Excel upload.

The screen form has one text input per employee (``base_<enrolment id>``), so that a typed
value such as "abc" comes back exactly as typed, with the message next to it. Rows adjusted to
a bound carry the wage the agent typed in one hidden field (``adjusted``: "id:wage;..."), so
that the line keeps the wage while it declares the bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from contributions.declarations.rules import bounds_message, clamp, in_bounds, parse_amount
from contributions.declarations.selectors import DeclarationRow
from contributions.declarations.services import LineInput

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def field_name(enrolment_id: int) -> str:
    return f"base_{enrolment_id}"


def adjusted_parse(text: str) -> dict[int, Decimal]:
    """Read the hidden "id:wage;id:wage" field; anything malformed is left out."""
    result = {}
    for part in (text or "").split(";"):
        key, _sep, value = part.partition(":")
        try:
            result[int(key)] = Decimal(value).quantize(Decimal("0.01"))
        except (ValueError, InvalidOperation):
            continue
    return result


def adjusted_format(adjusted: dict[int, Decimal]) -> str:
    return ";".join(f"{key}:{value}" for key, value in sorted(adjusted.items()))


@dataclass
class ScreenRow:
    row: DeclarationRow
    field: forms.BoundField
    adjusted_wage: Decimal | None = None

    @property
    def enrolment(self):
        return self.row.enrolment


class DeclarationScreenForm(forms.Form):
    """One input per active employee; ``lines()`` returns the checked lines or adds errors."""

    error_messages = {"invalid_rows": _("有 %(count)d 行填写有误,请按提示修改后再提交。")}

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    adjusted = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, rows: list[DeclarationRow], period, **kwargs):
        super().__init__(*args, **kwargs)
        self.period = period
        self.rows = rows
        for row in rows:
            self.fields[field_name(row.enrolment.pk)] = forms.CharField(
                label=row.enrolment.person.name,
                required=False,
                max_length=20,
                initial=row.current,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            )

    def adjusted_wages(self) -> dict[int, Decimal]:
        return adjusted_parse(self.data.get("adjusted", "") if self.is_bound else "")

    def screen_rows(self) -> list[ScreenRow]:
        adjusted = self.adjusted_wages()
        result = []
        for row in self.rows:
            bound = self[field_name(row.enrolment.pk)]
            wage = adjusted.get(row.enrolment.pk)
            if wage is not None and not self._adjustment_holds(bound.value(), wage):
                wage = None
            result.append(ScreenRow(row, bound, wage))
        return result

    def _adjustment_holds(self, typed, wage: Decimal) -> bool:
        """An adjustment counts while the input still shows the bound it set."""
        try:
            amount = parse_amount(typed)
        except ValidationError:
            return False
        return not in_bounds(self.period, wage) and amount == clamp(self.period, wage)

    def lines(self) -> list[LineInput] | None:
        """Check every row; return the lines, or None after adding errors next to the fields."""
        if not self.is_valid():
            return None
        adjusted = self.adjusted_wages()
        lines, bad = [], 0
        for row in self.rows:
            name = field_name(row.enrolment.pk)
            typed = self.cleaned_data.get(name, "")
            try:
                amount = parse_amount(typed)
            except ValidationError as exc:
                self.add_error(name, exc)
                bad += 1
                continue
            wage = adjusted.get(row.enrolment.pk)
            if wage is not None and self._adjustment_holds(typed, wage):
                lines.append(LineInput(row.enrolment.pk, wage, adjust=True))
            elif in_bounds(self.period, amount):
                lines.append(LineInput(row.enrolment.pk, amount))
            else:
                self.add_error(name, ValidationError(bounds_message(self.period), code="bounds"))
                bad += 1
        if bad:
            self.add_error(
                None,
                ValidationError(
                    self.error_messages["invalid_rows"], code="invalid_rows", params={"count": bad}
                ),
            )
            return None
        return lines

    def out_of_bounds_count(self) -> int:
        return sum(
            1 for errors in self.errors.as_data().values() for e in errors if e.code == "bounds"
        )


def adjust_data(data, *, rows: list[DeclarationRow], period) -> tuple[dict, int]:
    """Return the posted data with each parsable out-of-bounds value set to its nearest bound
    (the typed wage kept in ``adjusted``), and how many rows changed."""
    new = data.copy()
    adjusted = adjusted_parse(data.get("adjusted", ""))
    changed = 0
    for row in rows:
        name = field_name(row.enrolment.pk)
        try:
            amount = parse_amount(data.get(name, ""))
        except ValidationError:
            continue
        if in_bounds(period, amount):
            continue
        new[name] = str(clamp(period, amount))
        adjusted[row.enrolment.pk] = amount
        changed += 1
    new["adjusted"] = adjusted_format(adjusted)
    return new, changed


class DeclarationUploadForm(forms.Form):
    error_messages = {
        "extension": _("请上传 .xlsx 格式的 Excel 文件(请使用本页下载的模板)。"),
    }

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    file = forms.FileField(
        label=_("缴费基数申报表"),
        help_text=_("使用本页下载的模板填写的 .xlsx 文件。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx," + XLSX}),
        error_messages={"required": _("请选择要上传的缴费基数申报表。")},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".xlsx"):
            raise ValidationError(self.error_messages["extension"], code="extension")
        return upload
