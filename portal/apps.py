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


# Third-party apps under Chinese section names in the admin (INSTALLED_APPS names these).
class AxesConfig(AxesAppConfig):
    verbose_name = _("登录失败锁定")


class OTPTOTPConfig(OTPTOTPAppConfig):
    verbose_name = _("动态验证码")


class OTPStaticConfig(OTPStaticAppConfig):
    verbose_name = _("备用验证码")
