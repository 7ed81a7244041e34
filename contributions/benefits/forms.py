"""The 待遇申领 forms: parse input; the rules run in contributions.benefits.services."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributions.models import MaternityKind
from portal.i18n import lazy_format, lazy_join
from portal.uploads import DEFAULT_MAX_BYTES, upload_check

REQUIRED = {"required": _("请填写此项。")}
FILES_NOT_KEPT = _("如提交后页面提示有错误,浏览器不会保留已选择的文件,请重新选择附件后再提交。")
DATE_INVALID = _("请按“年-月-日”填写日期,如 2026-05-01。")
MONEY_ERRORS = {
    **REQUIRED,
    "invalid": _("请填写金额,如 8000 或 8000.50。"),
    "max_decimal_places": _("金额最多两位小数。"),
    "max_digits": _("金额过大,请核对。"),
    "max_whole_digits": _("金额过大,请核对。"),
    "min_value": _("金额必须大于0。"),
}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class AttachmentField(forms.FileField):
    """One JPG/PNG/PDF file, checked by content (portal.uploads)."""

    def __init__(self, **kwargs):
        limit = DEFAULT_MAX_BYTES // (1024 * 1024)
        kwargs.setdefault(
            "help_text",
            lazy_join(
                lazy_format(_("JPG、PNG或PDF,不超过 %(limit)d MB。"), limit=limit), FILES_NOT_KEPT
            ),
        )
        kwargs.setdefault(
            "error_messages",
            {
                "required": _("请选择要上传的文件。"),
                "empty": _("文件是空的,请重新选择。"),
                "invalid": _("请选择文件。"),
            },
        )
        kwargs.setdefault(
            "widget", forms.ClearableFileInput(attrs={"accept": ".jpg,.jpeg,.png,.pdf"})
        )
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if upload:
            upload_check(upload)
        return upload


def _document_number(value: str) -> str:
    return "".join(value.split()).upper()


class MaternityClaimForm(forms.Form):
    """The facts of a 生育津贴 claim (the first step; files come with the confirmation)."""

    FACTS = ("document_number", "event_date", "kind", "babies", "difficult_birth")

    document_number = forms.CharField(
        label=_("职工证件号码"),
        max_length=30,
        error_messages={**REQUIRED, "max_length": _("证件号码不能超过30位。")},
        help_text=_("填写生育(流产)职工的完整证件号码。"),
    )
    event_date = forms.DateField(
        label=_("生育(流产)日期"),
        widget=DateInput,
        error_messages={**REQUIRED, "invalid": DATE_INVALID},
    )
    kind = forms.ChoiceField(
        label=_("生育类别"),
        choices=[("", _("请选择")), *MaternityKind.choices],
        error_messages={
            "required": _("请选择生育类别。"),
            "invalid_choice": _("请从列表中选择生育类别。"),
        },
    )
    babies = forms.TypedChoiceField(
        label=_("胎儿数"),
        coerce=int,
        choices=[(str(count), str(count)) for count in range(1, 7)],
        initial="1",
        error_messages={
            "required": _("请选择胎儿数。"),
            "invalid_choice": _("请从列表中选择胎儿数。"),
        },
        help_text=_("多胞胎生育的,每多生育1个婴儿增加产假15天。流产不适用。"),
    )
    difficult_birth = forms.BooleanField(
        label=_("难产"),
        required=False,
        help_text=_("难产的增加产假15天。流产不适用。"),
    )
    unit_average_wage = forms.DecimalField(
        label=_("单位上年度职工月平均工资(元)"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages=MONEY_ERRORS,
        help_text=_("本统筹区由单位申报月平均工资,经办机构将核对单位工资发放记录。"),
    )

    def __init__(self, *args, wage_declared: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not wage_declared:
            self.fields.pop("unit_average_wage")

    def clean_document_number(self):
        return _document_number(self.cleaned_data["document_number"])

    def facts(self) -> dict:
        """The cleaned facts as keyword arguments of maternity_claim_compute."""
        data = {name: self.cleaned_data[name] for name in self.FACTS}
        data["unit_average_wage"] = self.cleaned_data.get("unit_average_wage")
        return data

    def fact_fields(self):
        """The facts as bound fields, carried by the confirmation as hidden inputs."""
        return [self[name] for name in self.fields if name in (*self.FACTS, "unit_average_wage")]


class MaternityConfirmForm(MaternityClaimForm):
    """The confirmation: the facts again (hidden), the amount shown, the certificate, the key."""

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    shown_amount = forms.DecimalField(
        widget=forms.HiddenInput, max_digits=12, decimal_places=2, required=False
    )
    certificate = AttachmentField(label=_("出生医学证明或医疗机构诊断证明"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())

    def submit_kwargs(self) -> dict:
        return {
            **self.facts(),
            "idempotency_key": self.cleaned_data["idempotency_key"],
            "shown_amount": self.cleaned_data.get("shown_amount"),
            "certificate": self.cleaned_data.get("certificate"),
        }


class InjuryRecognitionForm(forms.Form):
    """工伤认定申请."""

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    document_number = forms.CharField(
        label=_("受伤职工证件号码"),
        max_length=30,
        error_messages={**REQUIRED, "max_length": _("证件号码不能超过30位。")},
        help_text=_("填写受伤职工的完整证件号码;该职工在事故发生时须在本单位参加工伤保险。"),
    )
    accident_date = forms.DateField(
        label=_("事故发生日期"),
        widget=DateInput,
        error_messages={**REQUIRED, "invalid": DATE_INVALID},
    )
    accident_time = forms.TimeField(
        label=_("事故发生时刻"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={**REQUIRED, "invalid": _("请按“时:分”填写,如 14:30。")},
    )
    place = forms.CharField(
        label=_("事故发生地点"),
        max_length=200,
        error_messages={**REQUIRED, "max_length": _("地点不能超过200个字。")},
    )
    description = forms.CharField(
        label=_("事故经过"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={**REQUIRED, "max_length": _("事故经过不能超过2000个字。")},
        help_text=_("写明当时从事的工作、受伤经过和受伤部位。"),
    )
    late_reason = forms.CharField(
        label=_("逾期申请原因"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": _("原因不能超过1000个字。")},
        help_text=_(
            "《工伤保险条例》第十七条:单位应自事故发生之日起30日内提出工伤认定申请。"
            "超过30日的,必须填写逾期原因。"
        ),
    )
    diagnosis = AttachmentField(label=_("初次诊断证明"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())

    def clean_document_number(self):
        return _document_number(self.cleaned_data["document_number"])

    def submit_kwargs(self) -> dict:
        data = self.cleaned_data
        naive = datetime.datetime.combine(data["accident_date"], data["accident_time"])
        return {
            "idempotency_key": data["idempotency_key"],
            "document_number": data["document_number"],
            "accident_at": timezone.make_aware(naive),
            "place": data["place"],
            "description": data["description"],
            "late_reason": data.get("late_reason", ""),
            "diagnosis": data.get("diagnosis"),
        }


LEVELS = [("", _("请选择"))] + [(str(level), _("%d 级") % level) for level in range(1, 11)]


class DisabilityLevelField(forms.IntegerField):
    """伤残等级, a number behind a list: its range is checked by the rule
    (contributions.benefits.rules.disability_lump_sum), whose message the page shows."""


class InjuryClaimForm(forms.Form):
    """工伤待遇申领; the receipts come in ReceiptFormSet."""

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    disability_level = DisabilityLevelField(
        label=_("伤残等级"),
        widget=forms.Select(choices=LEVELS),
        error_messages={"required": _("请选择伤残等级。"), "invalid": _("请选择伤残等级。")},
        help_text=_("按劳动能力鉴定结论书填写。"),
    )
    assessment = AttachmentField(label=_("劳动能力鉴定结论书"))
    receipts_scan = AttachmentField(
        label=_("医疗费票据扫描件"),
        required=False,
        help_text=lazy_join(_("申报医疗费的必须上传,可将全部票据扫描为一个PDF。"), FILES_NOT_KEPT),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())


class ReceiptForm(forms.Form):
    """One medical receipt; an untouched row is left out."""

    number = forms.CharField(
        label=_("票据号"),
        max_length=40,
        error_messages={**REQUIRED, "max_length": _("票据号不能超过40位。")},
    )
    issued_on = forms.DateField(
        label=_("开票日期"),
        widget=DateInput,
        error_messages={**REQUIRED, "invalid": DATE_INVALID},
    )
    amount = forms.DecimalField(
        label=_("金额(元)"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages=MONEY_ERRORS,
    )


ReceiptFormSet = forms.formset_factory(ReceiptForm, extra=4, max_num=20, validate_max=True)


def receipts_of(formset) -> list[dict]:
    """The filled-in rows of a valid receipt formset."""
    return [form.cleaned_data for form in formset.forms if form.cleaned_data]
