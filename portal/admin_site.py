"""The clerks' admin site: one Chinese login form with the second factor, Chinese sections.

Clerks are privileged users, so the admin asks for a TOTP code with the password (DESIGN.md
section 13, 等保 2.0 level 3: two authentication methods, one of them cryptographic). The code
is checked against the clerk's confirmed TOTP devices: a clerk never picks a device.
"""

from __future__ import annotations

import math

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.forms import otp_verification_failed
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.audit import audit_log
from portal.models import AuditEvent

# Apps of third-party packages: their screens are for the system administrator (superuser).
SUPERUSER_ONLY_APPS = {"auth", "axes", "otp_totp", "otp_static", "sessions", "captcha"}
# django-otp's models name themselves in English without marking the names for translation.
MODEL_NAMES = {
    "otp_totp.totpdevice": _("动态验证码设备"),
    "otp_static.staticdevice": _("备用验证码"),
}


class ClerkLoginForm(AdminAuthenticationForm):
    """User name, password and the 6-digit code from the clerk's authenticator, in one submit."""

    otp_token = forms.RegexField(
        label=_("动态验证码"),
        regex=r"^\d{6}$",
        strip=True,
        help_text=_("打开手机上的身份验证器,输入当前显示的 6 位数字。"),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "maxlength": "6",
                "pattern": "[0-9]{6}",
            }
        ),
        error_messages={
            "required": _("请输入动态验证码。"),
            "invalid": _("动态验证码是 6 位数字。"),
        },
    )

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _("用户名或密码不正确。请注意密码区分大小写。"),
        "inactive": _("该账号已停用,请联系系统管理员。"),
        "no_device": _("该账号尚未登记动态验证码设备,请联系系统管理员登记。"),
        "invalid_token": _("动态验证码不正确,请输入身份验证器上当前显示的 6 位数字。"),
        "throttled": _("动态验证码错误次数过多,请稍候 %(seconds)d 秒后再试。"),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("用户名")
        self.fields["password"].label = _("密码")

    def clean(self):
        # The password first (django-axes counts and locks failures there); the code only for
        # the user the password named, so a code never tells whether a user name exists.
        cleaned_data = super().clean()
        user = self.get_user()
        if user is not None and "otp_token" in cleaned_data:
            user.otp_device = self._verified_device(user, cleaned_data["otp_token"])
        return cleaned_data

    def _verified_device(self, user, token: str) -> TOTPDevice:
        """Return the clerk's TOTP device that accepts ``token``; wrong codes are throttled."""
        throttled = None
        with transaction.atomic():
            devices = list(
                TOTPDevice.objects.devices_for_user(user, confirmed=True).select_for_update()
            )
            if not devices:
                raise forms.ValidationError(self.error_messages["no_device"], code="no_device")
            tried = False
            for device in devices:
                allowed, extra = device.verify_is_allowed()
                if not allowed:
                    if extra.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS:
                        throttled = self._throttled(extra)
                    continue
                tried = True
                # A wrong code counts a failure on the device: django-otp's throttling.
                if device.verify_token(token):
                    return device
        otp_verification_failed.send(sender=type(self), user=user)
        with transaction.atomic():
            audit_log(
                action="clerk.login_failed",
                outcome=AuditEvent.Outcome.FAILURE,
                actor=user,
                request=self.request,
                details={"reason": "throttled" if throttled and not tried else "otp"},
            )
        if throttled is not None and not tried:
            raise throttled
        raise forms.ValidationError(self.error_messages["invalid_token"], code="invalid_token")

    def _throttled(self, extra: dict) -> forms.ValidationError:
        locked_until = extra.get("locked_until")
        seconds = (locked_until - timezone.now()).total_seconds() if locked_until else 60
        return forms.ValidationError(
            self.error_messages["throttled"],
            code="throttled",
            params={"seconds": max(1, math.ceil(seconds))},
        )


class PortalAdminSite(admin.AdminSite):
    """Sections in Chinese; third-party apps' sections only for superusers."""

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        if not request.user.is_superuser:
            app_list = [app for app in app_list if app["app_label"] not in SUPERUSER_ONLY_APPS]
        for app in app_list:
            for model in app["models"]:
                name = MODEL_NAMES.get(model["model"]._meta.label_lower)
                if name is not None:
                    model["name"] = name
        return app_list


class ClerkAdminSite(PortalAdminSite):
    """The admin behind the second factor: only OTP-verified staff may use it (django-otp)."""

    login_form = ClerkLoginForm
    login_template = "admin/clerk_login.html"

    def has_permission(self, request):
        return super().has_permission(request) and request.user.is_verified()
