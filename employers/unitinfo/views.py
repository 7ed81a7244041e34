"""单位基本信息 and 银行账户信息: the details in force, and their changes through review."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, TemplateView

from employers.models import PennyDropTransfer, UnitChangeFiling
from employers.permissions import (
    PermissionRequiredMixin,
    agent_has_permission,
    permission_denied_response,
)
from employers.unitinfo.forms import BankChangeForm, ContactChangeForm, PennyAmountForm
from employers.unitinfo.selectors import (
    injury_risk_class_label,
    open_unit_changes_for_agent,
    unit_agents_for_agent,
    unit_change_get_for_agent,
    unit_change_latest_transfer,
    unit_change_list_for_agent,
    unit_change_rows,
    unit_get_for_agent,
)
from employers.unitinfo.services import (
    bank_change_confirm,
    bank_change_start,
    bank_change_transfer_request,
    contact_change_submit,
    contact_phone_code_send,
    unit_change_cancel,
)
from portal.audit import client_ip
from portal.identifiers import mask_phone
from portal.models import ReviewState
from portal.review import review_history

MANAGE = "unit.manage"
Kind = UnitChangeFiling.Kind


def add_service_errors(form, exc: ValidationError) -> None:
    """Put a service's refusal beside its field, or in the summary when it names none."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, field_messages in errors.items():
        form.add_error(field if field in form.fields else None, field_messages)


class UnitInfoMixin(PermissionRequiredMixin):
    permission = "unit.view"

    @cached_property
    def employer(self):
        return unit_get_for_agent(agent=self.agent)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            current_module="unit",
            employer=self.employer,
            may_manage=agent_has_permission(self.agent, MANAGE),
            **kwargs,
        )


class UnitInfoView(UnitInfoMixin, TemplateView):
    template_name = "employers/unitinfo/info.html"

    def get_context_data(self, **kwargs):
        employer = self.employer
        open_changes = open_unit_changes_for_agent(agent=self.agent)
        return super().get_context_data(
            account=employer.account,
            risk_class=injury_risk_class_label(employer.account.injury_risk_class),
            masked_contact_phone=mask_phone(employer.contact_phone),
            agents=unit_agents_for_agent(agent=self.agent),
            open_changes=[
                (filing, unit_change_rows(filing, current=employer))
                for filing in open_changes.values()
            ],
            filings=unit_change_list_for_agent(agent=self.agent),
            **kwargs,
        )


class ContactChangeView(UnitInfoMixin, FormView):
    permission = MANAGE
    template_name = "employers/unitinfo/contact.html"
    form_class = ContactChangeForm

    def get_initial(self):
        employer = self.employer
        return {
            "contact_name": employer.contact_name,
            "contact_phone": employer.contact_phone,
            "address": employer.address,
            "contact_email": employer.contact_email,
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            open_contact=open_unit_changes_for_agent(agent=self.agent).get(Kind.CONTACT),
            masked_contact_phone=mask_phone(self.employer.contact_phone),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        if "send_code" in request.POST:
            return self.send_code()
        return super().post(request, *args, **kwargs)

    def send_code(self):
        form = self.get_form()
        form.is_valid()  # keeps what was typed; only the phone's errors are shown
        form.errors.clear()
        try:
            phone = form.fields["contact_phone"].clean(self.request.POST.get("contact_phone", ""))
            contact_phone_code_send(
                agent=self.agent, phone=phone, ip_address=client_ip(self.request)
            )
        except ValidationError as exc:
            form.add_error("contact_phone", exc.messages)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(
            self.request,
            _("验证码已发送至 %(phone)s,5分钟内有效。") % {"phone": mask_phone(phone)},
        )
        return self.render_to_response(self.get_context_data(form=form, code_sent=True))

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            filing = contact_change_submit(
                agent=self.agent,
                idempotency_key=data["idempotency_key"],
                contact_name=data["contact_name"],
                contact_phone=data["contact_phone"],
                address=data["address"],
                contact_email=data["contact_email"],
                reason=data["reason"],
                code=data["code"],
                request=self.request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("联系信息变更已提交,业务编号 %(reference)s。审核通过前,原联系信息继续有效。")
            % {"reference": filing.reference},
        )
        return redirect("unitinfo:change_detail", pk=filing.pk)


class BankInfoView(UnitInfoMixin, TemplateView):
    template_name = "employers/unitinfo/bank.html"

    def get_context_data(self, **kwargs):
        open_bank = open_unit_changes_for_agent(agent=self.agent).get(Kind.BANK)
        return super().get_context_data(
            open_bank=open_bank,
            open_rows=unit_change_rows(open_bank, current=self.employer) if open_bank else [],
            filings=unit_change_list_for_agent(agent=self.agent, kind=Kind.BANK),
            **kwargs,
        )


class BankChangeView(UnitInfoMixin, FormView):
    permission = MANAGE
    template_name = "employers/unitinfo/bank_change.html"
    form_class = BankChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "unit_name": self.employer.name}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            open_bank=open_unit_changes_for_agent(agent=self.agent).get(Kind.BANK), **kwargs
        )

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            filing = bank_change_start(
                agent=self.agent,
                idempotency_key=data["idempotency_key"],
                bank_name=data["bank_name"],
                bank_account=data["bank_account"],
                bank_account_name=data["bank_account_name"],
                reason=data["reason"],
                request=self.request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _(
                "已向新账户汇出一笔小额款项,业务编号 %(reference)s。到账后请在本页填写收到的金额,"
                "验证通过后提交审核。"
            )
            % {"reference": filing.reference},
        )
        return redirect("unitinfo:change_detail", pk=filing.pk)


class UnitChangeDetailView(UnitInfoMixin, FormView):
    """One change filing: old and new values, its state; for a bank change awaiting its
    penny-drop, the admin enters the amount (POST), asks for a new transfer or withdraws."""

    template_name = "employers/unitinfo/change_detail.html"
    form_class = PennyAmountForm

    @cached_property
    def filing(self) -> UnitChangeFiling:
        return unit_change_get_for_agent(agent=self.agent, pk=self.kwargs["pk"])

    def deny(self, request):
        denied = super().deny(request)
        if denied is not None:
            return denied
        self.filing  # noqa: B018 — load the filing (or 404) before anything else happens
        if request.method == "POST" and not agent_has_permission(self.agent, MANAGE):
            return permission_denied_response(request, MANAGE)
        return None

    def get_context_data(self, **kwargs):
        filing = self.filing
        transfer = unit_change_latest_transfer(filing) if filing.kind == Kind.BANK else None
        labels = dict(ReviewState.choices)
        history = [
            (step, labels.get(step.to_state, step.to_state)) for step in review_history(filing)
        ]
        return super().get_context_data(
            filing=filing,
            rows=unit_change_rows(filing),
            transfer=transfer,
            waiting=transfer is not None and transfer.state == PennyDropTransfer.State.SENT,
            pending=transfer is not None and transfer.state == PennyDropTransfer.State.PENDING,
            arrived=transfer is not None
            and transfer.arrives_on is not None
            and transfer.arrives_on <= timezone.localdate(),
            history=history,
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        if "cancel" in request.POST:
            return self.act(unit_change_cancel, _("已撤销该变更申请,原银行账户继续有效。"))
        if "request_transfer" in request.POST:
            return self.act(
                bank_change_transfer_request,
                _("已申请向新账户重新汇出一笔小额款项,银行受理后将显示预计到账日期。"),
            )
        return super().post(request, *args, **kwargs)

    def act(self, service, done_message):
        try:
            service(agent=self.agent, filing=self.filing, request=self.request)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(self.request, message)
        else:
            messages.success(self.request, done_message)
        return redirect(self.detail_url)

    @property
    def detail_url(self) -> str:
        return reverse("unitinfo:change_detail", kwargs={"pk": self.filing.pk})

    def form_valid(self, form):
        try:
            bank_change_confirm(
                agent=self.agent,
                filing=self.filing,
                amount_text=form.cleaned_data["amount"],
                request=self.request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("新账户验证通过,变更申请已提交审核。审核通过前,原银行账户继续有效。"),
        )
        return redirect(self.detail_url)
