"""税务征收 pages: the collection system's callback, the bill's 缴费通知单 PDF, and the sandbox
电子税务局 (development only)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView

from contributions.billing.views import PAY_PERMISSION, OneBillMixin
from contributions.collection.forms import SandboxTaxPayForm
from contributions.collection.sandbox import sandbox_tax_active, sandbox_tax_orders, sandbox_tax_pay
from contributions.collection.services import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    CollectionCallbackRejected,
    bill_notice_print,
    collection_callback_accept,
)
from employers.permissions import PermissionRequiredMixin

NOTICE_FILENAME = "缴费通知单-%s.pdf"


# The collection system authenticates with its HMAC signature, not a CSRF token.
@method_decorator(csrf_exempt, name="dispatch")
class CollectionCallbackView(View):
    http_method_names = ["post"]

    def post(self, request):
        try:
            result = collection_callback_accept(
                payload=request.body,
                timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
                signature=request.headers.get(SIGNATURE_HEADER, ""),
                headers=request.headers,
                path=request.get_full_path(),
                request=request,
            )
        except CollectionCallbackRejected as exc:
            return JsonResponse({"ok": False, "code": exc.code}, status=exc.http_status)
        return JsonResponse({"ok": True, "matched": result.order_id is not None})


class BillNoticePdfView(OneBillMixin, View):
    """The bill's 缴费通知单 / 核定单 as a PDF download (audited)."""

    def get(self, request, *args, **kwargs):
        data = bill_notice_print(agent=self.agent, bill=self.bill, request=request)
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=NOTICE_FILENAME % self.bill.reference
        )
        response["Cache-Control"] = "private, no-store"
        return response


class SandboxTaxBureauView(PermissionRequiredMixin, TemplateView):
    """The sandbox 电子税务局: the unit's amounts to pay, paid fully, partly, or failed."""

    permission = PAY_PERMISSION
    template_name = "contributions/collection_sandbox_tax.html"
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        if not sandbox_tax_active():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, bound=None, **kwargs):
        rows = []
        for order, outstanding in sandbox_tax_orders(agent=self.agent):
            form = (
                bound
                if bound is not None and bound.data.get("voucher") == order.voucher_number
                else None
            )
            rows.append(
                {
                    "order": order,
                    "outstanding": outstanding,
                    "form": form or SandboxTaxPayForm(initial={"voucher": order.voucher_number}),
                }
            )
        # A form about no claim of the unit's (gone, or never its own): its errors go on top.
        unmatched = (
            bound if bound is not None and not any(r["form"] is bound for r in rows) else None
        )
        return super().get_context_data(
            current_module="contributions", rows=rows, unmatched=unmatched, **kwargs
        )

    def post(self, request, *args, **kwargs):
        form = SandboxTaxPayForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                payment = sandbox_tax_pay(
                    agent=self.agent,
                    voucher_number=data["voucher"],
                    amount=data["amount"],
                    failure=data["failure"] if data["action"] == "fail" else "",
                    request=request,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if payment.paid:
                    messages.success(
                        request,
                        _("(模拟)缴款成功 %(amount)s 元,电子缴款凭证号 %(receipt)s。")
                        % {"amount": f"{payment.amount:,}", "receipt": payment.receipt_number},
                    )
                else:
                    messages.error(
                        request,
                        _("(模拟)缴款失败:%(reason)s") % {"reason": payment.failure_message},
                    )
                return redirect(
                    "contributions:bill_detail", bill_reference=payment.order.bill_reference
                )
        return self.render_to_response(self.get_context_data(bound=form), status=200)
