from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.audit import audit_log


class Command(BaseCommand):
    help = (
        "为经办人员登记管理后台的第二认证因子(TOTP 动态口令)。输出 otpauth:// 链接,"
        "用手机上的身份验证器(如 FreeOTP、Google Authenticator、微信小程序“腾讯身份验证器”)添加。"
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--replace", action="store_true", help="作废该用户已有的动态口令设备并重新登记"
        )
        parser.add_argument(
            "--token",
            action="store_true",
            help="仅开发环境(DEBUG):显示该用户当前的动态口令,便于演示",
        )

    @transaction.atomic
    def handle(self, username, replace=False, token=False, **options):
        user = get_user_model().objects.filter(username=username, is_staff=True).first()
        if user is None:
            raise CommandError(f"没有名为 {username} 的经办人员(is_staff)账号。")
        existing = TOTPDevice.objects.filter(user=user)
        if token:
            if not settings.DEBUG:
                raise CommandError("--token 只在开发环境(DEBUG)可用。")
            device = existing.filter(confirmed=True).first()
            if device is None:
                raise CommandError("该用户尚未登记动态口令设备。")
            self.stdout.write(f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}")
            return
        if existing.exists() and not replace:
            raise CommandError("该用户已登记动态口令设备;如需更换请加 --replace。")
        existing.delete()
        device = TOTPDevice.objects.create(user=user, name="管理后台动态口令", confirmed=True)
        audit_log(action="admin.otp_enrolled", obj=user, details={"device": device.persistent_id})
        self.stdout.write("请在身份验证器中添加以下链接(或手动输入密钥):")
        self.stdout.write(device.config_url)
        self.stdout.write(
            "登录管理后台时,在同一页填写用户名、密码和“动态验证码”(验证器当前显示的 6 位数字)。"
        )
