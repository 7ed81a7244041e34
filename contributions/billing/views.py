"""月度核定 and 缴费确认 pages: the unit's bills, one bill, confirm, pay, and the sandbox bank."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, TemplateView, View

from contributions.billing.forms import BillMonthForm, BillPayForm, SandboxBalanceForm
from contributions.billing.selectors import (
    bill_get_for_agent,
    bill_lines_page,
    bill_list_for_agent,
    bill_page,
    bill_payments,
    bill_type_totals,
)
from contributions.models import BillKind, BillStatus, MonthlyBill, Payment
from contributions.payments.bank import sandbox_balance, sandbox_balance_change, sandbox_bank_active
from contributions.payments.services import (
    bill_confirm,
    bill_generate_request,
    bill_late_fee,
    bill_pay,
    expected_settlement,
)
from contributions.policy.reference import PolicyError, load_policy
from employers.permissions import PermissionRequiredMixin, agent_has_permission

PAY_PERMISSION = "contributions.pay"
GENERATE_FAILED = _("核定未成功,请稍后重试;仍不成功请拨打服务热线 12333。")
NO_PERSONS = _(
    "%(month)s 没有应缴费的参保人员,未生成核定单。"
    "请确认人员的参保起始年月和缴费基数申报已生效后再核定。"
)


class BillMixin(PermissionRequiredMixin):
    permission = "contributions.monthly"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="contributions", **kwargs)


class OneBillMixin(BillMixin):
    """Pages about one bill of the unit; another unit's bill is a 404 like a missing one."""

    @cached_property
    def bill(self) -> MonthlyBill:
        return bill_get_for_agent(agent=self.agent, reference=self.kwargs["bill_reference"])

    def deny(self, request):
        denied = super().deny(request)
        if denied is None:
            self.bill  # noqa: B018 — load the bill (or 404) before anything else happens
        return denied


class BillListView(BillMixin, FormView):
    """月度核定: the unit's bills by month, and the form that generates one month's bill."""

    template_name = "contributions/bill_list.html"
    form_class = BillMonthForm
    awaiting = False

    def get_initial(self):
        return {"month": f"{timezone.localdate():%Y-%m}"}

    def get_context_data(self, **kwargs):
        page = bill_page(
            bill_list_for_agent(agent=self.agent, awaiting=self.awaiting),
            self.request.GET.get("page"),
        )
        return super().get_context_data(
            page=page,
            awaiting=self.awaiting,
            may_pay=agent_has_permission(self.agent, PAY_PERMISSION),
            **kwargs,
        )

    def form_valid(self, form):
        month = form.cleaned_data["month"]
        try:
            outcome = bill_generate_request(agent=self.agent, month=month, request=self.request)
        except ValidationError as exc:
            form.add_error(None if hasattr(exc, "error_dict") else "month", exc)
            return self.form_invalid(form)
        if not outcome.done:
            messages.info(
                self.request,
                _("已提交 %(month)s 的月度核定,正在核定,请稍后刷新本页查看结果。")
                % {"month": f"{month:%Y-%m}"},
            )
            return redirect("contributions:bill_list")
        bill = None
        if outcome.bill_id is not None:
            bill = bill_list_for_agent(agent=self.agent).filter(pk=outcome.bill_id).first()
        if bill is None:
            form.add_error("month", generation_refusal(self.agent.employer, month, outcome))
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("%(month)s 核定结果:%(kind)s,%(persons)d 人,应缴合计 %(total)s 元,状态“%(status)s”。")
            % {
                "month": f"{month:%Y-%m}",
                "kind": bill.get_kind_display(),
                "persons": bill.person_count,
                "total": f"{bill.total:,}",
                "status": bill.get_status_display(),
            },
        )
        return redirect("contributions:bill_detail", bill_reference=bill.reference)


def generation_refusal(employer, month, outcome):
    """Why the billing task wrote no bill for the month, as the form shows it."""
    if isinstance(outcome.error, ValidationError):
        return outcome.error
    if outcome.failed:
        return GENERATE_FAILED
    try:
        load_policy(employer.region, month)
    except PolicyError as exc:
        return exc
    return NO_PERSONS % {"month": f"{month:%Y-%m}"}


class BillAwaitingListView(BillListView):
    """缴费确认: the bills still to be confirmed or paid."""

    permission = PAY_PERMISSION
    awaiting = True
    http_method_names = ["get"]


def status_timeline(bill: MonthlyBill) -> list[dict]:
    """The steps 已核定 → 已确认 → 已扣款 → 已到账 with their times (None: not reached yet)."""
    return [
        {"label": _("已核定"), "at": bill.generated_at},
        {"label": _("已确认"), "at": bill.confirmed_at},
        {"label": _("已扣款"), "at": bill.debited_at},
        {"label": _("已到账"), "at": bill.settled_at},
    ]


class BillDetailView(OneBillMixin, TemplateView):
    template_name = "contributions/bill_detail.html"

    def get_context_data(self, **kwargs):
        bill = self.bill
        payments = bill_payments(bill)
        last = payments[0] if payments else None
        may_pay = agent_has_permission(self.agent, PAY_PERMISSION)
        return super().get_context_data(
            bill=bill,
            type_totals=bill_type_totals(bill),
            lines=bill_lines_page(bill, self.request.GET.get("page")),
            payments=payments,
            failed_payment=last if bill.status == BillStatus.DEBIT_FAILED else None,
            expected_settle_on=(
                expected_settlement(bill) if bill.status == BillStatus.DEBITED else None
            ),
            timeline=status_timeline(bill),
            late_fee=bill_late_fee(bill),
            is_credit=bill.total <= 0,
            is_supplement=bill.kind == BillKind.SUPPLEMENT,
            may_confirm=may_pay and bill.status == BillStatus.ASSESSED,
            may_pay=may_pay and bill.status in (BillStatus.CONFIRMED, BillStatus.DEBIT_FAILED),
            pay_form=BillPayForm(initial={"idempotency_key": uuid.uuid4()}),
            sandbox=sandbox_bank_active(),
            **kwargs,
        )


class BillConfirmView(OneBillMixin, View):
    permission = PAY_PERMISSION
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        try:
            bill = bill_confirm(agent=self.agent, bill=self.bill, request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("核定单已确认,应缴合计 %(total)s 元。请在缴费截止日 %(due)s 前发起扣款。")
                % {"total": f"{bill.total:,}", "due": f"{bill.due_on:%Y-%m-%d}"},
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
        if payment.status == Payment.Status.FAILED:
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
        return super().get_context_data(
            current_module="contributions",
            balance=sandbox_balance(self.agent.employer),
            next_url=self.safe_next(),
            **kwargs,
        )

    def safe_next(self) -> str:
        reference = self.request.POST.get("bill") or self.request.GET.get("bill") or ""
        if not reference:
            return ""
        exists = MonthlyBill.objects.filter(
            reference=reference, employer_id=self.agent.employer_id
        ).exists()
        return (
            reverse("contributions:bill_detail", kwargs={"bill_reference": reference})
            if exists
            else ""
        )

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
