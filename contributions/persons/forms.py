"""Forms of 参保人员查询: the search, and the year of the month-by-month table."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

FIRST_YEAR = 1990  # the earliest month the contribution pages query (contributions.fields)


class PersonSearchForm(forms.Form):
    q = forms.CharField(
        label=_("姓名或证件号码"),
        required=False,
        max_length=50,
        help_text=_(
            "输入姓名全名或开头部分(如输入“周明”可查到周明、周明桂);"
            "证件号码须输入完整号码(证件号码加密保存,不能按部分号码查询)。"
        ),
    )

    def clean_q(self) -> str:
        return " ".join((self.cleaned_data.get("q") or "").split())


def _years():
    return [(year, str(year)) for year in range(timezone.localdate().year, FIRST_YEAR - 1, -1)]


class PersonYearForm(forms.Form):
    """``?year=``: the year of the month-by-month table (a wrong value counts as none)."""

    year = forms.TypedChoiceField(
        label=_("年度"), required=False, coerce=int, empty_value=None, choices=_years
    )

    def year_or_default(self) -> int | None:
        """The valid year, or None for the selector's default."""
        return self.cleaned_data.get("year") if self.is_valid() else None
