from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A login: a clerk (staff) or the account behind an employer's agent (employers.Agent)."""

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")


class AuditEventQuerySet(models.QuerySet):
    """Refuse bulk changes: the audit log is append-only (等保 2.0 security audit)."""

    def update(self, **kwargs):
        raise RuntimeError("audit events are append-only")

    def delete(self):
        raise RuntimeError("audit events are append-only")


class AuditEvent(models.Model):
    """One security or business event (等保 2.0 security audit); rows are never changed."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("成功")
        FAILURE = "failure", _("失败")

    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(_("操作人标识"), max_length=150, blank=True)
    employer_id = models.BigIntegerField(_("单位ID"), null=True, blank=True, db_index=True)
    action = models.CharField(_("事件类型"), max_length=64, db_index=True)
    outcome = models.CharField(
        _("结果"), max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS
    )
    object_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    object_id = models.CharField(_("对象ID"), max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(_("地址"), null=True, blank=True)
    details = models.JSONField(_("详情"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.outcome}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit events are append-only")


class WorkdayOverride(models.Model):
    """A day whose working status ops loaded for a year (statutory holiday or 调休 working day)."""

    date = models.DateField(_("日期"), unique=True)
    is_working_day = models.BooleanField(_("是否工作日"))
    name = models.CharField(_("说明"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("工作日历调整")
        verbose_name_plural = _("工作日历调整")
        ordering = ["date"]

    def __str__(self):
        kind = _("工作日") if self.is_working_day else _("休息日")
        return f"{self.date:%Y-%m-%d} {kind} {self.name}"


class WorkdayCalendarYear(models.Model):
    """A year whose complete calendar ops loaded: its other weekdays work, weekends rest."""

    year = models.PositiveIntegerField(_("年份"), unique=True)
    source = models.CharField(_("来源"), max_length=200, blank=True)
    loaded_at = models.DateTimeField(_("导入时间"), auto_now=True)

    class Meta:
        verbose_name = _("已导入日历年度")
        verbose_name_plural = _("已导入日历年度")
        ordering = ["-year"]

    def __str__(self):
        return str(self.year)


class Region(models.Model):
    """A social-insurance pooling region (统筹区), identified by its administrative code."""

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=50)

    class Meta:
        verbose_name = _("统筹区")
        verbose_name_plural = _("统筹区")
        ordering = ["code"]

    def __str__(self):
        return f"{self.name}({self.code})"


class SmsCode(models.Model):
    """A one-time SMS verification code; only its keyed hash is stored."""

    purpose = models.CharField(_("用途"), max_length=32)
    phone_index = models.CharField(_("手机号索引"), max_length=64, db_index=True)
    code_hash = models.CharField(_("验证码摘要"), max_length=64)
    created_at = models.DateTimeField(_("发送时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"))
    wrong_attempts = models.PositiveSmallIntegerField(_("错误次数"), default=0)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("短信验证码")
        verbose_name_plural = _("短信验证码")
        indexes = [models.Index(fields=["purpose", "phone_index", "-created_at"])]

    def __str__(self):
        return f"{self.purpose} {self.created_at:%Y-%m-%d %H:%M}"
