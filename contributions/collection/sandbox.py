"""The sandbox 电子税务局: plays the collection system in development and tests.

Its ledger is SandboxTaxOrder / SandboxTaxPayment. The unit sees its amounts to pay on a
development-only page (contributions.collection.views.SandboxTaxBureauView) and pays them in
full or in part, or makes a payment fail with a reason; the portal then learns the result through
the same status query (``query``) as from a real collection system.
"""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributions.collection.adapter import (
    AssessmentData,
    CollectionAdapter,
    PaymentResult,
    StatusAnswer,
    SubmitAnswer,
)
from contributions.models import SandboxTaxOrder, SandboxTaxPayment
from portal.audit import audit_log
from portal.models import AuditEvent
from portal.workdays import add_working_days

# Why a 三方协议 debit or an online payment fails at the sandbox, as the unit would be told.
FAILURE_REASONS = {
    "insufficient_funds": _(
        "三方协议扣款账户余额不足,本次未扣款。请存入足额资金后在电子税务局重新缴款。"
    ),
    "agreement_invalid": _(
        "三方协议未生效或已解除,无法扣款。请在电子税务局重新签订三方协议后缴款。"
    ),
    "bank_rejected": _("开户银行拒绝扣款(账户冻结或状态异常),请联系开户银行处理后重新缴款。"),
}
NOT_AVAILABLE = _("模拟电子税务局未启用。")
NOT_FOUND = _("未找到该应征凭证,请刷新页面后重试。")
NOTHING_OUTSTANDING = _("该应征凭证已缴清,无需再缴款。")
TOO_MUCH = _("缴款金额不能超过未缴金额 %(outstanding)s 元。")


def sandbox_tax_active() -> bool:
    """Whether the sandbox 电子税务局 may show: it is the collection system in use and sandboxes
    are allowed (settings.SANDBOX_PROVIDERS, off in production)."""
    from contributions.collection.adapter import collection_adapter
    from employers.verification.views import sandbox_enabled

    return sandbox_enabled() and collection_adapter().is_sandbox


def _paid_total(order: SandboxTaxOrder) -> Decimal:
    total = order.payments.filter(paid=True).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")


def sandbox_outstanding(order: SandboxTaxOrder) -> Decimal:
    return max(order.amount - _paid_total(order), Decimal("0.00"))


class SandboxTaxBureau(CollectionAdapter):
    """Plays the collection system: the SandboxTaxOrder rows are the claims it holds."""

    name = "sandbox"
    is_sandbox = True

    def submit(self, data: AssessmentData) -> SubmitAnswer:
        with transaction.atomic():
            order = (
                SandboxTaxOrder.objects.select_for_update()
                .filter(idempotency_key=data.idempotency_key)
                .first()
            )
            if order is not None:
                # The same key again: the claim it already holds, never a second one.
                order.submit_count += 1
                order.save(update_fields=["submit_count"])
                return SubmitAnswer(voucher_number=order.voucher_number)
            try:
                with transaction.atomic():
                    order = SandboxTaxOrder.objects.create(
                        idempotency_key=data.idempotency_key,
                        employer_id=self._employer_id(data),
                        bill_reference=data.bill_reference,
                        voucher_number=(
                            f"YZ{timezone.localdate():%Y%m%d}{secrets.token_hex(5).upper()}"
                        ),
                        month=data.month,
                        amount=data.amount,
                        due_on=data.due_on,
                    )
            except IntegrityError:
                order = SandboxTaxOrder.objects.get(idempotency_key=data.idempotency_key)
        return SubmitAnswer(voucher_number=order.voucher_number)

    @staticmethod
    def _employer_id(data: AssessmentData) -> int:
        from employers.models import Employer

        return Employer.objects.values_list("pk", flat=True).get(uscc=data.uscc)

    def query(self, idempotency_key: str) -> StatusAnswer:
        order = SandboxTaxOrder.objects.filter(idempotency_key=idempotency_key).first()
        if order is None:
            return StatusAnswer(known=False)
        return StatusAnswer(
            known=True,
            voucher_number=order.voucher_number,
            results=tuple(
                PaymentResult(
                    result_id=payment.result_id,
                    paid=payment.paid,
                    amount=payment.amount,
                    receipt_number=payment.receipt_number,
                    paid_on=payment.paid_on,
                    failure_code=payment.failure_code,
                    failure_message=payment.failure_message,
                )
                for payment in order.payments.all()
            ),
        )

    def estimate_settlement(self, paid_on: datetime.date) -> datetime.date:
        days = getattr(settings, "SANDBOX_BANK_SETTLEMENT_DAYS", None)
        if days is None:
            return super().estimate_settlement(paid_on)
        return add_working_days(paid_on, int(days))


def sandbox_tax_orders(*, agent) -> list[tuple[SandboxTaxOrder, Decimal]]:
    """The unit's claims at the sandbox 电子税务局, each with what is still to pay."""
    orders = SandboxTaxOrder.objects.filter(employer_id=agent.employer_id).prefetch_related(
        "payments"
    )
    result = []
    for order in orders:
        paid = sum((p.amount for p in order.payments.all() if p.paid), Decimal("0.00"))
        result.append((order, max(order.amount - paid, Decimal("0.00"))))
    return result


@transaction.atomic
def sandbox_tax_pay(
    *,
    agent,
    voucher_number: str,
    amount: Decimal | None,
    failure: str = "",
    request=None,
) -> SandboxTaxPayment:
    """Pay ``amount`` (all that is outstanding when None) of one of the unit's claims at the
    sandbox, or, with a ``failure`` reason, record a failed payment; the portal is told after
    commit through its status query."""
    if not sandbox_tax_active():
        raise ValidationError(NOT_AVAILABLE, code="sandbox_off")
    order = (
        SandboxTaxOrder.objects.select_for_update()
        .filter(voucher_number=voucher_number, employer_id=agent.employer_id)
        .first()
    )
    if order is None:
        raise ValidationError(NOT_FOUND, code="not_found")
    outstanding = sandbox_outstanding(order)
    if outstanding <= 0:
        raise ValidationError(NOTHING_OUTSTANDING, code="paid_up")
    amount = outstanding if amount is None else amount
    if amount > outstanding:
        raise ValidationError(
            {"amount": TOO_MUCH % {"outstanding": f"{outstanding:,}"}}, code="too_much"
        )
    today = timezone.localdate()
    payment = SandboxTaxPayment(
        order=order,
        result_id=f"SBXR{secrets.token_hex(8).upper()}",
        paid=not failure,
        amount=amount,
        paid_on=today,
    )
    if failure:
        payment.failure_code = failure
        payment.failure_message = str(FAILURE_REASONS[failure])
    else:
        payment.receipt_number = f"SBXJ{today:%Y%m%d}{secrets.token_hex(6).upper()}"
    payment.full_clean()
    payment.save()
    audit_log(
        action="sandbox_tax.paid",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=payment,
        request=request,
        outcome=AuditEvent.Outcome.FAILURE if failure else AuditEvent.Outcome.SUCCESS,
        details={
            "voucher": order.voucher_number,
            "amount": str(amount),
            "failure_code": failure,
        },
    )
    from contributions.collection.tasks import collection_poll_key

    key = order.idempotency_key
    transaction.on_commit(lambda: collection_poll_key.delay(key))
    return payment
