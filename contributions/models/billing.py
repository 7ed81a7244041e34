"""月度核定: monthly bills and their lines."""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributions.models.policy import (
    MONEY_MAX_DIGITS,
    RATE_DECIMAL_PLACES,
    RATE_MAX_DIGITS,
    InsuranceType,
    PolicyPeriod,
)
from portal.choices_display import StoredChoicesDisplay


class BillStatus(models.TextChoices):
    ASSESSED = "assessed", _("已核定")
    CONFIRMED = "confirmed", _("已确认,待扣款")
    DEBIT_FAILED = "debit_failed", _("扣款失败")
    DEBITED = "debited", _("已扣款")
    SETTLED = "settled", _("已到账")


class BillKind(models.TextChoices):
    REGULAR = "regular", _("正常应缴")
    SUPPLEMENT = "supplement", _("补缴(退费)")
    # 补缴申请 approved by a clerk (contributions.backpay): months the unit missed for a person.
    # The engine's regeneration of a month leaves these bills alone.
    BACKPAY = "backpay", _("补缴申请")


class MonthlyBill(StoredChoicesDisplay, models.Model):
    """月度核定: what a unit owes for one month (regular) or a later correction (补缴/退费)."""

    reference = models.CharField(_("核定单号"), max_length=24, unique=True)
    employer = models.ForeignKey(
        "employers.Employer", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    month = models.DateField(_("费款所属期"), help_text=_("当月1日"))
    kind = models.CharField(
        _("类型"), max_length=12, choices=BillKind.choices, default=BillKind.REGULAR
    )
    # 0 for the regular bill; supplements of the same month are numbered 1, 2, ...
    sequence = models.PositiveSmallIntegerField(_("序号"), default=0)
    period = models.ForeignKey(
        PolicyPeriod, verbose_name=_("政策期间"), on_delete=models.PROTECT, related_name="+"
    )
    # The bounds the bill was computed with: a later change of the period's bounds is detected
    # by comparing these, and the difference billed as a supplement.
    base_lower = models.DecimalField(_("计算时下限"), max_digits=MONEY_MAX_DIGITS, decimal_places=2)
    base_upper = models.DecimalField(_("计算时上限"), max_digits=MONEY_MAX_DIGITS, decimal_places=2)
    status = models.CharField(
        _("状态"),
        max_length=16,
        choices=BillStatus.choices,
        default=BillStatus.ASSESSED,
        db_index=True,
    )
    person_count = models.PositiveIntegerField(_("人数"), default=0)
    employer_total = models.DecimalField(
        _("单位缴费合计"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    personal_total = models.DecimalField(
        _("个人缴费合计"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    # 滞纳金 billed with a 补缴申请 (0 on every other bill); part of ``total``, not of the lines.
    late_fee = models.DecimalField(
        _("滞纳金"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    total = models.DecimalField(_("应缴合计"), max_digits=14, decimal_places=2, default=0)
    # {insurance type: [lines, "employer sum", "personal sum"]}, written with the lines
    # (contributions.common.type_totals): record totals read it instead of summing the lines.
    type_totals = models.JSONField(_("各险种合计"), default=dict, blank=True)
    # {line month (ISO date): {insurance type: [lines, "base sum", "employer sum", "personal
    # sum"]}}, written with the lines (contributions.common.line_sums): a unit's proof adds up
    # its bills' sums instead of its lines. No label: no page or admin screen shows it.
    line_sums = models.JSONField(default=dict, blank=True, editable=False)
    due_on = models.DateField(_("缴费截止日"))
    generated_at = models.DateTimeField(_("核定时间"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        "employers.Agent",
        verbose_name=_("确认人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    debited_at = models.DateTimeField(_("扣款时间"), null=True, blank=True)
    settled_at = models.DateTimeField(_("到账时间"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("月度核定单")
        verbose_name_plural = _("月度核定单")
        ordering = ["-month", "kind", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["employer", "month", "kind", "sequence"], name="bill_unique_per_month"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="bill_month_first_day"),
        ]
        indexes = [models.Index(fields=["employer", "month"], name="bill_unit_month")]

    def __str__(self):
        return f"{self.reference} {self.month:%Y-%m} {self.get_kind_display()}"


class BillLine(models.Model):
    """One person's amounts of one insurance type in a bill (a contribution record)."""

    bill = models.ForeignKey(
        MonthlyBill, verbose_name=_("核定单"), on_delete=models.CASCADE, related_name="lines"
    )
    # Denormalised from the bill and the enrolment so that record queries need no joins.
    employer = models.ForeignKey(
        "employers.Employer", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    month = models.DateField(_("费款所属期"))
    enrolment = models.ForeignKey(
        "enrollment.Enrolment",
        verbose_name=_("参保登记"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    person = models.ForeignKey(
        "enrollment.Person",
        verbose_name=_("参保人员"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    insurance_type = models.CharField(_("险种"), max_length=20, choices=InsuranceType.choices)
    base = models.DecimalField(_("缴费基数"), max_digits=MONEY_MAX_DIGITS, decimal_places=2)
    employer_rate = models.DecimalField(
        _("单位费率"), max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES
    )
    personal_rate = models.DecimalField(
        _("个人费率"), max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES
    )
    employer_amount = models.DecimalField(
        _("单位缴费"), max_digits=MONEY_MAX_DIGITS, decimal_places=2
    )
    personal_amount = models.DecimalField(
        _("个人缴费"), max_digits=MONEY_MAX_DIGITS, decimal_places=2
    )
    # The line's place on its bill's detail page (person name, person, insurance type): written
    # by the billing engine with the lines and again when a person's name changes
    # (contributions.billing.line_order.bill_lines_number), so that a page of a bill's lines is read
    # through the (bill, position) index instead of sorting all its lines on each view. A
    # database default: COPY (the engine on PostgreSQL, the benchmarks' seeds) leaves it out.
    position = models.PositiveIntegerField(_("页内顺序"), db_default=0, editable=False)

    class Meta:
        verbose_name = _("缴费明细")
        verbose_name_plural = _("缴费明细")
        indexes = [
            # A unit's records page by page (ROW_ORDER of contributions.records: newest month,
            # then person and id) straight from the index, without reading other units' lines
            # or sorting the unit's months; also the unit's month ranges (proofs, totals).
            models.Index(
                fields=["employer", "-month", "person", "id"], name="bill_line_unit_month_person"
            ),
            models.Index(fields=["person", "month"], name="bill_line_person_month"),
            models.Index(fields=["bill", "position"], name="bill_line_bill_position"),
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.person_id} {self.insurance_type}"
