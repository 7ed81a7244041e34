"""The export form: what to export, in which format, and (for a full export) the password."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from contributions.models import ExportJob
from enrollment.models import Enrolment, InsuranceCode
from portal.ratelimit import RateLimitUnavailable, hit, peek

PASSWORD_WINDOW = 15 * 60  # wrong passwords on the export form are counted per 15 minutes


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

    error_messages = {
        "password_required": _("完整导出须输入您的登录密码"),
        "password_wrong": _("密码不正确,完整导出未执行;如需脱敏导出,请取消勾选“完整导出”"),
        "password_locked": _("密码连续输错次数过多,请 %(minutes)s 分钟后再试完整导出"),
        "unavailable": _("系统繁忙,暂不能校验密码,请稍后再试"),
    }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        data = super().clean()
        if data.get("full"):
            password = data.get("password") or ""
            if not password:
                self.add_error("password", self.error_messages["password_required"])
            else:
                self._check_password(password)
        data.pop("password", None)
        return data

    def _check_password(self, password: str) -> None:
        """Check the password; wrong ones are counted per user (fixed window, fail closed)."""
        key = f"export-password:{self.user.pk if self.user else 0}"
        limit = settings.RATE_LIMITS["password_failures_per_agent"]
        try:
            failures = peek(key, window=PASSWORD_WINDOW)
        except RateLimitUnavailable:
            self.add_error("password", self.error_messages["unavailable"])
            return
        if failures >= limit:
            self.add_error(
                "password",
                self.error_messages["password_locked"] % {"minutes": PASSWORD_WINDOW // 60},
            )
            return
        if self.user is None or not self.user.check_password(password):
            try:
                hit(key, limit=limit, window=PASSWORD_WINDOW)
            except RateLimitUnavailable:
                pass
            self.add_error("password", self.error_messages["password_wrong"])
