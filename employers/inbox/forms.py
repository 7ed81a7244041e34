"""The inbox list's filter: unread or all, and a category."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.models import InboxCategory


class InboxFilterForm(forms.Form):
    show = forms.ChoiceField(
        label=_("显示"),
        choices=[("", _("全部消息")), ("unread", _("仅未读"))],
        required=False,
        error_messages={"invalid_choice": _("请选择全部消息或仅未读。")},
    )
    category = forms.ChoiceField(
        label=_("类别"),
        choices=[("", _("全部类别")), *InboxCategory.choices],
        required=False,
        error_messages={"invalid_choice": _("请选择列表中的类别。")},
    )
