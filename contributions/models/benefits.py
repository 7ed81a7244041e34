"""待遇申领: the region's benefit settings and the unit's claims (DESIGN.md section 15).

Three kinds of claim go through the review workflow: 生育津贴申领 (MaternityClaim), 工伤认定申请
(InjuryRecognition) and, once a recognition is approved, 工伤待遇申领 (InjuryClaim, with its
MedicalReceipt rows). Each claim keeps the figures the agent was shown when filing; approval
records the approved amounts next to them. The rules themselves are the pure functions of
contributions.benefits.rules.
"""

import uuid
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from contributions.models.policy import MONEY_MAX_DIGITS
from portal.models import OPEN_REVIEW_STATES, Region, ReviewableModel


class UnitWageSource(models.TextChoices):
    """Where the unit's average monthly wage of a maternity claim comes from."""

    BASES = "bases", _("按单位事件前12个月的缴费基数计算")
    DECLARED = "declared", _("由单位在申领时申报")


class RegionBenefitSettings(models.Model):
    """A region's benefit terms (one row per region; the field defaults apply where none)."""

    DIVISOR_CHOICES = [(Decimal("30.0"), "30"), (Decimal("30.4"), "30.4")]

    region = models.OneToOneField(
        Region,
        verbose_name=_("统筹区"),
        on_delete=models.CASCADE,
        related_name="benefit_settings",
    )
    maternity_divisor = models.DecimalField(
        _("生育津贴计发天数"),
        max_digits=3,
        decimal_places=1,
        choices=DIVISOR_CHOICES,
        default=Decimal("30.0"),
        help_text=_("生育津贴 = 单位月平均工资 ÷ 计发天数 × 产假天数"),
    )
    maternity_extra_days = models.PositiveSmallIntegerField(
        _("地方增加的产假天数"),
        default=0,
        validators=[MaxValueValidator(365)],
        help_text=_("只加在生育的产假上,流产不加"),
    )
    unit_wage_source = models.CharField(
        _("单位月平均工资来源"),
        max_length=10,
        choices=UnitWageSource.choices,
        default=UnitWageSource.BASES,
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("统筹区待遇设置")
        verbose_name_plural = _("统筹区待遇设置")

    def __str__(self):
        return str(_("%(region)s 待遇设置") % {"region": self.region.name})


class RegionalAverageWage(models.Model):
    """统筹地区上年度职工月平均工资, published once a year; bounds the 工伤 own wage."""

    region = models.ForeignKey(
        Region, verbose_name=_("统筹区"), on_delete=models.CASCADE, related_name="+"
    )
    year = models.PositiveSmallIntegerField(
        _("适用年度"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    monthly_wage = models.DecimalField(
        _("职工月平均工资(元)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )

    class Meta:
        verbose_name = _("统筹地区职工月平均工资")
        verbose_name_plural = _("统筹地区职工月平均工资")
        ordering = ["region", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["region", "year"], name="regional_wage_unique_year")
        ]

    def __str__(self):
        return f"{self.region.name} {self.year}: {self.monthly_wage}"


class MaternityKind(models.TextChoices):
    """生育类别; the values are those of contributions.benefits.rules."""

    BIRTH = "birth", _("生育")
    MISCARRIAGE_UNDER_4_MONTHS = "miscarriage_under_4_months", _("怀孕未满4个月流产")
    MISCARRIAGE_4_MONTHS_OR_MORE = "miscarriage_4_months_or_more", _("怀孕满4个月流产")


class BenefitClaim(ReviewableModel):
    """What every claim shares: a number, the unit, the insured person's enrolment, the agent."""

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
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.reference

    def review_employer_id(self):
        return self.employer_id


def _queue_indexes(prefix: str) -> list[models.Index]:
    return [
        models.Index(fields=["review_state", "due_at"], name=f"{prefix}_queue"),
        # The clerk's default queue: open items by due time.
        models.Index(
            fields=["due_at", "id"],
            condition=Q(review_state__in=list(OPEN_REVIEW_STATES)),
            name=f"{prefix}_open_due",
        ),
        # The unit's list and 已办业务查询: the unit's rows, newest first.
        models.Index(fields=["employer", "-created_at"], name=f"{prefix}_unit"),
    ]


class MaternityClaim(BenefitClaim):
    """生育津贴申领: days and amount as computed and shown when filed; the approved amount."""

    event_date = models.DateField(_("生育(流产)日期"))
    kind = models.CharField(_("生育类别"), max_length=32, choices=MaternityKind.choices)
    babies = models.PositiveSmallIntegerField(
        _("胎儿数"), default=1, validators=[MinValueValidator(1), MaxValueValidator(9)]
    )
    difficult_birth = models.BooleanField(_("难产"), default=False)
    wage_source = models.CharField(
        _("单位月平均工资来源"), max_length=10, choices=UnitWageSource.choices
    )
    unit_average_wage = models.DecimalField(
        _("单位月平均工资"), max_digits=MONEY_MAX_DIGITS, decimal_places=2
    )
    wage_months = models.PositiveSmallIntegerField(
        _("计算工资的月数"), default=0, help_text=_("按缴费基数计算时有核定记录的月数")
    )
    divisor = models.DecimalField(_("计发天数"), max_digits=3, decimal_places=1)
    extra_days = models.PositiveSmallIntegerField(_("地方增加的产假天数"), default=0)
    days = models.PositiveSmallIntegerField(_("产假天数"))
    amount = models.DecimalField(_("申领金额"), max_digits=MONEY_MAX_DIGITS, decimal_places=2)
    approved_amount = models.DecimalField(
        _("核定金额"), max_digits=MONEY_MAX_DIGITS, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("生育津贴申领")
        verbose_name_plural = _("生育津贴申领")
        ordering = ["-created_at"]
        indexes = _queue_indexes("maternity_claim")

    def get_absolute_url(self):
        return reverse("contributions:benefit_maternity_detail", args=[self.reference])

    @property
    def divisor_text(self) -> str:
        """The divisor as written: "30" or "30.4"."""
        return format(self.divisor.normalize(), "f")


class InjuryRecognition(BenefitClaim):
    """工伤认定申请: the accident; approval means 认定为工伤."""

    accident_at = models.DateTimeField(_("事故发生时间"))
    place = models.CharField(_("事故发生地点"), max_length=200)
    description = models.TextField(_("事故经过"), max_length=2000)
    filed_late = models.BooleanField(_("超过30日申请"), default=False)
    late_reason = models.TextField(_("逾期申请原因"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("工伤认定申请")
        verbose_name_plural = _("工伤认定申请")
        ordering = ["-created_at"]
        indexes = _queue_indexes("injury_recognition")

    def get_absolute_url(self):
        return reverse("contributions:benefit_recognition_detail", args=[self.reference])


class InjuryClaim(BenefitClaim):
    """工伤待遇申领 after the disability assessment: the lump sum and the medical expenses."""

    recognition = models.ForeignKey(
        InjuryRecognition,
        verbose_name=_("工伤认定申请"),
        on_delete=models.PROTECT,
        related_name="claims",
    )
    disability_level = models.PositiveSmallIntegerField(
        _("伤残等级"), validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    own_wage = models.DecimalField(_("本人月工资"), max_digits=MONEY_MAX_DIGITS, decimal_places=2)
    own_wage_months = models.PositiveSmallIntegerField(
        _("计算本人工资的月数"), default=0, help_text=_("0 表示按参保登记的月缴费工资")
    )
    wage_year = models.PositiveSmallIntegerField(_("统筹地区平均工资年度"))
    regional_average_wage = models.DecimalField(
        _("统筹地区职工月平均工资"), max_digits=MONEY_MAX_DIGITS, decimal_places=2
    )
    bounded_wage = models.DecimalField(_("计发工资"), max_digits=MONEY_MAX_DIGITS, decimal_places=2)
    lump_sum = models.DecimalField(
        _("一次性伤残补助金"), max_digits=MONEY_MAX_DIGITS, decimal_places=2
    )
    medical_total = models.DecimalField(
        _("医疗费合计"), max_digits=MONEY_MAX_DIGITS, decimal_places=2, default=Decimal("0")
    )
    approved_lump_sum = models.DecimalField(
        _("核定一次性伤残补助金"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=2,
        null=True,
        blank=True,
    )
    approved_medical_total = models.DecimalField(
        _("核定医疗费"), max_digits=MONEY_MAX_DIGITS, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("工伤待遇申领")
        verbose_name_plural = _("工伤待遇申领")
        ordering = ["-created_at"]
        indexes = _queue_indexes("injury_claim")

    def get_absolute_url(self):
        return reverse("contributions:benefit_injury_claim_detail", args=[self.reference])

    @property
    def amount(self) -> Decimal:
        return self.lump_sum + self.medical_total

    @property
    def approved_amount(self) -> Decimal | None:
        if self.approved_lump_sum is None:
            return None
        return self.approved_lump_sum + (self.approved_medical_total or Decimal("0"))


class MedicalReceipt(models.Model):
    """One medical receipt of a 工伤待遇 claim."""

    claim = models.ForeignKey(
        InjuryClaim,
        verbose_name=_("工伤待遇申领"),
        on_delete=models.CASCADE,
        related_name="receipts",
    )
    number = models.CharField(_("票据号"), max_length=40)
    issued_on = models.DateField(_("开票日期"))
    amount = models.DecimalField(
        _("金额(元)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )

    class Meta:
        verbose_name = _("医疗费票据")
        verbose_name_plural = _("医疗费票据")
        ordering = ["pk"]

    def __str__(self):
        return f"{self.number} {self.amount}"


def benefit_attachment_upload_to(instance, filename: str) -> str:
    """A random name under the unit's folder: the uploader's file name is never used on disk."""
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(
        instance.content_type, "bin"
    )
    return f"benefits/{instance.employer_id}/{uuid.uuid4().hex}.{extension}"


class BenefitAttachment(models.Model):
    """A file attached to one claim (exactly one of the three links is set)."""

    class Kind(models.TextChoices):
        BIRTH_CERTIFICATE = "birth_certificate", _("出生医学证明")
        MEDICAL_PROOF = "medical_proof", _("医疗机构诊断证明")
        INJURY_DIAGNOSIS = "injury_diagnosis", _("工伤医疗诊断证明")
        ASSESSMENT = "assessment", _("劳动能力鉴定结论书")
        RECEIPTS = "receipts", _("医疗费票据扫描件")

    employer_id = models.BigIntegerField(_("单位ID"), db_index=True)
    maternity_claim = models.ForeignKey(
        MaternityClaim,
        verbose_name=_("生育津贴申领"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    recognition = models.ForeignKey(
        InjuryRecognition,
        verbose_name=_("工伤认定申请"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    injury_claim = models.ForeignKey(
        InjuryClaim,
        verbose_name=_("工伤待遇申领"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    kind = models.CharField(_("材料类型"), max_length=20, choices=Kind.choices)
    file = models.FileField(_("文件"), upload_to=benefit_attachment_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=50)
    size = models.PositiveIntegerField(_("大小(字节)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("待遇申领附件")
        verbose_name_plural = _("待遇申领附件")
        ordering = ["kind", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(maternity_claim__isnull=False, recognition=None, injury_claim=None)
                    | Q(maternity_claim=None, recognition__isnull=False, injury_claim=None)
                    | Q(maternity_claim=None, recognition=None, injury_claim__isnull=False)
                ),
                name="benefit_attachment_one_claim",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.original_name}"
