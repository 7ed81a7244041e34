"""Forms of 查询统计: the record filters and the missing-record question."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from contributions.common import add_months
from contributions.fields import PastMonthField, current_month
from contributions.models import InsuranceType

DEFAULT_MONTHS = 12


def max_months() -> int:
    return getattr(settings, "CONTRIBUTIONS_RECORDS_MAX_MONTHS", 36)


# The record pages' month field: the shared one with its defaults (from 1990, messages of 查询).
MonthField = PastMonthField


# The record filters that name no one: they may go into an address (portal.search_tokens).
RECORD_PLAIN_FILTERS = ("month_from", "month_to", "insurance_type")


class RecordFilterForm(forms.Form):
    q = forms.CharField(
        label=_("姓名或证件号码"),
        required=False,
        max_length=50,
        help_text=_("姓名可输入部分;证件号码须输入完整号码。"),
    )
    month_from = MonthField(label=_("起始年月"), help_text=_("如 2026-01"))
    month_to = MonthField(label=_("截止年月"), help_text=_("如 2026-12,不能晚于本月"))
    insurance_type = forms.ChoiceField(
        label=_("险种"), required=False, choices=[("", _("全部")), *InsuranceType.choices]
    )

    # Its fields are declared here and never changed per instance: the records page prints them
    # from a store per value (portal.crispy_fields.stored_crispy_field_html).
    stored_field_html = True

    error_messages = {
        "order": _("截止年月不能早于起始年月"),
        "too_long": _("一次最多查询 %(max)s 个月,请缩小年月范围"),
    }

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        month_from, month_to = data.get("month_from"), data.get("month_to")
        # Without months: the last 12 months up to this one.
        if month_to is None:
            month_to = (
                min(add_months(month_from, DEFAULT_MONTHS - 1), current_month())
                if month_from
                else current_month()
            )
        if month_from is None:
            month_from = add_months(month_to, -(DEFAULT_MONTHS - 1))
        if month_from > month_to:
            self.add_error("month_to", self.error_messages["order"])
        elif (month_to.year - month_from.year) * 12 + month_to.month - month_from.month >= (
            max_months()
        ):
            self.add_error("month_to", self.error_messages["too_long"] % {"max": max_months()})
        data["month_from"], data["month_to"] = month_from, month_to
        data["q"] = " ".join((data.get("q") or "").split())
        return data

    def filters(self) -> dict | None:
        """The valid filters for records_for_agent, or None when the form has errors."""
        if not self.is_valid():
            return None
        return {
            name: self.cleaned_data[name]
            for name in ("q", "month_from", "month_to", "insurance_type")
        }

    def query_params(self) -> dict[str, str]:
        """The filters as typed (for links and hidden fields)."""
        return {
            name: (self.data.get(name) or "")
            for name in ("q", "month_from", "month_to", "insurance_type")
        }


class MissingCauseForm(forms.Form):
    """查询某人某月无记录原因: a person (name or full document number) and one month."""

    q = forms.CharField(
        label=_("姓名或证件号码"),
        max_length=50,
        required=False,
        help_text=_("建议输入完整证件号码;同名人员较多时按姓名无法确定是哪一位。"),
    )
    person = forms.IntegerField(required=False, widget=forms.HiddenInput)
    month = MonthField(label=_("年月"), required=True, help_text=_("如 2026-07"))

    error_messages = {"who": _("请输入姓名或证件号码")}

    def clean(self):
        data = super().clean()
        data["q"] = " ".join((data.get("q") or "").split())
        if not data["q"] and not data.get("person") and "q" not in self.errors:
            self.add_error("q", self.error_messages["who"])
        return data
