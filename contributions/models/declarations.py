"""缴费基数申报: declarations, their lines, and the bases in force."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contributions.models.policy import MONEY_MAX_DIGITS, PolicyPeriod
from portal.models import ReviewableModel


class BaseDeclaration(ReviewableModel):
    """缴费基数申报: a unit's monthly bases for its employees in one policy period."""

    class Source(models.TextChoices):
        SCREEN = "screen", _("网页填报")
        EXCEL = "excel", _("Excel导入")

    reference = models.CharField(_("业务编号"), max_length=24, unique=True)
    employer = models.ForeignKey(
        "employers.Employer", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    period = models.ForeignKey(
        PolicyPeriod, verbose_name=_("政策期间"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_by = models.ForeignKey(
        "employers.Agent", verbose_name=_("经办人"), on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("申报方式"), max_length=10, choices=Source.choices)
    idempotency_key = models.UUIDField(_("提交标识"), unique=True)
    # Set when the bases take effect: at once where the region needs no review, else on approval.
    applied_at = models.DateTimeField(_("生效时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("缴费基数申报")
        verbose_name_plural = _("缴费基数申报")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["review_state", "due_at"], name="base_decl_queue"),
            models.Index(fields=["employer", "period"], name="base_decl_unit_period"),
        ]

    def __str__(self):
        return str(_("%(reference)s 缴费基数申报") % {"reference": self.reference})

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse(
            "contributions:declaration_detail",
            kwargs={"declaration_reference": self.reference},
        )

    def review_employer_id(self):
        return self.employer_id


class BaseDeclarationLine(models.Model):
    """One employee's declared monthly base in a declaration."""

    declaration = models.ForeignKey(
        BaseDeclaration,
        verbose_name=_("申报"),
        on_delete=models.CASCADE,
        related_name="lines",
    )
    enrolment = models.ForeignKey(
        "enrollment.Enrolment",
        verbose_name=_("参保登记"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    previous_base = models.DecimalField(
        _("上年度缴费基数"), max_digits=MONEY_MAX_DIGITS, decimal_places=2, null=True, blank=True
    )
    declared_base = models.DecimalField(
        _("申报缴费基数"), max_digits=MONEY_MAX_DIGITS, decimal_places=2
    )
    wage = models.DecimalField(
        _("申报月平均工资"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=2,
        help_text=_("经办人填写的工资;调整到上下限时与申报基数不同"),
    )
    adjusted_to_bound = models.BooleanField(_("已按上下限调整"), default=False)

    class Meta:
        verbose_name = _("申报明细")
        verbose_name_plural = _("申报明细")
        constraints = [
            models.UniqueConstraint(
                fields=["declaration", "enrolment"], name="base_decl_line_unique"
            ),
            models.CheckConstraint(
                condition=Q(declared_base__gt=0), name="base_decl_line_positive"
            ),
        ]

    def __str__(self):
        return f"{self.enrolment_id}: {self.declared_base}"


class ContributionBase(models.Model):
    """The base in effect for an enrolment in a policy period (what the bill uses)."""

    enrolment = models.ForeignKey(
        "enrollment.Enrolment",
        verbose_name=_("参保登记"),
        on_delete=models.CASCADE,
        related_name="contribution_bases",
    )
    period = models.ForeignKey(
        PolicyPeriod, verbose_name=_("政策期间"), on_delete=models.PROTECT, related_name="+"
    )
    base = models.DecimalField(_("月缴费基数"), max_digits=MONEY_MAX_DIGITS, decimal_places=2)
    declaration = models.ForeignKey(
        BaseDeclaration,
        verbose_name=_("来源申报"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(verbose_name=_("缴费基数历史"), excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("核定缴费基数")
        verbose_name_plural = _("核定缴费基数")
        constraints = [
            models.UniqueConstraint(
                fields=["period", "enrolment"], name="contribution_base_unique"
            ),
        ]

    def __str__(self):
        return f"{self.enrolment_id} {self.period_id}: {self.base}"
