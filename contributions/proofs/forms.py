"""Forms of 打印证明: issuing a proof (agents) and typing a code in (the public page)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from contributions.models import ContributionProof
from contributions.proofs.selectors import proof_person_candidates
from contributions.proofs.services import PERSON_NOT_FOUND, PERSON_REQUIRED, proof_months_check
from enrollment.add.forms import MonthField

MONTH_ERRORS = {
    "required": _("请填写年月。"),
    "invalid": _("请按“年-月”填写,如 2026-07。"),
}


class ProofIssueForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("证明类型"),
        choices=ContributionProof.Kind.choices,
        initial=ContributionProof.Kind.PERSON,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("请选择证明类型。"),
            "invalid_choice": _("请选择证明类型。"),
        },
    )
    person_query = forms.CharField(
        label=_("人员姓名或证件号码"),
        required=False,
        max_length=50,
        help_text=_(
            "开具个人证明时填写。姓名可输入部分;证件号码须输入完整号码"
            "(证件号码加密保存,不能按部分号码查询)。"
        ),
        error_messages={"max_length": _("不能超过50个字符。")},
    )
    person = forms.IntegerField(required=False, widget=forms.HiddenInput)
    month_from = MonthField(label=_("起始年月"), error_messages=MONTH_ERRORS)
    month_to = MonthField(label=_("截止年月"), error_messages=MONTH_ERRORS)

    def __init__(self, *args, agent, **kwargs):
        super().__init__(*args, **kwargs)
        self.agent = agent
        self.candidates = []
        for name in ("month_from", "month_to"):
            self.fields[name].widget.attrs.update({"placeholder": "2026-07"})

    def unbound_html_key(self) -> tuple:
        """What the unbound form's HTML depends on besides its class and the language
        ({% unbound_form_fragment %}): nothing, its choices, labels and placeholders are fixed
        and it lists no candidates before a search."""
        return ()

    def clean(self):
        data = super().clean()
        try:
            proof_months_check(data.get("month_from"), data.get("month_to"))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field, messages)
        data["person_obj"] = None
        if data.get("kind") == ContributionProof.Kind.PERSON:
            self._clean_person(data)
        return data

    def _clean_person(self, data):
        q = " ".join((data.get("person_query") or "").split())
        if not q:
            self.add_error("person_query", PERSON_REQUIRED)
            return
        candidates = proof_person_candidates(agent=self.agent, q=q)
        chosen = [person for person in candidates if person.pk == data.get("person")]
        if chosen:
            data["person_obj"] = chosen[0]
            if len(candidates) > 1:
                self.candidates = candidates  # shown again, the choice kept, if another field fails
        elif len(candidates) == 1:
            data["person_obj"] = candidates[0]
        elif not candidates:
            self.add_error("person_query", PERSON_NOT_FOUND)
        else:
            self.candidates = candidates
            self.add_error(
                "person_query",
                _("找到 %(count)d 名符合条件的人员,请在下方选择一人,或输入完整证件号码。")
                % {"count": len(candidates)},
            )


class ProofCheckForm(forms.Form):
    code = forms.CharField(
        label=_("验证码"),
        max_length=64,
        help_text=_("证明上印有16位验证码,如 ABCD-EFGH-JKMN-PQRS;不区分大小写,可不输入短横线。"),
        error_messages={
            "required": _("请输入证明上的验证码。"),
            "max_length": _("验证码不超过16位,请核对后重新输入。"),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
