import logging

from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.apps import DefaultConfig as OTPStaticAppConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as OTPTOTPAppConfig


class PortalConfig(AppConfig):
    # The module holds other apps' configurations too: this one is "portal"'s own.
    default = True
    name = "portal"
    verbose_name = _("门户公共")

    def ready(self):
        from portal import admin_audit  # noqa: F401 (connects the admin login receivers)

        announce_mode()


def announce_mode() -> None:
    """Say at start-up, in every process, that a staging portal plays its outside parties."""
    from django.conf import settings

    if not getattr(settings, "STAGING", False):
        return
    sandboxes = [
        f"{name}={getattr(settings, name)}"
        for name in ("FACE_PROVIDER", "BANK_ADAPTER", "CONTRIBUTION_BANK_ADAPTER")
        if "sandbox" in str(getattr(settings, name, "")).lower()
    ]
    logging.getLogger("portal.mode").warning(
        "DJANGO_ENV=staging: not for real units; sandbox providers %s; sandbox pages %s",
        ", ".join(sandboxes) or "none",
        "on" if getattr(settings, "SANDBOX_PROVIDERS", False) else "off",
    )


# Third-party apps under Chinese section names in the admin (INSTALLED_APPS names these).
class AxesConfig(AxesAppConfig):
    verbose_name = _("登录失败锁定")


class OTPTOTPConfig(OTPTOTPAppConfig):
    verbose_name = _("动态验证码")


class OTPStaticConfig(OTPStaticAppConfig):
    verbose_name = _("备用验证码")
