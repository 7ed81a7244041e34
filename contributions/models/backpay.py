"""补缴申请: a unit's application to pay for months it missed for a person (DESIGN.md section 15).

The application keeps, month by month, the base the unit gave, the amounts the bill engine
computed with that month's policy and the late fee (滞纳金) as shown when filing; approval bills
each month as a 补缴 bill (MonthlyBill of kind BACKPAY) and links the month to it.
"""

import uuid
from decimal import Decimal
from typing import NamedTuple

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from contributions.models.billing import MonthlyBill
from contributions.models.policy import MONEY_MAX_DIGITS, InsuranceType
from portal.models import OPEN_REVIEW_STATES, ReviewableModel


class BackPayApplication(ReviewableModel):
    """补缴申请 for one person of the unit: the months, the contributions and the late fee."""

    reference = models.CharField(_("业务编号"), max_length=24, unique=True)
    employer = models.ForeignKey(
        "employers.Employer", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    enrolment = models.ForeignKey(
        "enrollment.Enrolment",
        verbose_name=_("参保登记"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_by = models.ForeignKey(
        "employers.Agent", verbose_name=_("经办人"), on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.UUIDField(_("提交标识"), unique=True)
    reason = models.CharField(_("补缴原因"), max_length=200)
    # The late fee runs to this day (the filing date); see contributions.backpay.services.
    computed_on = models.DateField(_("滞纳金计算截止日"))
    window_months = models.PositiveSmallIntegerField(_("可补缴月数"))
    contribution_total = models.DecimalField(_("补缴费款合计"), max_digits=14, decimal_places=2)
    late_fee_total = models.DecimalField(_("滞纳金合计"), max_digits=14, decimal_places=2)
    total = models.DecimalField(_("应缴合计"), max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("补缴申请")
        verbose_name_plural = _("补缴申请")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["review_state", "due_at"], name="backpay_queue"),
            models.Index(
                fields=["due_at", "id"],
                condition=Q(review_state__in=list(OPEN_REVIEW_STATES)),
                name="backpay_open_due",
            ),
            models.Index(fields=["employer", "-created_at"], name="backpay_unit"),
        ]

    def __str__(self):
        return self.reference

    def get_absolute_url(self):
        return reverse("contributions:backpay_detail", args=[self.reference])

    def review_employer_id(self):
        return self.employer_id


class BackPayMonth(models.Model):
    """One month of a 补缴申请: base, amounts by the engine, late fee; its bill once approved."""

    application = models.ForeignKey(
        BackPayApplication,
        verbose_name=_("补缴申请"),
        on_delete=models.CASCADE,
        related_name="months",
    )
    # Denormalised from the application: the "not already applied for" check reads it by person.
    person = models.ForeignKey(
        "enrollment.Person", verbose_name=_("参保人员"), on_delete=models.PROTECT, related_name="+"
    )
    month = models.DateField(_("费款所属期"), help_text=_("当月1日"))
    base = models.DecimalField(_("缴费基数"), max_digits=MONEY_MAX_DIGITS, decimal_places=2)
    employer_amount = models.DecimalField(
        _("单位缴费"), max_digits=MONEY_MAX_DIGITS, decimal_places=2
    )
    personal_amount = models.DecimalField(
        _("个人缴费"), max_digits=MONEY_MAX_DIGITS, decimal_places=2
    )
    due_on = models.DateField(_("原缴费截止日"))
    late_days = models.PositiveIntegerField(_("滞纳天数"))
    late_fee = models.DecimalField(_("滞纳金"), max_digits=MONEY_MAX_DIGITS, decimal_places=2)
    # {insurance type: ["base", "employer rate", "personal rate", "employer", "personal"]}
    figures = models.JSONField(_("各险种明细"), default=dict)
    bill = models.ForeignKey(
        MonthlyBill,
        verbose_name=_("补缴核定单"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("补缴月份")
        verbose_name_plural = _("补缴月份")
        ordering = ["application", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "month"], name="backpay_month_once_per_application"
            )
        ]
        indexes = [models.Index(fields=["person", "month"], name="backpay_person_month")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.base}"

    @property
    def contribution(self):
        return self.employer_amount + self.personal_amount

    @property
    def total(self):
        return self.contribution + self.late_fee

    def type_rows(self) -> list[tuple[str, "TypeAmounts"]]:
        """(insurance type label, amounts) in the usual order (jsonb keeps no key order)."""
        labels = dict(InsuranceType.choices)
        return [
            (labels[kind], TypeAmounts(Decimal(values[3]), Decimal(values[4])))
            for kind in InsuranceType.values
            if (values := self.figures.get(kind))
        ]


class TypeAmounts(NamedTuple):
    employer_amount: Decimal
    personal_amount: Decimal


def backpay_attachment_upload_to(instance, filename: str) -> str:
    """A random name under the unit's folder: the uploader's file name is never used on disk."""
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(
        instance.content_type, "bin"
    )
    return f"backpay/{instance.employer_id}/{uuid.uuid4().hex}.{extension}"


class BackPayAttachment(models.Model):
    """The proof of employment in the months applied for (labour contract or wage records)."""

    class Kind(models.TextChoices):
        EMPLOYMENT_PROOF = "employment_proof", _("劳动合同或工资发放记录")

    employer_id = models.BigIntegerField(_("单位ID"), db_index=True)
    application = models.ForeignKey(
        BackPayApplication,
        verbose_name=_("补缴申请"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    kind = models.CharField(_("材料类型"), max_length=20, choices=Kind.choices)
    file = models.FileField(_("文件"), upload_to=backpay_attachment_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=50)
    size = models.PositiveIntegerField(_("大小(字节)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("补缴申请附件")
        verbose_name_plural = _("补缴申请附件")
        ordering = ["kind", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.original_name}"
