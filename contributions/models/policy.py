"""Contribution policy: per region and period, base bounds and rates; per region, rounding;
a unit's contribution account and a region's contribution settings."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from portal.models import Region

RATE_MAX_DIGITS = 7


RATE_DECIMAL_PLACES = 6  # 0.000001 is finer than any published rate (e.g. 工伤 0.2 % × 浮动 0.5)


MONEY_MAX_DIGITS = 12


MONEY_DECIMAL_PLACES = 2


class InsuranceType(models.TextChoices):
    """险种 as contributions are collected: 生育 has been merged into medical since 2019."""

    PENSION = "pension", _("养老保险")
    MEDICAL = "medical", _("医疗保险(含生育)")
    UNEMPLOYMENT = "unemployment", _("失业保险")
    WORK_INJURY = "work_injury", _("工伤保险")


class Side(models.TextChoices):
    EMPLOYER = "employer", _("单位")
    PERSONAL = "personal", _("个人")


class RiskClass(models.IntegerChoices):
    """行业风险类别 of 工伤保险 (人社部发〔2015〕71号: eight classes, base rates 0.2 %–1.9 %)."""

    CLASS_1 = 1, _("一类")
    CLASS_2 = 2, _("二类")
    CLASS_3 = 3, _("三类")
    CLASS_4 = 4, _("四类")
    CLASS_5 = 5, _("五类")
    CLASS_6 = 6, _("六类")
    CLASS_7 = 7, _("七类")
    CLASS_8 = 8, _("八类")


class RoundingMethod(models.TextChoices):
    """How an amount is brought to whole cents; see contributions.policy.reference.round_amount."""

    HALF_UP_CENT = "half_up_cent", _("四舍五入到分")
    CENT_UP_TO_JIAO = "cent_up_to_jiao", _("见分进角")
    HALF_UP_JIAO = "half_up_jiao", _("四舍五入到角")
    TRUNCATE_CENT = "truncate_cent", _("截尾到分")


# Used wherever a region has no rule for an insurance type and side.
DEFAULT_ROUNDING = RoundingMethod.HALF_UP_CENT


rate_validators = [
    MinValueValidator(Decimal("0"), message=_("费率不能为负数")),
    MaxValueValidator(Decimal("1"), message=_("费率应为小数形式(如 0.16 表示 16%%),不能大于 1")),
]


def _rate_field(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name,
        max_digits=RATE_MAX_DIGITS,
        decimal_places=RATE_DECIMAL_PLACES,
        validators=rate_validators,
        help_text=_("小数形式,如 0.16 表示 16%"),
        **kwargs,
    )


class PolicyPeriod(models.Model):
    """A region's published base bounds for a policy period (often July to June)."""

    region = models.ForeignKey(
        Region,
        verbose_name=_("统筹区"),
        on_delete=models.PROTECT,
        related_name="policy_periods",
    )
    starts_on = models.DateField(_("起始日期"))
    ends_on = models.DateField(_("截止日期"))
    # The published figures are stored as published, never derived from 60 %/300 % of an average
    # wage: real cities do not always match that formula.
    base_lower = models.DecimalField(
        _("缴费基数下限(元/月)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        validators=[MinValueValidator(Decimal("0.01"), message=_("缴费基数下限应大于 0"))],
    )
    base_upper = models.DecimalField(
        _("缴费基数上限(元/月)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        validators=[MinValueValidator(Decimal("0.01"), message=_("缴费基数上限应大于 0"))],
    )
    is_published = models.BooleanField(
        _("已发布"),
        default=False,
        help_text=_("未发布的期间不参与缴费基数校验和费款计算"),
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    note = models.CharField(
        _("备注"),
        max_length=200,
        blank=True,
        help_text=_("数据来源;演示或测试数字请注明“演示数据”"),
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(verbose_name=_("缴费政策期间历史"))

    class Meta:
        verbose_name = _("缴费政策期间")
        verbose_name_plural = _("缴费政策期间")
        ordering = ["region__code", "-starts_on"]
        constraints = [
            # Overlap of two periods needs an exclusion constraint, which only PostgreSQL has:
            # clean() and the service check it; these portable constraints catch the rest.
            models.UniqueConstraint(
                fields=["region", "starts_on"],
                name="contributions_period_region_start_unique",
                violation_error_message=_("本统筹区已有同一起始日期的政策期间"),
            ),
            models.UniqueConstraint(
                fields=["region", "ends_on"],
                name="contributions_period_region_end_unique",
                violation_error_message=_("本统筹区已有同一截止日期的政策期间"),
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")),
                name="contributions_period_dates_ordered",
                violation_error_message=_("截止日期不能早于起始日期"),
            ),
            models.CheckConstraint(
                condition=Q(base_lower__gt=0) & Q(base_upper__gte=models.F("base_lower")),
                name="contributions_period_bounds_ordered",
                violation_error_message=_("缴费基数下限应大于 0 且不高于上限"),
            ),
        ]

    def __str__(self):
        return f"{self.region.name} {self.starts_on:%Y-%m-%d}—{self.ends_on:%Y-%m-%d}"

    @property
    def is_demo(self) -> bool:
        return "演示" in self.note

    def overlapping_periods(self):
        """Other periods of the same region that share at least one day with this one."""
        return (
            PolicyPeriod.objects.filter(
                region_id=self.region_id,
                starts_on__lte=self.ends_on,
                ends_on__gte=self.starts_on,
            )
            .exclude(pk=self.pk)
            .order_by("starts_on")
        )

    def clean(self):
        errors = {}
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            errors["ends_on"] = _("截止日期不能早于起始日期")
        if (
            self.base_lower is not None
            and self.base_upper is not None
            and self.base_lower > self.base_upper
        ):
            errors["base_upper"] = _("缴费基数上限不能低于下限")
        if errors:
            raise ValidationError(errors)
        if self.region_id and self.starts_on and self.ends_on:
            if transaction.get_connection().in_atomic_block:
                # Serialise writers of one region's periods so that two cannot both pass the
                # overlap check (a row lock on PostgreSQL; SQLite serialises writers anyway).
                Region.objects.select_for_update().filter(pk=self.region_id).first()
            clash = self.overlapping_periods().first()
            if clash is not None:
                raise ValidationError(
                    _("与本统筹区已有的政策期间 %(start)s 至 %(end)s 重叠,期间不能交叉")
                    % {"start": f"{clash.starts_on:%Y-%m-%d}", "end": f"{clash.ends_on:%Y-%m-%d}"},
                    code="overlap",
                )
        if self.is_published and self.published_at is None:
            self.published_at = timezone.now()
        if not self.is_published:
            self.published_at = None


class PolicyRate(models.Model):
    """Employer and personal rates of one insurance type (工伤: one row per risk class)."""

    period = models.ForeignKey(
        PolicyPeriod,
        verbose_name=_("政策期间"),
        on_delete=models.CASCADE,
        related_name="rates",
    )
    insurance_type = models.CharField(_("险种"), max_length=20, choices=InsuranceType.choices)
    risk_class = models.PositiveSmallIntegerField(
        _("行业风险类别"),
        choices=RiskClass.choices,
        null=True,
        blank=True,
        help_text=_("仅工伤保险填写;工伤保险无个人缴费"),
    )
    employer_rate = _rate_field(_("单位费率"))
    personal_rate = _rate_field(_("个人费率"), default=Decimal("0"))

    history = HistoricalRecords(verbose_name=_("费率历史"))

    class Meta:
        verbose_name = _("费率")
        verbose_name_plural = _("费率")
        ordering = ["period", "insurance_type", "risk_class"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "insurance_type"],
                condition=Q(risk_class__isnull=True),
                name="contributions_rate_type_unique",
                violation_error_message=_("同一期间的这一险种已有费率"),
            ),
            models.UniqueConstraint(
                fields=["period", "insurance_type", "risk_class"],
                condition=Q(risk_class__isnull=False),
                name="contributions_rate_type_class_unique",
                violation_error_message=_("同一期间的这一险种和风险类别已有费率"),
            ),
            models.CheckConstraint(
                condition=Q(employer_rate__gte=0, employer_rate__lte=1)
                & Q(personal_rate__gte=0, personal_rate__lte=1),
                name="contributions_rate_between_0_and_1",
                violation_error_message=_("费率应在 0 到 1 之间"),
            ),
            # 工伤保险 is paid by the employer alone, at the rate of its industry risk class
            # (工伤保险条例 art. 10).
            models.CheckConstraint(
                condition=(
                    Q(insurance_type=InsuranceType.WORK_INJURY.value)
                    & Q(risk_class__isnull=False)
                    & Q(personal_rate=0)
                )
                | (~Q(insurance_type=InsuranceType.WORK_INJURY.value) & Q(risk_class__isnull=True)),
                name="contributions_rate_work_injury_by_class",
                violation_error_message=_(
                    "工伤保险须填写行业风险类别且无个人费率;其他险种不填风险类别"
                ),
            ),
        ]

    def __str__(self):
        label = self.get_insurance_type_display()
        if self.risk_class:
            label = f"{label}({self.get_risk_class_display()})"
        return f"{label} {self.employer_rate}/{self.personal_rate}"

    def clean(self):
        errors = {}
        if self.insurance_type == InsuranceType.WORK_INJURY:
            if self.risk_class is None:
                errors["risk_class"] = _("工伤保险费率须按行业风险类别填写")
            if self.personal_rate:
                errors["personal_rate"] = _("工伤保险无个人缴费,个人费率应为 0")
        elif self.insurance_type and self.risk_class is not None:
            errors["risk_class"] = _("只有工伤保险按行业风险类别设费率")
        if errors:
            raise ValidationError(errors)


class RoundingRule(models.Model):
    """How a region rounds one insurance type's employer or personal amount."""

    region = models.ForeignKey(
        Region,
        verbose_name=_("统筹区"),
        on_delete=models.PROTECT,
        related_name="rounding_rules",
    )
    insurance_type = models.CharField(_("险种"), max_length=20, choices=InsuranceType.choices)
    side = models.CharField(_("缴费方"), max_length=10, choices=Side.choices)
    method = models.CharField(
        _("舍入规则"),
        max_length=20,
        choices=RoundingMethod.choices,
        default=DEFAULT_ROUNDING,
        help_text=_("未设置的险种和缴费方按“四舍五入到分”"),
    )

    history = HistoricalRecords(verbose_name=_("舍入规则历史"))

    class Meta:
        verbose_name = _("舍入规则")
        verbose_name_plural = _("舍入规则")
        ordering = ["region__code", "insurance_type", "side"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "insurance_type", "side"],
                name="contributions_rounding_unique",
                violation_error_message=_("该统筹区的这一险种和缴费方已有舍入规则"),
            ),
        ]

    def __str__(self):
        return (
            f"{self.region.name} {self.get_insurance_type_display()}"
            f" {self.get_side_display()}:{self.get_method_display()}"
        )


class CollectionMode(models.TextChoices):
    """Who collects a region's contributions (社保核定、税务征收 since the 2019 reform)."""

    TAX_BUREAU = "tax_bureau", _("税务征收(电子税务局或三方协议扣款)")
    DIRECT_DEBIT = "direct_debit", _("社保经办机构银行账户直接扣款")


def first_of_month(value) -> bool:
    return value is not None and value.day == 1


class RegionContributionSettings(models.Model):
    """How a region runs declarations and bills (one row per region; defaults where none)."""

    region = models.OneToOneField(
        Region,
        verbose_name=_("统筹区"),
        on_delete=models.CASCADE,
        related_name="contribution_settings",
    )
    declaration_requires_review = models.BooleanField(
        _("缴费基数申报须经审核"),
        default=True,
        help_text=_("不勾选时,申报提交后立即生效"),
    )
    joiner_cutoff_day = models.PositiveSmallIntegerField(
        _("增员当月计征截止日"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text=_(
            "留空:参保起始年月当月全月计征;填写如 15:用工日期在起始月该日之后的,从次月起计征"
        ),
    )
    payment_due_day = models.PositiveSmallIntegerField(
        _("缴费截止日"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text=_("次月该日前未缴清的,自次日起按日加收万分之五滞纳金"),
    )
    collection_mode = models.CharField(
        _("征收方式"),
        max_length=16,
        choices=CollectionMode.choices,
        default=CollectionMode.TAX_BUREAU,
        help_text=_("税务征收:确认后的核定单作为应征数据推送税务部门,单位在电子税务局缴款"),
    )
    backpay_window_months = models.PositiveSmallIntegerField(
        _("可网上补缴的月数"),
        default=36,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("单位可在网上申请补缴当月之前多少个月内漏缴的费款;更早的到经办窗口办理"),
    )

    class Meta:
        verbose_name = _("统筹区缴费设置")
        verbose_name_plural = _("统筹区缴费设置")

    def __str__(self):
        return str(_("%(region)s 缴费设置") % {"region": self.region.name})


class ContributionAccount(models.Model):
    """A unit's contribution account: its 工伤 risk class and floating factor."""

    employer = models.OneToOneField(
        "employers.Employer",
        verbose_name=_("单位"),
        on_delete=models.CASCADE,
        related_name="contribution_account",
    )
    risk_class = models.PositiveSmallIntegerField(
        _("工伤保险行业风险类别"), choices=RiskClass.choices, default=RiskClass.CLASS_1
    )
    work_injury_float = models.DecimalField(
        _("工伤保险浮动费率系数"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[
            MinValueValidator(Decimal("0.50"), message=_("浮动系数不能低于 0.50")),
            MaxValueValidator(Decimal("1.50"), message=_("浮动系数不能高于 1.50")),
        ],
        help_text=_("单位工伤保险费率 = 行业基准费率 × 浮动系数"),
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(verbose_name=_("缴费账户历史"))

    class Meta:
        verbose_name = _("单位缴费账户")
        verbose_name_plural = _("单位缴费账户")

    def __str__(self):
        return f"{self.employer_id} {self.get_risk_class_display()} ×{self.work_injury_float}"
