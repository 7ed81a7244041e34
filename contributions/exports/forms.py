"""The export form: what to export, in which format, and (for a full export) the password,
which contributions.exports.services.export_start checks (employers.accounts.reauth)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from contributions.models import ExportJob
from enrollment.models import Enrolment, InsuranceCode


class ExportForm(forms.Form):
    kind = forms.ChoiceField(label=_("导出内容"), choices=ExportJob.Kind.choices)
    format = forms.ChoiceField(label=_("文件格式"), choices=ExportJob.Format.choices)
    full = forms.BooleanField(
        label=_("完整导出(含完整证件号码、手机号)"),
        required=False,
        help_text=_("默认导出的证件号码、手机号已脱敏;完整导出须再次输入登录密码,并记入审计日志。"),
    )
    password = forms.CharField(
        label=_("登录密码"),
        required=False,
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False),
    )
    # Roster filters (the roster's own names).
    status = forms.ChoiceField(
        label=_("参保状态"), required=False, choices=[("", _("全部")), *Enrolment.Status.choices]
    )
    insurance_code = forms.ChoiceField(
        label=_("参保险种"), required=False, choices=[("", _("全部")), *InsuranceCode.choices]
    )
