"""Forms of login, CA-certificate login, password change and forgotten passwords."""

from __future__ import annotations

import random
import re
import secrets
import sys

from captcha.conf import settings as captcha_settings
from captcha.fields import CaptchaField, CaptchaTextInput
from captcha.models import CaptchaStore
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from employers.registration.forms import (
    REQUIRED,
    CertificateForm,
    MobileField,
    ResidentIdField,
    SmsCodeField,
)
from employers.validators import validate_agent_password

# Characters that cannot be mistaken for one another: no 0/O/Q, 1/I, 2/Z, 8/B, S (5) or G (6).
CAPTCHA_CHARS = "ACDEFHJKLMNPRTUVWXY345679"
UNIT_NUMBER = re.compile(r"^[0-9A-Z]{6,32}$")
PASSWORD_MAX_LENGTH = 128  # never hash an arbitrarily long input

CAPTCHA_MESSAGES = {
    "required": _("请填写图片验证码。"),
    "incomplete": _("请填写图片验证码。"),
    "invalid": _("图片验证码不正确或已过期,请看新图片重新输入。"),
}
PASSWORD_MESSAGES = {
    **REQUIRED,
    "max_length": _("密码过长,请核对。"),
}


def captcha_challenge() -> tuple[str, str]:
    """Return (text drawn, expected answer) for django-simple-captcha; answers ignore case."""
    text = "".join(
        secrets.choice(CAPTCHA_CHARS) for _char in range(captcha_settings.CAPTCHA_LENGTH)
    )
    if settings.DEBUG and getattr(settings, "CAPTCHA_ECHO", False):
        # Development only (DEBUG, and CAPTCHA_ECHO which production refuses): the answer on
        # the runserver console, as the SMS codes are, so a developer can log in quickly.
        sys.stdout.write(f"[图片验证码] {text}\n")
        sys.stdout.flush()
    return text, text.lower()


def captcha_light_noise(draw, image):
    """Sparse dots in a pale colour: texture for scripts, no dark marks over the characters."""
    width, height = image.size
    for _dot in range(width * height // 40):
        draw.point((random.randrange(width), random.randrange(height)), fill="#c9d4e5")
    return draw


def password_field(label, *, autocomplete: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        help_text=help_text,
        error_messages=PASSWORD_MESSAGES,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class PortalCaptchaInput(CaptchaTextInput):
    """The answer, the image and a "换一张" button that fetches a new one (static/js/captcha.js)."""

    template_name = "accounts/captcha_widget.html"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # crispy's <label for> names the field's own id, not the answer's (id_captcha_1): the
        # answer input carries its name itself, for screen readers.
        self.widgets[1].attrs["aria-label"] = str(_("图片验证码"))


class PortalCaptchaField(CaptchaField):
    """django-simple-captcha's field without its sweep of every expired challenge at each check.

    The package deletes all expired rows (a scan of the whole table, and a transaction of its
    own) each time an answer is checked: the one statement of a login that grows with the
    traffic of the whole site. The sweep runs on beat instead (employers.tasks.captcha_clean);
    an expired row is still refused here, and a challenge still dies at its first attempt.
    """

    def clean(self, value):
        forms.MultiValueField.clean(self, value)
        response, value[1] = (value[1] or "").strip().lower(), ""
        if captcha_settings.CAPTCHA_TEST_MODE and response == "passed":
            CaptchaStore.objects.filter(hashkey=value[0]).delete()
            return value
        if not self.required and not response:
            return value
        store = CaptchaStore.objects.filter(hashkey=value[0], expiration__gt=timezone.now()).first()
        if store is not None:
            store.delete()  # one attempt per challenge, right or wrong
        if store is None or store.response != response:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return value


def captcha_field() -> CaptchaField:
    return PortalCaptchaField(
        label=_("图片验证码"),
        widget=PortalCaptchaInput(),
        help_text=_("看不清?点击“换一张”,或改用“短信验证码登录”。不区分大小写。"),
        error_messages=dict(CAPTCHA_MESSAGES),
    )


class UnitNumberField(forms.CharField):
    """The unit's social-security number or its USCC (统一社会信用代码)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault(
            "error_messages",
            {**REQUIRED, "max_length": _("单位编号过长,请填写单位社保编号或统一社会信用代码。")},
        )
        super().__init__(**kwargs)

    def to_python(self, value):
        return "".join(super().to_python(value).split()).upper()

    def validate(self, value):
        super().validate(value)
        if value and not UNIT_NUMBER.match(value):
            raise ValidationError(
                _("单位编号只含数字和字母,请填写单位社保编号或18位统一社会信用代码。"),
                code="unit_format",
            )

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.update({"autocomplete": "organization", "spellcheck": "false"})
        return attrs


NEW_PASSWORD_HELP = _("8-20位,同时包含字母和数字,不能包含身份证号或手机号。")


class NewPasswordMixin:
    """Two entries of a new password, checked against the agent password rules."""

    new_password_owner: tuple[str, str] = ("", "")  # the agent's ID number and phone

    def clean_new_passwords(self, data):
        password = data.get("new_password")
        if not password:
            return
        id_number, phone = self.new_password_owner
        try:
            validate_agent_password(password, id_number=id_number, phone=phone)
        except ValidationError as exc:
            self.add_error("new_password", exc)
            return
        if data.get("new_password2") and data["new_password2"] != password:
            self.add_error("new_password2", _("两次输入的密码不一致。"))


class LoginForm(forms.Form):
    unit = UnitNumberField(
        label=_("单位社保编号或统一社会信用代码"),
        required=False,
        help_text=_("只在一个单位担任经办人的可以不填;在多个单位任职的请填写。"),
    )
    id_number = ResidentIdField(label=_("经办人身份证号"))
    password = password_field(_("登录密码"), autocomplete="current-password")
    captcha = captcha_field()


class CertificateLoginForm(CertificateForm):
    id_number = ResidentIdField(label=_("经办人身份证号"))
    field_order = ["id_number", "certificate", "signature"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        signature = self.fields["signature"]
        signature.max_length = 4096
        signature.validators.append(MaxLengthValidator(4096))
        signature.error_messages["max_length"] = _("签名值过长,请粘贴签名助手输出的签名。")
        signature.help_text = _(
            "插入USB-Key,用签名助手对上方挑战值签名,将结果粘贴到此处。挑战值5分钟内有效,仅能使用一次。"
        )


class PasswordChangeForm(NewPasswordMixin, forms.Form):
    old_password = password_field(_("当前密码"), autocomplete="current-password")
    new_password = password_field(
        _("新密码"), autocomplete="new-password", help_text=NEW_PASSWORD_HELP
    )
    new_password2 = password_field(_("确认新密码"), autocomplete="new-password")

    def __init__(self, *args, agent, **kwargs):
        self.agent = agent
        self.new_password_owner = (agent.id_number, agent.phone)
        super().__init__(*args, **kwargs)

    def clean_old_password(self):
        password = self.cleaned_data["old_password"]
        if not self.agent.user.check_password(password):
            raise ValidationError(_("当前密码不正确。"), code="password_incorrect")
        return password

    def clean(self):
        data = super().clean()
        self.clean_new_passwords(data)
        if data.get("old_password") and data.get("old_password") == data.get("new_password"):
            self.add_error("new_password", _("新密码不能与当前密码相同。"))
        return data


class PasswordForgotForm(forms.Form):
    unit = UnitNumberField(label=_("单位社保编号或统一社会信用代码"))
    id_number = ResidentIdField(label=_("经办人身份证号"))
    phone = MobileField(
        label=_("登记的手机号"), help_text=_("经办人在本网站登记的手机号,验证码将发送到该号码。")
    )
    captcha = captcha_field()


class SmsLoginStartForm(forms.Form):
    """短信验证码登录, step 1: no image captcha (this is the way in for those who cannot read it);
    the address throttle and the SMS limits per phone and address stand in for it."""

    unit = UnitNumberField(label=_("单位社保编号或统一社会信用代码"))
    id_number = ResidentIdField(label=_("经办人身份证号"))
    phone = MobileField(
        label=_("登记的手机号"), help_text=_("经办人在本网站登记的手机号,验证码将发送到该号码。")
    )


class SmsCodeForm(forms.Form):
    """The second step of 找回密码 and 短信验证解锁: the code sent to the registered phone."""

    code = SmsCodeField()

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not code.isascii() or not code.isdigit():
            raise ValidationError(_("验证码为6位数字。"), code="sms_code_format")
        return code


class PasswordResetForm(NewPasswordMixin, SmsCodeForm):
    new_password = password_field(
        _("新密码"), autocomplete="new-password", help_text=NEW_PASSWORD_HELP
    )
    new_password2 = password_field(_("确认新密码"), autocomplete="new-password")

    def __init__(self, *args, owner: tuple[str, str] = ("", ""), **kwargs):
        self.new_password_owner = owner
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        self.clean_new_passwords(data)
        return data
