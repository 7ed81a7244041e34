"""The 续保 form: the new enrolment's terms; the person's details are those registered."""

from __future__ import annotations

import copy

from django import forms
from django.utils.translation import gettext_lazy as _

from enrollment.add.forms import AddEmployeeForm

_ADD = AddEmployeeForm.base_fields
ATTACHMENTS = ("labour_contract", "id_scan")


class ResumeForm(forms.Form):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    employment_form = copy.deepcopy(_ADD["employment_form"])
    employment_start = copy.deepcopy(_ADD["employment_start"])
    insurance_codes = copy.deepcopy(_ADD["insurance_codes"])
    start_month = copy.deepcopy(_ADD["start_month"])
    contribution_base = copy.deepcopy(_ADD["contribution_base"])
    labour_contract = copy.deepcopy(_ADD["labour_contract"])
    id_scan = copy.deepcopy(_ADD["id_scan"])

    def __init__(self, *args, employment_forms, attachments_required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["employment_form"].queryset = employment_forms
        self.fields["start_month"].label = _("续保起始年月")
        self.fields["start_month"].help_text = _(
            "不能早于上次参保结束后的次月;最晚为下月,早于当月的为补登记,需经办机构审核。"
        )
        self.fields["employment_start"].label = _("重新用工日期")
        self.fields["labour_contract"].label = _("劳动合同(重新签订或续签)")
        self.fields["id_scan"].required = False
        self.fields["id_scan"].help_text = _("选填:原增员时已上传的,可不再上传。")
        if not attachments_required:
            self.fields["labour_contract"].required = False
            self.fields["labour_contract"].help_text = _("不选择则保留已上传的文件。")

    def service_kwargs(self) -> dict:
        """The cleaned values as keyword arguments of the 续保 services."""
        data = dict(self.cleaned_data)
        files = [(kind, data.pop(kind, None)) for kind in ATTACHMENTS]
        data["attachments"] = [(kind, upload) for kind, upload in files if upload]
        return data


def resume_initial(enrolment) -> dict:
    """The form's first values: the earlier (or rejected) enrolment's terms."""
    return {
        "employment_form": enrolment.employment_form_id,
        "insurance_codes": list(enrolment.insurance_codes),
        "contribution_base": enrolment.contribution_base,
    }
