"""税务征收: bills sent to the collection system as 应征数据, the payment results that come back,
the daily 对账, and the sandbox 电子税务局's own ledger (development and tests only)."""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributions.models.billing import MonthlyBill
from contributions.models.payments import Payment
from portal.choices_display import StoredChoicesDisplay


class CollectionOrder(StoredChoicesDisplay, models.Model):
    """One bill's 应征数据 at the collection system (税务部门), and what has been paid on it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待推送")
        SENDING = "sending", _("推送中")
        SENT = "sent", _("待缴款")
        PARTIALLY_PAID = "partially_paid", _("部分缴款")
        PAID = "paid", _("已缴款")
        FAILED = "failed", _("缴款失败")
        # The collection system received the 应征数据 and said no (failure_* say why).
        REFUSED = "refused", _("税务部门未受理")

    bill = models.OneToOneField(
        MonthlyBill,
        verbose_name=_("核定单"),
        on_delete=models.PROTECT,
        related_name="collection_order",
    )
    employer = models.ForeignKey(
        "employers.Employer", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    # The bill's identity: the collection system files the 应征数据 under it, so that sending
    # the same bill again can never make a second claim.
    idempotency_key = models.CharField(_("幂等标识"), max_length=64, unique=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    amount = models.DecimalField(_("应征金额"), max_digits=14, decimal_places=2)
    adapter = models.CharField(_("征收系统"), max_length=32, blank=True)
    voucher_number = models.CharField(_("应征凭证序号"), max_length=40, blank=True)
    paid_amount = models.DecimalField(
        _("已缴金额"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    receipt_number = models.CharField(_("电子缴款凭证号"), max_length=40, blank=True)
    paid_on = models.DateField(_("缴款日期"), null=True, blank=True)
    failure_code = models.CharField(_("失败代码"), max_length=32, blank=True)
    failure_message = models.CharField(_("失败原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    send_attempts = models.PositiveSmallIntegerField(_("推送次数"), default=0)
    sent_at = models.DateTimeField(_("最近推送时间"), null=True, blank=True)
    answered_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=200, blank=True)
    polled_at = models.DateTimeField(_("最近查询时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("应征数据")
        verbose_name_plural = _("应征数据")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.idempotency_key} {self.get_status_display()}"

    @property
    def outstanding(self) -> Decimal:
        return max(self.amount - self.paid_amount, Decimal("0.00"))


class CollectionResult(models.Model):
    """A payment result the collection system reported (by callback or status query)."""

    class Outcome(models.TextChoices):
        PAID = "paid", _("缴款成功")
        FAILED = "failed", _("缴款失败")

    class Source(models.TextChoices):
        CALLBACK = "callback", _("回调")
        POLL = "poll", _("状态查询")

    # The collection system's own number of this result: a result reported twice (callback and
    # poll, or a repeated callback) is recorded once.
    result_id = models.CharField(_("结果流水号"), max_length=64, unique=True)
    idempotency_key = models.CharField(_("应征数据标识"), max_length=64)
    order = models.ForeignKey(
        CollectionOrder,
        verbose_name=_("应征数据"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="results",
    )
    bill = models.ForeignKey(
        MonthlyBill,
        verbose_name=_("核定单"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    employer = models.ForeignKey(
        "employers.Employer",
        verbose_name=_("单位"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    payment = models.ForeignKey(
        Payment,
        verbose_name=_("缴费记录"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    outcome = models.CharField(_("结果"), max_length=8, choices=Outcome.choices)
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)
    receipt_number = models.CharField(_("电子缴款凭证号"), max_length=40, blank=True)
    paid_on = models.DateField(_("缴款日期"), null=True, blank=True)
    failure_code = models.CharField(_("失败代码"), max_length=32, blank=True)
    failure_message = models.CharField(_("失败原因"), max_length=200, blank=True)
    source = models.CharField(_("来源"), max_length=8, choices=Source.choices)
    received_at = models.DateTimeField(_("接收时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("征收结果")
        verbose_name_plural = _("征收结果")
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["bill", "received_at"], name="collection_result_bill")]

    def __str__(self):
        return f"{self.result_id} {self.get_outcome_display()} {self.amount}"


class ReconciliationReport(models.Model):
    """The daily 对账 of one day: bills, collection results and records compared."""

    date = models.DateField(_("对账日期"), unique=True)
    ran_at = models.DateTimeField(_("运行时间"), default=timezone.now)
    bills_checked = models.PositiveIntegerField(_("核对核定单数"), default=0)
    results_checked = models.PositiveIntegerField(_("核对征收结果数"), default=0)
    mismatch_count = models.PositiveIntegerField(_("差异数"), default=0)
    # [{"kind", "cause", "bill", "unit", "billed", "paid", "receipt"}], kind one of
    # contributions.collection.reconcile.KINDS.
    mismatches = models.JSONField(_("差异明细"), default=list, blank=True)

    class Meta:
        verbose_name = _("征收对账")
        verbose_name_plural = _("征收对账")
        ordering = ["-date"]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.mismatch_count}"


class SandboxTaxOrder(models.Model):
    """The sandbox 电子税务局's copy of a unit's 应征数据 (development and tests only)."""

    idempotency_key = models.CharField(_("幂等标识"), max_length=64, unique=True)
    employer = models.ForeignKey(
        "employers.Employer", verbose_name=_("单位"), on_delete=models.CASCADE, related_name="+"
    )
    bill_reference = models.CharField(_("核定单号"), max_length=24)
    voucher_number = models.CharField(_("应征凭证序号"), max_length=40, unique=True)
    month = models.DateField(_("费款所属期"))
    amount = models.DecimalField(_("应征金额"), max_digits=14, decimal_places=2)
    due_on = models.DateField(_("缴费截止日"))
    submit_count = models.PositiveIntegerField(_("收到推送次数"), default=1)
    created_at = models.DateTimeField(_("受理时间"), default=timezone.now)

    class Meta:
        verbose_name = _("模拟电子税务局应征数据")
        verbose_name_plural = _("模拟电子税务局应征数据")
        ordering = ["-month", "-created_at"]

    def __str__(self):
        return f"{self.voucher_number} {self.amount}"


class SandboxTaxPayment(models.Model):
    """A payment (or failed payment) the unit made at the sandbox 电子税务局."""

    order = models.ForeignKey(
        SandboxTaxOrder,
        verbose_name=_("应征数据"),
        on_delete=models.CASCADE,
        related_name="payments",
    )
    result_id = models.CharField(_("结果流水号"), max_length=64, unique=True)
    paid = models.BooleanField(_("缴款成功"))
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)
    receipt_number = models.CharField(_("电子缴款凭证号"), max_length=40, blank=True)
    paid_on = models.DateField(_("缴款日期"))
    failure_code = models.CharField(_("失败代码"), max_length=32, blank=True)
    failure_message = models.CharField(_("失败原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("模拟电子税务局缴款")
        verbose_name_plural = _("模拟电子税务局缴款")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(paid=False) | ~Q(receipt_number=""),
                name="sandbox_tax_paid_has_receipt",
            )
        ]

    def __str__(self):
        return f"{self.result_id} {self.amount}"
