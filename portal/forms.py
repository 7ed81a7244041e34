"""Forms of the portal-wide pages."""

from __future__ import annotations

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.filings import Outcome, filing_kinds


class FilingFilterForm(forms.Form):
    """The filters of 已办业务查询; none of them names a person, so they travel in the address."""

    kind = forms.ChoiceField(label=_("业务类型"), required=False)
    outcome = forms.ChoiceField(
        label=_("办理状态"), required=False, choices=[("", _("全部")), *Outcome.choices]
    )
    month = forms.CharField(
        label=_("提交月份"),
        required=False,
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-01"}),
        error_messages={"max_length": _("请按“年-月”填写,例如 2026-01。")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("全部")), *[(k.key, k.label) for k in filing_kinds()]]

    def clean_month(self) -> datetime.date | None:
        value = (self.cleaned_data.get("month") or "").strip()
        if not value:
            return None
        try:
            return datetime.datetime.strptime(value, "%Y-%m").date()  # noqa: DTZ007 — a month
        except ValueError:
            raise forms.ValidationError(
                _("请按“年-月”填写,例如 2026-01。"), code="bad_month"
            ) from None
