"""Forms of agent management by the unit admin."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from employers.agents.services import AGENT_ID_TAKEN, ROLES_REQUIRED
from employers.models import Agent, Employer, Role
from employers.registration.forms import REQUIRED, MobileField, ResidentIdField, SmsCodeField
from employers.selectors import agent_find
from employers.validators import PASSWORD_RULE, validate_agent_password
from portal.identifiers import validate_person_name

PASSWORD_HELP = _("8-20位,同时包含字母和数字,不能包含身份证号或手机号。")
PASSWORDS_DIFFER = _("两次输入的密码不一致。")


class RolesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("角色"))
        kwargs.setdefault("choices", Role.choices)
        kwargs.setdefault(
            "error_messages",
            {"required": ROLES_REQUIRED, "invalid_choice": _("所选角色不存在,请重新选择。")},
        )
        kwargs.setdefault(
            "help_text", _("单位管理员可办理全部业务,并管理本单位经办人。可选择多个角色。")
        )
        super().__init__(**kwargs)


class PasswordPairMixin:
    """Two password fields checked against the agent password rules of DESIGN.md section 7."""

    def check_password_pair(self, data: dict, *, id_number: str, phone: str) -> None:
        password = data.get("password")
        if not password:
            return
        try:
            validate_agent_password(password, id_number=id_number, phone=phone)
        except ValidationError as exc:
            self.add_error("password", exc)
            return
        if data.get("password2") and data["password2"] != password:
            self.add_error("password2", PASSWORDS_DIFFER)


def password_field(label):
    return forms.CharField(
        label=label,
        max_length=128,
        strip=False,
        # Rendered back so that "获取验证码" keeps what was typed (the page is never cached).
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=True),
        error_messages={**REQUIRED, "max_length": PASSWORD_RULE},
    )


class AgentAddForm(PasswordPairMixin, forms.Form):
    name = forms.CharField(
        label=_("姓名"),
        max_length=50,
        validators=[validate_person_name],
        error_messages={**REQUIRED, "max_length": _("姓名不能超过50个字。")},
    )
    id_number = ResidentIdField(label=_("身份证号"))
    phone = MobileField(
        label=_("手机号"), help_text=_("经办人本人的手机号,用于接收验证码和业务通知。")
    )
    code = SmsCodeField(help_text=_("点击“获取验证码”,填写发到上面手机号的6位数字。"))
    roles = RolesField()
    password = password_field(_("初始密码"))
    password2 = password_field(_("确认初始密码"))

    def __init__(self, *args, employer: Employer, **kwargs):
        self.employer = employer
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = _(
            "%(rule)s 请线下告知经办人本人,并提醒其登录后修改。"
        ) % {"rule": PASSWORD_HELP}

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(REQUIRED["required"], code="required")
        return name

    def clean_id_number(self):
        id_number = self.cleaned_data["id_number"]
        # Checked here as well as in agent_add, so that no SMS code is spent on a refusal.
        if agent_find(employer=self.employer, id_number=id_number) is not None:
            raise ValidationError(AGENT_ID_TAKEN, code="id_number_taken")
        return id_number

    def clean(self):
        data = super().clean()
        self.check_password_pair(
            data, id_number=data.get("id_number", ""), phone=data.get("phone", "")
        )
        return data


class AgentRolesForm(forms.Form):
    roles = RolesField()


class AgentPasswordResetForm(PasswordPairMixin, forms.Form):
    password = password_field(_("新密码"))
    password2 = password_field(_("确认新密码"))

    def __init__(self, *args, target: Agent, **kwargs):
        self.target = target
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = _(
            "%(rule)s 请线下告知经办人本人;重置后该经办人已登录的会话立即失效。"
        ) % {"rule": PASSWORD_HELP}

    def clean(self):
        data = super().clean()
        self.check_password_pair(data, id_number=self.target.id_number, phone=self.target.phone)
        return data
