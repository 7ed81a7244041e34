"""参保缴费证明 issued to units."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
