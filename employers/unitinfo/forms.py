"""Forms of 单位基本信息 and 银行账户信息: contact change, bank account change, the amount."""

from __future__ import annotations

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from employers.registration.forms import REQUIRED, MobileField, SmsCodeField
from employers.unitinfo.services import ACCOUNT_NAME, same_name
from portal.identifiers import nfkc, validate_person_name

CODE_DIGITS = _("验证码为6位数字。")


class WideSmsCodeField(SmsCodeField):
    def to_python(self, value):
        return "".join(nfkc(super().to_python(value)).split())

    def validate(self, value):
        super().validate(value)
        if value and not (value.isascii() and value.isdigit()):
            raise ValidationError(CODE_DIGITS, code="code_digits")


class WideEmailField(forms.EmailField):
    def to_python(self, value):
        return super().to_python(nfkc(value or ""))


def reason_field():
    return forms.CharField(
        label=_("变更原因"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": _("请填写变更原因。"),
            "max_length": _("变更原因不能超过200个字。"),
        },
        help_text=_("简要说明,如“原联系人离职”“更换开户银行”。"),
    )


class KeyedForm(forms.Form):
    """A form whose submission carries a random key: a double click files once."""

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())


class ContactChangeForm(KeyedForm):
    contact_name = forms.CharField(
        label=_("联系人"),
        max_length=50,
        validators=[validate_person_name],
        error_messages={**REQUIRED, "max_length": _("联系人姓名不能超过50个字。")},
    )
    contact_phone = MobileField(
        label=_("联系人手机号"),
        help_text=_("审核结果等通知发送到该号码。更换号码须用发到新号码的验证码确认。"),
    )
    code = WideSmsCodeField(
        required=False,
        help_text=_("仅在更换手机号时填写:点击“获取验证码”,填写发到新手机号的6位数字。"),
    )
    address = forms.CharField(
        label=_("办公地址"),
        max_length=200,
        required=False,
        error_messages={"max_length": _("办公地址不能超过200个字。")},
    )
    contact_email = WideEmailField(
        label=_("联系邮箱(选填)"),
        required=False,
        max_length=254,
        error_messages={"invalid": _("邮箱格式不正确,例如 hr@example.com。")},
    )
    reason = reason_field()

    def clean_contact_name(self):
        name = " ".join(self.cleaned_data["contact_name"].split())
        if not name:
            raise ValidationError(REQUIRED["required"], code="required")
        return name


class BankChangeForm(KeyedForm):
    bank_name = forms.CharField(
        label=_("开户行"),
        max_length=100,
        error_messages={**REQUIRED, "max_length": _("开户行名称不能超过100个字。")},
        help_text=_("写到支行,如:中国工商银行北京朝阳支行"),
    )
    bank_account = forms.CharField(
        label=_("对公账号"),
        max_length=40,
        error_messages=REQUIRED,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    bank_account_name = forms.CharField(label=_("户名"), max_length=200, error_messages=REQUIRED)
    reason = reason_field()

    def __init__(self, *args, unit_name: str, **kwargs):
        self.unit_name = unit_name
        super().__init__(*args, **kwargs)
        self.fields["bank_account_name"].help_text = _(
            "须与单位全称“%(name)s”一致(本单位的对公账户)。"
        ) % {"name": unit_name}

    def clean_bank_account(self):
        account = "".join(nfkc(self.cleaned_data["bank_account"]).split()).replace("-", "")
        if not account.isascii() or not account.isdigit() or not 8 <= len(account) <= 30:
            raise ValidationError(_("账号应为8-30位数字。"), code="bank_account")
        return account

    def clean_bank_account_name(self):
        name = self.cleaned_data["bank_account_name"].strip()
        if not same_name(name, self.unit_name):
            raise ValidationError(ACCOUNT_NAME % {"name": self.unit_name}, code="account_name")
        return self.unit_name


class PennyAmountForm(forms.Form):
    amount = forms.CharField(
        label=_("到账金额(元)"),
        max_length=12,
        error_messages=REQUIRED,
        help_text=_("查看新账户流水中附言为“账户验证”的一笔入账,填写其金额,如 0.35。"),
    )
