"""留言板 forms: parse what the agent typed; the attachment is checked by content here."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from employers.helpdesk.services import ATTACHMENT_MAX_BYTES, TEXT_MAX_LENGTH
from employers.models import QuestionTopic
from portal.i18n import lazy_format, lazy_join
from portal.uploads import upload_check

REQUIRED = {"required": _("此项为必填项。")}
FILES_NOT_KEPT = _("如提交后页面提示有错误,浏览器不会保留已选择的文件,请重新选择附件。")


class QuestionAttachmentField(forms.FileField):
    """An optional JPG/PNG/PDF (a screenshot, a scanned notice); cleaned to a CheckedFile."""

    def __init__(self, **kwargs):
        limit = ATTACHMENT_MAX_BYTES // (1024 * 1024)
        kwargs.setdefault("label", _("附件(可选)"))
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            lazy_join(
                lazy_format(
                    _("可附一张截图或扫描件:JPG、PNG或PDF,不超过 %(limit)d MB。"), limit=limit
                ),
                FILES_NOT_KEPT,
            ),
        )
        kwargs.setdefault(
            "error_messages", {"empty": _("文件是空的,请重新选择。"), "invalid": _("请选择文件。")}
        )
        kwargs.setdefault("widget", forms.FileInput(attrs={"accept": ".jpg,.jpeg,.png,.pdf"}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if not upload:
            return None
        return upload_check(upload, max_bytes=ATTACHMENT_MAX_BYTES)


def _text_field():
    return forms.CharField(
        label=_("内容"),
        max_length=TEXT_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": TEXT_MAX_LENGTH}),
        help_text=_("请写明办理的业务、业务编号和遇到的情况,不超过2000字。请勿填写密码或验证码。"),
        error_messages={
            **REQUIRED,
            "max_length": _("内容不能超过%(limit_value)d个字(现有%(show_value)d个字)。"),
        },
    )


class QuestionAskForm(forms.Form):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    topic = forms.ChoiceField(
        label=_("问题类别"),
        choices=[("", _("请选择")), *QuestionTopic.choices],
        error_messages={**REQUIRED, "invalid_choice": _("请选择列表中的问题类别。")},
    )
    subject = forms.CharField(
        label=_("标题"),
        max_length=100,
        error_messages={**REQUIRED, "max_length": _("标题不能超过%(limit_value)d个字。")},
    )
    text = _text_field()
    upload = QuestionAttachmentField()


class QuestionFollowUpForm(forms.Form):
    text = _text_field()
    upload = QuestionAttachmentField()
