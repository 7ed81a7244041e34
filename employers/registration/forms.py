"""Forms of unit registration: one per wizard step."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from employers.models import OpenedAccount, VerificationMethod
from employers.registration.services import registration_blocker
from employers.selectors import normalise_ss_number, opened_account_match
from employers.validators import validate_agent_password
from portal.identifiers import (
    nfkc,
    normalise_mobile,
    normalise_resident_id,
    normalise_uscc,
    uscc_checksum_ok,
    validate_mobile,
    validate_person_name,
    validate_resident_id,
    validate_uscc_format,
)

REQUIRED = {"required": _("请填写此项。")}
USCC_CHECKSUM_MESSAGE = _("统一社会信用代码校验位不正确,请对照营业执照核对。")


class ResidentIdField(forms.CharField):
    default_validators = [validate_resident_id]

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 18)
        kwargs.setdefault("error_messages", REQUIRED)
        super().__init__(**kwargs)

    def to_python(self, value):
        return normalise_resident_id(super().to_python(value))

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.update({"autocomplete": "off", "spellcheck": "false"})
        return attrs


class MobileField(forms.CharField):
    default_validators = [validate_mobile]

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault("error_messages", REQUIRED)
        super().__init__(**kwargs)

    def to_python(self, value):
        return normalise_mobile(super().to_python(value))

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.update({"inputmode": "tel", "autocomplete": "tel"})
        return attrs


class SmsCodeField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 6)
        kwargs.setdefault("min_length", 6)
        kwargs.setdefault("label", _("短信验证码"))
        kwargs.setdefault(
            "error_messages",
            {
                **REQUIRED,
                "min_length": _("验证码为6位数字。"),
                "max_length": _("验证码为6位数字。"),
            },
        )
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.update({"inputmode": "numeric", "autocomplete": "one-time-code"})
        return attrs


class UnitForm(forms.Form):
    name = forms.CharField(label=_("单位全称"), max_length=200, error_messages=REQUIRED)
    uscc = forms.CharField(
        label=_("统一社会信用代码"),
        max_length=18,
        error_messages=REQUIRED,
        help_text=_("18位,见营业执照。"),
    )
    ss_number = forms.CharField(
        label=_("单位社保编号"),
        max_length=32,
        error_messages=REQUIRED,
        help_text=_("开户时社保经办机构告知的编号,见社会保险登记证。"),
    )
    legal_rep_name = forms.CharField(
        label=_("法定代表人姓名"),
        max_length=50,
        validators=[validate_person_name],
        error_messages=REQUIRED,
    )
    legal_rep_id_number = ResidentIdField(label=_("法定代表人身份证号"))

    def clean_uscc(self):
        uscc = normalise_uscc(self.cleaned_data["uscc"])
        validate_uscc_format(uscc)
        # Early pilot codes fail the check but are legal: only the registry can vouch for them.
        if not uscc_checksum_ok(uscc) and not OpenedAccount.objects.filter(uscc=uscc).exists():
            raise ValidationError(USCC_CHECKSUM_MESSAGE, code="uscc_checksum")
        return uscc

    def clean_ss_number(self):
        return normalise_ss_number(self.cleaned_data["ss_number"])

    def clean_name(self):
        return " ".join(nfkc(self.cleaned_data["name"]).split())

    def clean(self):
        data = super().clean()
        if {"name", "uscc", "ss_number"} <= data.keys():
            account = opened_account_match(
                uscc=data["uscc"], ss_number=data["ss_number"], name=data["name"]
            )
            # Told at the first step, before any SMS code is sent (registration_start refuses
            # it again at the end).
            blocker = registration_blocker(account)
            if blocker:
                raise ValidationError(blocker, code="already_registered")
            if account.legal_rep_name.strip() != data.get("legal_rep_name", "").strip():
                self.add_error(
                    "legal_rep_name",
                    _("法定代表人姓名与开户登记不一致,请核对或联系社保经办机构。"),
                )
        return data


class ContactForm(forms.Form):
    contact_phone = MobileField(label=_("联系人手机号"))
    contact_code = SmsCodeField()
    contact_email = forms.EmailField(
        label=_("联系邮箱(选填)"),
        required=False,
        max_length=254,
        error_messages={"invalid": _("邮箱格式不正确,例如 hr@example.com。")},
        help_text=_("填写后,审核结果除短信外也会发送到该邮箱。"),
    )


class BankForm(forms.Form):
    bank_name = forms.CharField(
        label=_("开户行"),
        max_length=100,
        error_messages=REQUIRED,
        help_text=_("如:中国工商银行北京分行营业部"),
    )
    bank_account = forms.CharField(label=_("对公账号"), max_length=40, error_messages=REQUIRED)
    bank_account_name = forms.CharField(
        label=_("户名"),
        max_length=200,
        error_messages=REQUIRED,
        help_text=_("应与单位全称一致。"),
    )

    def __init__(self, *args, unit_name: str = "", **kwargs):
        self.unit_name = unit_name
        super().__init__(*args, **kwargs)

    def clean_bank_account(self):
        account = "".join(self.cleaned_data["bank_account"].split()).replace("-", "")
        if not account.isascii() or not account.isdigit() or not 8 <= len(account) <= 30:
            raise ValidationError(_("账号应为8-30位数字。"), code="bank_account")
        return account

    def clean_bank_account_name(self):
        name = self.cleaned_data["bank_account_name"].strip()
        if self.unit_name and name != self.unit_name.strip():
            raise ValidationError(_("户名须与单位全称一致(缴费账户应为本单位对公账户)。"))
        return name


class AdminAgentForm(forms.Form):
    agent_name = forms.CharField(
        label=_("经办人姓名"),
        max_length=50,
        validators=[validate_person_name],
        error_messages=REQUIRED,
    )
    agent_id_number = ResidentIdField(label=_("经办人身份证号"))
    agent_phone = MobileField(label=_("经办人手机号"))
    agent_code = SmsCodeField()
    # Rendered back so that "获取验证码" (a round trip) keeps what was typed; the page is never
    # cached (never_cache on the wizard) and travels over HTTPS only.
    password = forms.CharField(
        label=_("登录密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=True),
        error_messages=REQUIRED,
        help_text=_("8-20位,同时包含字母和数字,不能包含身份证号或手机号。"),
        strip=False,
    )
    password2 = forms.CharField(
        label=_("确认密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=True),
        error_messages=REQUIRED,
        strip=False,
    )

    def clean(self):
        data = super().clean()
        password = data.get("password")
        if password:
            try:
                validate_agent_password(
                    password,
                    id_number=data.get("agent_id_number", ""),
                    phone=data.get("agent_phone", ""),
                )
            except ValidationError as exc:
                self.add_error("password", exc)
            else:
                if data.get("password2") and data["password2"] != password:
                    self.add_error("password2", _("两次输入的密码不一致。"))
        return data


class VerificationChoiceForm(forms.Form):
    method = forms.ChoiceField(
        label=_("认证方式"),
        choices=VerificationMethod.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择一种认证方式。")},
    )


class CertificateForm(forms.Form):
    certificate = forms.FileField(
        label=_("单位CA证书"),
        help_text=_("由USB-Key导出的证书文件(.cer/.crt/.pem)。"),
        error_messages={"required": _("请选择证书文件。")},
    )
    signature = forms.CharField(
        label=_("签名值"),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        error_messages=REQUIRED,
        help_text=_("插入USB-Key,用签名助手对上方挑战值签名,将结果粘贴到此处。"),
    )

    def clean_certificate(self):
        upload = self.cleaned_data["certificate"]
        if upload.size > 64 * 1024:
            raise ValidationError(_("证书文件过大,请确认选择的是证书文件。"))
        return upload.read()


class PennyAmountForm(forms.Form):
    amount = forms.CharField(
        label=_("到账金额(元)"),
        max_length=12,
        error_messages=REQUIRED,
        help_text=_("请查看对公账户流水中附言为“账户验证”的一笔入账,填写其金额,如 0.35。"),
    )


class ResubmitForm(forms.Form):
    """The answers a rejected unit may correct before resubmitting (the registry fixes the rest)."""

    legal_rep_id_number = ResidentIdField(label=_("法定代表人身份证号"))
    contact_email = ContactForm.base_fields["contact_email"]
    bank_name = BankForm.base_fields["bank_name"]
    bank_account = BankForm.base_fields["bank_account"]
    bank_account_name = BankForm.base_fields["bank_account_name"]
    reverify = forms.BooleanField(
        label=_("重新进行身份认证"),
        required=False,
        help_text=_(
            "审核意见要求重新认证(如人脸照片不清晰、不是法定代表人本人)时勾选。更换了法定代表人"
            "身份证号(人脸识别认证的)或对公账号(打款认证的)时,须重新认证,系统会自动要求。"
        ),
    )

    def __init__(self, *args, unit_name: str = "", **kwargs):
        self.unit_name = unit_name
        super().__init__(*args, **kwargs)

    clean_bank_account = BankForm.clean_bank_account
