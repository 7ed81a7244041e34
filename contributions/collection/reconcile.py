"""The daily 对账: bills, collection results and records of one day compared.

For a day D it lists every mismatch with its cause:

- no_result: a bill sent to the collection system (or a bank debit requested) by the end of D,
  due by D, with no payment result yet;
- amount_mismatch: a bill paid on D whose paid amount differs from the billed total (partial
  payment, overpayment, or 应征数据 of another amount than the bill);
- result_without_bill: a payment result received on D for no bill of the portal;
- records_missing: a bill paid on D that is not 已扣款/已到账, whose paid result made no payment
  record, or whose contribution records (bill lines) are missing or do not add up to its total;
- duplicate: a 电子缴款凭证号 (or bank reference) recorded more than once, or a bill paid in full
  more than once.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from contributions.models import (
    BillLine,
    BillStatus,
    CollectionOrder,
    CollectionResult,
    MonthlyBill,
    Payment,
    ReconciliationReport,
)
from portal.audit import audit_log
from portal.models import AuditEvent

NO_RESULT = "no_result"
AMOUNT_MISMATCH = "amount_mismatch"
RESULT_WITHOUT_BILL = "result_without_bill"
RECORDS_MISSING = "records_missing"
DUPLICATE = "duplicate"
KINDS = {
    NO_RESULT: gettext_noop("已推送未收到结果"),
    AMOUNT_MISMATCH: gettext_noop("缴款金额与核定金额不符"),
    RESULT_WITHOUT_BILL: gettext_noop("征收结果无对应核定单"),
    RECORDS_MISSING: gettext_noop("已缴款但缴费记录缺失"),
    DUPLICATE: gettext_noop("重复缴款或重复记录"),
}
PAID_STATES = (Payment.Status.DEBITED, Payment.Status.SETTLED)
ZERO = Decimal("0.00")


@dataclass
class Reconciliation:
    date: datetime.date
    bills_checked: int = 0
    results_checked: int = 0
    mismatches: list[dict] = field(default_factory=list)

    def add(self, kind: str, cause: str, *, bill=None, **extra) -> None:
        entry = {"kind": kind, "label": KINDS[kind], "cause": cause}
        if bill is not None:
            entry.update(bill=bill.reference, unit=bill.employer.name, billed=str(bill.total))
        entry.update({key: str(value) for key, value in extra.items()})
        self.mismatches.append(entry)


def _day_range(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, start + datetime.timedelta(days=1)


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def reconcile_collection(*, date: datetime.date) -> Reconciliation:
    """Compare the day's bills, collection results and records; return every mismatch."""
    report = Reconciliation(date=date)
    start, end = _day_range(date)

    # 1. Sent (or debit requested) but no result by the end of the day.
    waiting = CollectionOrder.objects.filter(
        status__in=[
            CollectionOrder.Status.PENDING,
            CollectionOrder.Status.SENDING,
            CollectionOrder.Status.SENT,
            CollectionOrder.Status.REFUSED,
        ],
        created_at__lt=end,
        bill__due_on__lte=date,
    ).select_related("bill__employer")
    for order in waiting:
        if order.status == CollectionOrder.Status.SENT:
            cause = _(
                "应征数据已推送(应征凭证序号 %(voucher)s),缴费截止日 %(due)s 已过,未收到缴款结果"
            ) % {
                "voucher": order.voucher_number,
                "due": f"{order.bill.due_on:%Y-%m-%d}",
            }
        elif order.status == CollectionOrder.Status.REFUSED:
            cause = _("税务部门未受理应征数据:%(reason)s") % {"reason": order.failure_message}
        elif order.status == CollectionOrder.Status.SENDING:
            cause = _("应征数据已推送,未收到征收系统受理答复(待状态查询)")
        else:
            cause = _("核定单已确认,应征数据尚未推送成功")
        report.add(NO_RESULT, cause, bill=order.bill)
    requested = Payment.objects.filter(
        status=Payment.Status.REQUESTED, requested_at__lt=end
    ).select_related("bill__employer")
    for payment in requested:
        report.add(
            NO_RESULT,
            _("已发起银行扣款(缴费流水号 %(reference)s),未收到银行结果")
            % {"reference": payment.reference},
            bill=payment.bill,
        )

    # 2. Results received that day without a bill.
    results = list(CollectionResult.objects.filter(received_at__gte=start, received_at__lt=end))
    report.results_checked = len(results)
    for result in results:
        if result.order_id is None:
            report.add(
                RESULT_WITHOUT_BILL,
                _("收到征收结果 %(result)s(应征数据标识 %(key)s),本系统无对应核定单")
                % {
                    "result": result.result_id,
                    "key": result.idempotency_key,
                },
                paid=result.amount,
                receipt=result.receipt_number,
            )

    # 3. Bills paid that day (by the tax bureau's results or a bank debit).
    paid_bill_ids = set(
        Payment.objects.filter(
            status__in=PAID_STATES, debited_at__gte=start, debited_at__lt=end
        ).values_list("bill_id", flat=True)
    )
    paid_bill_ids |= {r.bill_id for r in results if r.bill_id and r.outcome == "paid"}
    bills = MonthlyBill.objects.filter(pk__in=paid_bill_ids).select_related("employer")
    report.bills_checked = len(paid_bill_ids) + waiting.count()
    payments_by_bill = defaultdict(list)
    for payment in Payment.objects.filter(bill_id__in=paid_bill_ids, status__in=PAID_STATES):
        payments_by_bill[payment.bill_id].append(payment)
    orders = {
        order.bill_id: order for order in CollectionOrder.objects.filter(bill_id__in=paid_bill_ids)
    }
    paid_results = defaultdict(list)
    for result in CollectionResult.objects.filter(bill_id__in=paid_bill_ids, outcome="paid"):
        paid_results[result.bill_id].append(result)
    line_sums = {
        row["bill_id"]: row
        for row in BillLine.objects.filter(bill_id__in=paid_bill_ids)
        .values("bill_id")
        .annotate(lines=Count("pk"), amount=Sum(F("employer_amount") + F("personal_amount")))
    }
    for bill in bills:
        paid = sum((p.amount for p in payments_by_bill[bill.pk]), ZERO)
        order = orders.get(bill.pk)
        if paid != bill.total:
            if paid < bill.total:
                cause = _("部分缴款:已缴 %(paid)s 元,核定应缴 %(billed)s 元,差 %(diff)s 元")
            else:
                cause = _("多缴:已缴 %(paid)s 元,核定应缴 %(billed)s 元,多 %(diff)s 元")
            report.add(
                AMOUNT_MISMATCH,
                cause
                % {
                    "paid": _money(paid),
                    "billed": _money(bill.total),
                    "diff": _money(abs(bill.total - paid)),
                },
                bill=bill,
                paid=paid,
            )
        elif order is not None and order.amount != bill.total:
            report.add(
                AMOUNT_MISMATCH,
                _("推送的应征金额 %(sent)s 元与核定单应缴 %(billed)s 元不符")
                % {"sent": _money(order.amount), "billed": _money(bill.total)},
                bill=bill,
                paid=paid,
            )
        if paid >= bill.total and bill.status not in (BillStatus.DEBITED, BillStatus.SETTLED):
            report.add(
                RECORDS_MISSING,
                _("已缴清,但核定单状态仍为“%(status)s”,缴费记录未记为已扣款")
                % {"status": bill.get_status_display()},
                bill=bill,
                paid=paid,
            )
        orphan = [r for r in paid_results[bill.pk] if r.payment_id is None]
        if orphan:
            report.add(
                RECORDS_MISSING,
                _("征收结果 %(results)s 已缴款,但没有对应的缴费记录")
                % {"results": _("、").join(r.result_id for r in orphan)},
                bill=bill,
            )
        lines = line_sums.get(bill.pk)
        if not lines or lines["amount"] != bill.total:
            report.add(
                RECORDS_MISSING,
                _("缴费明细合计 %(lines)s 元(%(count)d 条),与核定单应缴 %(billed)s 元不符")
                % {
                    "lines": _money(lines["amount"] if lines else ZERO),
                    "count": lines["lines"] if lines else 0,
                    "billed": _money(bill.total),
                },
                bill=bill,
            )
        full = [p for p in payments_by_bill[bill.pk] if p.amount == bill.total]
        if bill.total > 0 and len(full) > 1:
            report.add(
                DUPLICATE,
                _("同一核定单全额缴款 %(count)d 次(%(refs)s)")
                % {
                    "count": len(full),
                    "refs": _("、").join(p.bank_reference or p.reference for p in full),
                },
                bill=bill,
                paid=paid,
            )

    # 4. One receipt recorded more than once.
    receipts = {
        p.bank_reference for ps in payments_by_bill.values() for p in ps if p.bank_reference
    }
    receipts |= {r.receipt_number for r in results if r.receipt_number}
    repeated = (
        Payment.objects.filter(bank_reference__in=receipts)
        .values("bank_reference")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    for row in repeated:
        report.add(
            DUPLICATE,
            _("电子缴款凭证号(银行流水号)%(receipt)s 记录了 %(n)d 笔缴费")
            % {"receipt": row["bank_reference"], "n": row["n"]},
            receipt=row["bank_reference"],
        )
    repeated_results = (
        CollectionResult.objects.filter(receipt_number__in=receipts)
        .values("receipt_number")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    for row in repeated_results:
        report.add(
            DUPLICATE,
            _("电子缴款凭证号 %(receipt)s 收到 %(n)d 条征收结果")
            % {"receipt": row["receipt_number"], "n": row["n"]},
            receipt=row["receipt_number"],
        )
    return report


@transaction.atomic
def reconciliation_run(*, date: datetime.date) -> ReconciliationReport:
    """Run the day's 对账 and keep its result for clerks (admin 征收对账); audited."""
    result = reconcile_collection(date=date)
    report, _created = ReconciliationReport.objects.update_or_create(
        date=date,
        defaults={
            "ran_at": timezone.now(),
            "bills_checked": result.bills_checked,
            "results_checked": result.results_checked,
            "mismatch_count": len(result.mismatches),
            "mismatches": result.mismatches,
        },
    )
    audit_log(
        action="collection.reconciled",
        obj=report,
        outcome=AuditEvent.Outcome.FAILURE if result.mismatches else AuditEvent.Outcome.SUCCESS,
        details={"date": date.isoformat(), "mismatches": len(result.mismatches)},
    )
    return report
