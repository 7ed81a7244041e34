"""Contribution policy: per region and period, base bounds and rates; per region, rounding."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from portal.models import Region, ReviewableModel

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


# ---------------------------------------------------------------------------------------------
# The unit's side: settings, declared bases, monthly bills, payments, proofs and exports.
# ---------------------------------------------------------------------------------------------


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

    class Meta:
        verbose_name = _("统筹区缴费设置")
        verbose_name_plural = _("统筹区缴费设置")

    def __str__(self):
        return f"{self.region.name} 缴费设置"


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
        return f"{self.reference} 缴费基数申报"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse(
            "contributions:declaration_detail",
            kwargs={"declaration_reference": self.reference},
        )

    def review_employer_id(self):
        return self.employer_id

    # Review hooks (portal.review); the rules live in contributions.declarations.services.
    def review_summary(self) -> str:
        from contributions.declarations.services import declaration_summary

        return declaration_summary(self)

    def review_prechecks(self) -> list[dict]:
        from contributions.declarations.services import declaration_prechecks

        return declaration_prechecks(self)

    def review_on_decided(self, *, actor, decision: str, comment: str) -> None:
        from contributions.declarations.services import declaration_on_decided

        declaration_on_decided(self, actor=actor, decision=decision)

    def review_notifications(self, *, decision: str, comment: str) -> list[dict]:
        from contributions.declarations.services import declaration_notifications

        return declaration_notifications(self, decision=decision, comment=comment)


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


class BillStatus(models.TextChoices):
    ASSESSED = "assessed", _("已核定")
    CONFIRMED = "confirmed", _("已确认,待扣款")
    DEBIT_FAILED = "debit_failed", _("扣款失败")
    DEBITED = "debited", _("已扣款")
    SETTLED = "settled", _("已到账")


class BillKind(models.TextChoices):
    REGULAR = "regular", _("正常应缴")
    SUPPLEMENT = "supplement", _("补缴(退费)")


class MonthlyBill(models.Model):
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
    total = models.DecimalField(_("应缴合计"), max_digits=14, decimal_places=2, default=0)
    # {insurance type: [lines, "employer sum", "personal sum"]}, written with the lines
    # (contributions.common.type_totals): record totals read it instead of summing the lines.
    type_totals = models.JSONField(_("各险种合计"), default=dict, blank=True)
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

    class Meta:
        verbose_name = _("缴费明细")
        verbose_name_plural = _("缴费明细")
        indexes = [
            models.Index(fields=["employer", "month"], name="bill_line_unit_month"),
            models.Index(fields=["person", "month"], name="bill_line_person_month"),
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.person_id} {self.insurance_type}"


class Payment(models.Model):
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


class ContributionProof(models.Model):
    """参保缴费证明: a printed statement with a code anyone can check on the public page."""

    class Kind(models.TextChoices):
        PERSON = "person", _("个人参保缴费证明")
        UNIT = "unit", _("单位参保缴费证明")

    code = models.CharField(_("验证码"), max_length=32, unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    employer = models.ForeignKey(
        "employers.Employer", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    person = models.ForeignKey(
        "enrollment.Person",
        verbose_name=_("参保人员"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    month_from = models.DateField(_("起始年月"))
    month_to = models.DateField(_("截止年月"))
    # What the proof states, with personal data already masked: the public page shows this.
    content = models.JSONField(_("证明内容"), default=dict)
    pdf = models.FileField(_("PDF"), upload_to="proofs/%Y/%m/", blank=True)
    created_by = models.ForeignKey(
        "employers.Agent", verbose_name=_("开具人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("开具时间"), default=timezone.now)
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("参保缴费证明")
        verbose_name_plural = _("参保缴费证明")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["employer", "created_at"], name="proof_unit_created")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d}"


class ExportJob(models.Model):
    """A large export prepared by a task; the agent downloads it from the exports page."""

    class Kind(models.TextChoices):
        ROSTER = "roster", _("参保人员名单")
        RECORDS = "records", _("缴费记录")

    class Format(models.TextChoices):
        XLSX = "xlsx", _("Excel (XLSX)")
        CSV = "csv", _("CSV")

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("生成中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    reference = models.CharField(_("导出编号"), max_length=24, unique=True)
    employer = models.ForeignKey(
        "employers.Employer", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        "employers.Agent", verbose_name=_("经办人"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("内容"), max_length=10, choices=Kind.choices)
    format = models.CharField(_("格式"), max_length=8, choices=Format.choices)
    params = models.JSONField(_("条件"), default=dict, blank=True)
    full = models.BooleanField(_("含完整个人信息"), default=False)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    file = models.FileField(_("文件"), upload_to="exports/%Y/%m/", blank=True)
    row_count = models.PositiveIntegerField(_("行数"), default=0)
    error = models.CharField(_("错误"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["employer", "created_at"], name="export_unit_created")]

    def __str__(self):
        return f"{self.reference} {self.get_kind_display()}"
