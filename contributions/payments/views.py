"""缴费确认 actions on one bill (confirm, pay) and the sandbox bank's page (development only).

The bill pages themselves (月度核定, 缴费确认 lists, one bill) are in contributions.billing.views.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, View

from contributions.billing.selectors import bill_exists_for_agent
from contributions.billing.views import PAY_PERMISSION, OneBillMixin
from contributions.collection.services import bill_collected_by_tax_bureau
from contributions.models import Payment
from contributions.payments.bank import sandbox_balance, sandbox_balance_change, sandbox_bank_active
from contributions.payments.forms import BillPayForm, SandboxBalanceForm
from contributions.payments.services import bill_confirm, bill_pay
from employers.permissions import PermissionRequiredMixin


class BillConfirmView(OneBillMixin, View):
    permission = PAY_PERMISSION
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        try:
            bill = bill_confirm(agent=self.agent, bill=self.bill, request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if bill.total > 0 and bill_collected_by_tax_bureau(bill):
                text = _(
                    "核定单已确认,应缴合计 %(total)s 元,应征数据正推送税务部门。"
                    "请在缴费截止日 %(due)s 前在电子税务局缴款,或由三方协议在当日扣款。"
                )
            else:
                text = _("核定单已确认,应缴合计 %(total)s 元。请在缴费截止日 %(due)s 前发起扣款。")
            messages.success(
                request, text % {"total": f"{bill.total:,}", "due": f"{bill.due_on:%Y-%m-%d}"}
            )
        return redirect("contributions:bill_detail", bill_reference=self.bill.reference)


class BillPayView(OneBillMixin, View):
    permission = PAY_PERMISSION
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        target = reverse(
            "contributions:bill_detail", kwargs={"bill_reference": self.bill.reference}
        )
        form = BillPayForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("提交标识无效,请刷新页面后重新发起扣款。"))
            return redirect(target)
        try:
            payment = bill_pay(
                agent=self.agent,
                bill=self.bill,
                idempotency_key=form.cleaned_data["idempotency_key"],
                request=request,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(target)
        if payment.status == Payment.Status.REQUESTED:
            messages.info(request, _("扣款请求已发出,银行尚未答复。请稍后刷新本页查看结果。"))
        elif payment.status == Payment.Status.FAILED:
            # The bank's message and what to do are shown on the bill page itself.
            messages.error(request, _("扣款未成功,原因和处理办法见下方说明。"))
        elif payment.status == Payment.Status.SETTLED and payment.amount <= 0:
            messages.success(request, _("本核定单无需扣款,已记为已到账。"))
        else:
            messages.success(
                request,
                _(
                    "扣款成功,金额 %(amount)s 元,银行流水号 %(bank)s。"
                    "款项预计 %(date)s 到账,到账后状态变为“已到账”。"
                )
                % {
                    "amount": f"{payment.amount:,}",
                    "bank": payment.bank_reference,
                    "date": f"{payment.expected_settle_on:%Y-%m-%d}"
                    if payment.expected_settle_on
                    else "—",
                },
            )
        return redirect(target)


class SandboxBankView(PermissionRequiredMixin, FormView):
    """The unit's account at the sandbox bank: see and change the balance (development only)."""

    permission = PAY_PERMISSION
    template_name = "contributions/bill_sandbox_bank.html"
    form_class = SandboxBalanceForm

    def dispatch(self, request, *args, **kwargs):
        if not sandbox_bank_active():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        next_url = self.safe_next()
        return super().get_context_data(
            current_module="contributions",
            balance=sandbox_balance(self.agent.employer),
            next_url=next_url,
            # The bill the page came from, kept in the form only when it is the unit's own.
            bill_reference=self.bill_reference() if next_url else "",
            **kwargs,
        )

    def bill_reference(self) -> str:
        return self.request.POST.get("bill") or self.request.GET.get("bill") or ""

    def safe_next(self) -> str:
        reference = self.bill_reference()
        if not reference:
            return ""
        if not bill_exists_for_agent(agent=self.agent, reference=reference):
            return ""
        return reverse("contributions:bill_detail", kwargs={"bill_reference": reference})

    def form_valid(self, form):
        try:
            balance = sandbox_balance_change(
                agent=self.agent,
                amount=form.cleaned_data["amount"],
                mode=form.cleaned_data["mode"],
                request=self.request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(
            self.request, _("模拟账户余额现为 %(balance)s 元。") % {"balance": f"{balance:,}"}
        )
        return redirect(self.safe_next() or self.request.path)
