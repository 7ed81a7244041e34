"""月度核定 and 缴费确认 pages: the unit's bills and one bill.

Confirming and paying a bill, and the sandbox bank, are in contributions.payments.views.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, TemplateView

from contributions.billing.forms import BillMonthForm
from contributions.billing.selectors import (
    bill_by_id_for_agent,
    bill_get_for_agent,
    bill_lines_page,
    bill_list_rows,
    bill_page,
    bill_payments,
    bill_type_totals,
)
from contributions.collection.sandbox import sandbox_tax_active
from contributions.collection.selectors import bill_collection
from contributions.models import BillKind, BillStatus, MonthlyBill
from contributions.payments.bank import sandbox_bank_active
from contributions.payments.forms import BillPayForm
from contributions.payments.selectors import bill_expected_settlement
from contributions.payments.services import (
    bill_confirmable,
    bill_generate_refusal,
    bill_generate_request,
    bill_late_fee,
    bill_payable,
)
from employers.permissions import PermissionRequiredMixin, agent_has_permission

PAY_PERMISSION = "contributions.pay"


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
            agent=self.agent, awaiting=self.awaiting, number=self.request.GET.get("page")
        )
        return super().get_context_data(
            page=page,
            rows=bill_list_rows(page.object_list),
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
        bill = bill_by_id_for_agent(agent=self.agent, bill_id=outcome.bill_id)
        if bill is None:
            refusal = bill_generate_refusal(agent=self.agent, month=month, outcome=outcome)
            form.add_error("month", refusal)
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
            expected_settle_on=bill_expected_settlement(bill, payments),
            timeline=status_timeline(bill),
            late_fee=bill_late_fee(bill),
            is_credit=bill.total <= 0,
            is_supplement=bill.kind == BillKind.SUPPLEMENT,
            may_confirm=may_pay and bill_confirmable(bill),
            may_pay=may_pay and bill_payable(bill),
            pay_form=BillPayForm(initial={"idempotency_key": uuid.uuid4()}),
            sandbox=sandbox_bank_active(),
            collection=bill_collection(bill),
            sandbox_tax=sandbox_tax_active(),
            **kwargs,
        )
