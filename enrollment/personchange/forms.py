"""The 个人信息变更 form: parses input; the rules run in enrollment.personchange.services."""

from __future__ import annotations

import copy

from django import forms
from django.utils.translation import gettext_lazy as _

from enrollment.add.forms import REQUIRED, AddEmployeeForm, AttachmentField
from portal.identifiers import normalise_mobile, validate_mobile

_ADD = AddEmployeeForm.base_fields


class PersonChangeForm(forms.Form):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    name = copy.deepcopy(_ADD["name"])
    phone = forms.CharField(
        label=_("新手机号"),
        max_length=20,
        required=False,
        help_text=_("不变更手机号请留空。"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    hukou_type = copy.deepcopy(_ADD["hukou_type"])
    employment_form = copy.deepcopy(_ADD["employment_form"])
    reason = forms.CharField(
        label=_("变更原因"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={**REQUIRED, "max_length": _("变更原因不能超过200个字。")},
        help_text=_("如:登记时姓名录入错误、户口由农村迁为城镇、劳动合同类型变更等。"),
    )
    scan = AttachmentField(label=_("证明材料"))

    def __init__(
        self, *args, employment_forms, current_phone: str = "", attachment_required=True, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.fields["employment_form"].queryset = employment_forms
        self.fields["scan"].help_text = (
            _("姓名、户籍类型变更请上传身份证件或户口簿扫描件;用工形式变更请上传劳动合同。")
            + " "
            + str(self.fields["scan"].help_text)
        )
        if current_phone:
            self.fields["phone"].help_text = _("当前登记为 %s;不变更请留空。") % current_phone
        if not attachment_required:
            self.fields["scan"].required = False
            self.fields["scan"].help_text = _("不选择则保留已上传的文件。")

    def clean_phone(self):
        phone = self.cleaned_data.get("phone", "")
        if not phone:
            return ""
        phone = normalise_mobile(phone)
        validate_mobile(phone)
        return phone

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


def person_change_initial(enrolment) -> dict:
    """The form's first values: the registered ones (the phone never in full)."""
    person = enrolment.person
    return {
        "name": person.name,
        "hukou_type": person.hukou_type,
        "employment_form": enrolment.employment_form_id,
    }
