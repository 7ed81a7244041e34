"""Payments of bills and the sandbox bank's ledger."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributions.models.billing import MonthlyBill
from portal.choices_display import StoredChoicesDisplay


class Payment(StoredChoicesDisplay, models.Model):
    """A debit of a confirmed bill from the unit's account through the bank adapter."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("扣款中")
        DEBITED = "debited", _("已扣款")
        FAILED = "failed", _("扣款失败")
        SETTLED = "settled", _("已到账")

    reference = models.CharField(_("缴费流水号"), max_length=24, unique=True)
    bill = models.ForeignKey(
        MonthlyBill, verbose_name=_("核定单"), on_delete=models.PROTECT, related_name="payments"
    )
    employer = models.ForeignKey(
        "employers.Employer", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.REQUESTED, db_index=True
    )
    bank_reference = models.CharField(_("银行流水号"), max_length=64, blank=True)
    failure_code = models.CharField(_("失败代码"), max_length=32, blank=True)
    failure_message = models.CharField(_("失败原因"), max_length=200, blank=True)
    requested_by = models.ForeignKey(
        "employers.Agent", verbose_name=_("经办人"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("发起时间"), default=timezone.now)
    debited_at = models.DateTimeField(_("扣款时间"), null=True, blank=True)
    expected_settle_on = models.DateField(_("预计到账日期"), null=True, blank=True)
    settled_at = models.DateTimeField(_("到账时间"), null=True, blank=True)
    idempotency_key = models.UUIDField(_("提交标识"), unique=True)

    class Meta:
        verbose_name = _("缴费扣款")
        verbose_name_plural = _("缴费扣款")
        ordering = ["-requested_at"]
        indexes = [
            models.Index(
                fields=["expected_settle_on"],
                condition=Q(status="debited"),
                name="payment_to_settle",
            )
        ]

    def __str__(self):
        return f"{self.reference} {self.amount} {self.get_status_display()}"


class SandboxBankAccount(models.Model):
    """The sandbox bank's view of a unit's contribution account (development and tests only)."""

    employer = models.OneToOneField(
        "employers.Employer",
        verbose_name=_("单位"),
        on_delete=models.CASCADE,
        related_name="sandbox_bank_account",
    )
    balance = models.DecimalField(_("余额"), max_digits=14, decimal_places=2)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("模拟银行账户")
        verbose_name_plural = _("模拟银行账户")

    def __str__(self):
        return f"{self.employer_id} {self.balance}"


class SandboxBankDebit(models.Model):
    """The sandbox bank's record of a debit request, by our payment reference: a repeated
    request answers the first result without debiting again, and a status query reads it."""

    reference = models.CharField(_("缴费流水号"), max_length=24, unique=True)
    employer = models.ForeignKey(
        "employers.Employer", verbose_name=_("单位"), on_delete=models.CASCADE, related_name="+"
    )
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)
    ok = models.BooleanField(_("扣款成功"))
    bank_reference = models.CharField(_("银行流水号"), max_length=64, blank=True)
    failure_code = models.CharField(_("失败代码"), max_length=32, blank=True)
    failure_message = models.CharField(_("失败原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("模拟银行扣款")
        verbose_name_plural = _("模拟银行扣款")

    def __str__(self):
        return f"{self.reference} {self.amount}"
