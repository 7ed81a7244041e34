"""The 新增参保人员 form: parses input; the rules run in enrollment.add.services."""

from __future__ import annotations

import copy

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from enrollment.add.attachments import attachment_check, max_bytes
from enrollment.models import DocumentType, HukouType, InsuranceCode, Person
from portal.form_fields import ShortModelChoiceField
from portal.i18n import lazy_format, lazy_join
from portal.identifiers import normalise_mobile, validate_mobile, validate_person_name

REQUIRED = {"required": _("此项为必填项。")}
DEFAULT_CODES = [
    InsuranceCode.PENSION,
    InsuranceCode.UNEMPLOYMENT,
    InsuranceCode.MEDICAL,
    InsuranceCode.WORK_INJURY,
]
FILES_NOT_KEPT = _("如提交后页面提示有错误,浏览器不会保留已选择的文件,请重新选择附件后再提交。")


class MonthInput(forms.DateInput):
    input_type = "month"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m")


class MonthField(forms.DateField):
    """A year and month (2026-07, 2026年7月, 202607), returned as the first of the month."""

    widget = MonthInput
    input_formats = ["%Y-%m", "%Y年%m月", "%Y%m", "%Y/%m"]

    def to_python(self, value):
        result = super().to_python(value)
        return result.replace(day=1) if result else result


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class EmploymentFormField(ShortModelChoiceField):
    """The 用工形式 select. With ``lookup`` (the form's ``employment_form_lookup``), a submitted id
    is read by it, a compiled query of the same rows, instead of by ``queryset.get()``; any other
    value goes the ModelChoiceField way."""

    lookup = None

    def to_python(self, value):
        plain_id = isinstance(value, str) and value.isascii() and value.isdigit()
        if self.lookup is None or not plain_id or len(value) > 18:
            return super().to_python(value)
        found = self.lookup(int(value))
        if found is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return found


class AttachmentField(forms.FileField):
    """One JPG/PNG/PDF file, checked by content (enrollment.add.attachments)."""

    def __init__(self, **kwargs):
        limit = max_bytes() // (1024 * 1024)
        kwargs.setdefault(
            "help_text",
            lazy_join(
                lazy_format(_("JPG、PNG或PDF,不超过 %(limit)d MB。"), limit=limit), FILES_NOT_KEPT
            ),
        )
        kwargs.setdefault(
            "error_messages",
            {**REQUIRED, "empty": _("文件是空的,请重新选择。"), "invalid": _("请选择文件。")},
        )
        kwargs.setdefault(
            "widget", forms.ClearableFileInput(attrs={"accept": ".jpg,.jpeg,.png,.pdf"})
        )
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if upload:
            attachment_check(upload)
        return upload


class AddEmployeeForm(forms.Form):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    name = forms.CharField(
        label=_("姓名"),
        max_length=50,
        validators=[validate_person_name],
        error_messages={**REQUIRED, "max_length": _("姓名不能超过50个字。")},
    )
    document_type = forms.ChoiceField(
        label=_("证件类型"),
        choices=DocumentType.choices,
        initial=DocumentType.RESIDENT_ID,
        error_messages=REQUIRED,
    )
    document_number = forms.CharField(
        label=_("证件号码"),
        max_length=30,
        error_messages={**REQUIRED, "max_length": _("证件号码不能超过30位。")},
        help_text=_("居民身份证号码会自动校验,并据此确定性别和出生日期。"),
    )
    sex = forms.ChoiceField(
        label=_("性别"),
        choices=[("", _("按身份证号自动识别")), *Person.Sex.choices],
        required=False,
        help_text=_("持居民身份证的可不选;其他证件必选。"),
    )
    birth_date = forms.DateField(
        label=_("出生日期"),
        required=False,
        widget=DateInput,
        error_messages={"invalid": _("请按“年-月-日”填写日期,如 1990-05-01。")},
        help_text=_("持居民身份证的可不填;其他证件必填。"),
    )
    nationality = forms.CharField(
        label=_("国籍(地区)"), max_length=50, initial="中国", error_messages=REQUIRED
    )
    hukou_type = forms.ChoiceField(
        label=_("户籍类型"), choices=HukouType.choices, error_messages=REQUIRED
    )
    phone = forms.CharField(
        label=_("手机号"),
        max_length=20,
        required=False,
        help_text=_("参保人员本人的手机号,选填。"),
    )
    employment_form = EmploymentFormField(
        label=_("用工形式"),
        queryset=None,
        empty_label=_("请选择"),
        error_messages={**REQUIRED, "invalid_choice": _("所选用工形式不可用,请重新选择。")},
    )
    insurance_codes = forms.MultipleChoiceField(
        label=_("参保险种"),
        choices=InsuranceCode.choices,
        initial=DEFAULT_CODES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("请至少选择一个险种。"),
            "invalid_choice": _("所选险种不存在,请重新选择。"),
        },
        help_text=_("生育保险自2019年起与职工基本医疗保险合并征缴。"),
    )
    start_month = MonthField(
        label=_("参保起始年月"),
        error_messages={**REQUIRED, "invalid": _("请按“年-月”填写,如 2026-07。")},
        help_text=_("一般为用工当月;最晚为下月,早于当月的为补登记,需经办机构审核。"),
    )
    employment_start = forms.DateField(
        label=_("用工日期"),
        required=False,
        widget=DateInput,
        error_messages={"invalid": _("请按“年-月-日”填写日期,如 2026-07-01。")},
        help_text=_("应自用工之日起30日内办理增员。"),
    )
    contribution_base = forms.DecimalField(
        label=_("月缴费工资(元)"),
        max_digits=10,
        decimal_places=2,
        min_value=0,
        error_messages={
            **REQUIRED,
            "invalid": _("请填写金额,如 8000 或 8000.50。"),
            "max_decimal_places": _("金额最多两位小数。"),
            "max_digits": _("金额过大,请核对。"),
            "min_value": _("金额不能为负数。"),
        },
    )
    labour_contract = AttachmentField(label=_("劳动合同"))
    id_scan = AttachmentField(label=_("身份证件扫描件"))

    def __init__(
        self,
        *args,
        employment_forms,
        employment_form_choices: list[tuple[int, str]] | None = None,
        employment_form_lookup=None,
        attachments_required: bool = True,
        **kwargs,
    ):
        """``employment_form_choices``: (id, name) of ``employment_forms`` as the caller read
        them (selectors.employment_form_choices); the select offers those instead of reading
        the queryset again. A submitted choice is still checked against the queryset's rows:
        by ``employment_form_lookup(pk)`` (selectors.employment_form_get) when given."""
        super().__init__(*args, **kwargs)
        field = self.fields["employment_form"]
        field.queryset = employment_forms
        field.lookup = employment_form_lookup
        self._html_key = None
        if employment_form_choices is not None:
            choices = tuple(employment_form_choices)
            field.choices = [("", field.empty_label), *choices]
            self._html_key = _html_key(attachments_required, choices)
        if not attachments_required:
            for name in ("labour_contract", "id_scan"):
                self.fields[name].required = False
                self.fields[name].help_text = (
                    _("不选择则保留已上传的文件。") + " " + str(self.fields[name].help_text)
                )

    def unbound_html_key(self) -> tuple | None:
        """What the unbound form's HTML depends on besides its class, its initial values and
        the language ({% unbound_form_fragment %}); None while its choices are not yet read."""
        return self._html_key

    def clean_phone(self):
        phone = self.cleaned_data.get("phone", "")
        if not phone:
            return ""
        phone = normalise_mobile(phone)
        validate_mobile(phone)
        return phone

    def clean_document_number(self):
        return "".join(self.cleaned_data["document_number"].split()).upper()

    def service_kwargs(self) -> dict:
        """The cleaned values as keyword arguments of the add-employee services."""
        data = dict(self.cleaned_data)
        attachments = [
            (kind, data.pop(kind)) for kind in ("labour_contract", "id_scan") if data.get(kind)
        ]
        data.pop("labour_contract", None)
        data.pop("id_scan", None)
        data["attachments"] = attachments
        return data


def _html_key(attachments_required: bool, choices: tuple) -> tuple:
    return (attachments_required, choices)


class UnboundAddEmployeeForm:
    """An unbound AddEmployeeForm on a page to fill in, built only when something reads more of
    it than {% unbound_form_fragment %} does: the tag prints the form's stored HTML with its
    token put back in, and the form's fields (deep copies of the class's) would be built for
    nothing. The tag reads its initial values, its key and its token's field; anything else
    builds the form with the same arguments and asks it (rendering the HTML to store)."""

    prefix = None
    auto_id = "id_%s"
    is_bound = False
    # What BoundField and the tag read of a form, for the token's field.
    add_prefix = forms.Form.add_prefix
    add_initial_prefix = forms.Form.add_initial_prefix
    get_initial_for_field = forms.Form.get_initial_for_field

    def __init__(self, **kwargs):
        if "data" in kwargs or "files" in kwargs or set(kwargs) - self._KWARGS:
            raise TypeError("UnboundAddEmployeeForm: an unbound form's arguments only")
        self._kwargs = kwargs
        self._form = None
        self.initial = kwargs.get("initial") or {}
        self.label_suffix = None
        self.use_required_attribute = True
        self.renderer = forms.renderers.get_default_renderer()
        self.errors = forms.utils.ErrorDict()

    _KWARGS = frozenset(
        {"initial", "prefix", "employment_forms", "employment_form_choices", "attachments_required"}
    )

    def unbound_html_key(self) -> tuple | None:
        choices = self._kwargs.get("employment_form_choices")
        if choices is None or self._kwargs.get("prefix") is not None:
            return None
        return _html_key(self._kwargs.get("attachments_required", True), tuple(choices))

    def __getitem__(self, name: str) -> forms.BoundField:
        field = AddEmployeeForm.base_fields[name]  # a KeyError as the form's, for the templates
        if self._form is None and type(field.widget) is forms.HiddenInput:
            # The token's field, as the form's own: __init__ changes none of its hidden fields.
            return forms.BoundField(self, copy.deepcopy(field), name)
        return self.form[name]

    @property
    def form(self) -> AddEmployeeForm:
        if self._form is None:
            self._form = AddEmployeeForm(**self._kwargs)
        return self._form

    def __getattr__(self, name):
        return getattr(self.form, name)

    def __iter__(self):
        return iter(self.form)


def form_initial_from_filing(filing) -> dict:
    """The resubmission form's values: what the rejected filing said."""
    enrolment = filing.enrolment
    person = enrolment.person
    return {
        "idempotency_key": filing.idempotency_key,
        "name": person.name,
        "document_type": person.document_type,
        "document_number": person.document_number,
        "sex": person.sex,
        "birth_date": person.birth_date,
        "nationality": person.nationality,
        "hukou_type": person.hukou_type,
        "phone": person.phone,
        "employment_form": enrolment.employment_form_id,
        "insurance_codes": list(enrolment.insurance_codes),
        "start_month": enrolment.start_month,
        "employment_start": enrolment.employment_start,
        "contribution_base": enrolment.contribution_base,
    }
