import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.crypto import EncryptedTextField


class User(AbstractUser):
    """A login: a clerk (staff) or the account behind an employer's agent (employers.Agent)."""

    regions = models.ManyToManyField(
        "portal.Region",
        verbose_name=_("经办区域"),
        blank=True,
        related_name="clerks",
        help_text=_("经办人员只能审核所选统筹区的业务;不选表示不限区域。"),
    )

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

    class Level(models.TextChoices):
        PROVINCE = "province", _("省级")
        PREFECTURE = "prefecture", _("地级")

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    # Set for the GB/T 2260 divisions loaded by ``manage.py load_regions``; empty for a region
    # added by hand (a pooling region that is no administrative division, demo data).
    level = models.CharField(_("级别"), max_length=16, choices=Level.choices, blank=True)
    # A code abolished in a later edition of GB/T 2260 is kept (accounts and filings refer to
    # it) but no longer offered for new accounts.
    is_active = models.BooleanField(_("现行有效"), default=True)
    # Shown on the help page next to 12333, the national hotline.
    hotline = models.CharField(_("咨询电话"), max_length=40, blank=True)
    service_hours = models.CharField(_("服务时间"), max_length=200, blank=True)

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


class ReviewState(models.TextChoices):
    """The review workflow every reviewable item goes through (DESIGN.md section 8)."""

    SUBMITTED = "submitted", _("已提交")
    PRECHECKED = "prechecked", _("已预审")
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("审核通过")
    REJECTED = "rejected", _("审核未通过")
    RESUBMITTED = "resubmitted", _("已重新提交")


OPEN_REVIEW_STATES = (
    ReviewState.SUBMITTED,
    ReviewState.PRECHECKED,
    ReviewState.PENDING,
    ReviewState.RESUBMITTED,
)


class ReviewableModel(models.Model):
    """Fields shared by everything a clerk reviews; the workflow lives in portal.review."""

    review_state = models.CharField(
        _("审核状态"), max_length=16, choices=ReviewState.choices, blank=True, db_index=True
    )
    review_region = models.ForeignKey(
        "portal.Region",
        verbose_name=_("统筹区"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("审核时限"), null=True, blank=True)
    is_overdue = models.BooleanField(_("已超期"), default=False)
    reminded_at = models.DateTimeField(_("到期提醒时间"), null=True, blank=True)
    prechecked_at = models.DateTimeField(_("预审时间"), null=True, blank=True)
    # Set when the pre-check message could not be sent (broker down); the watcher sends it again
    # within a minute of the broker's return (portal.review.review_requeue_prechecks).
    precheck_unqueued = models.BooleanField(_("预审待重新排队"), default=False)
    precheck_results = models.JSONField(_("预审结果"), default=list, blank=True)
    prechecks_passed = models.BooleanField(_("预审通过"), null=True, blank=True)
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    review_comment = models.TextField(_("审核意见"), blank=True)

    class Meta:
        abstract = True
        # Concrete models name their own queue index on ("review_state", "due_at"): index
        # names are limited to 30 characters.

    @property
    def review_is_open(self) -> bool:
        return self.review_state in OPEN_REVIEW_STATES

    def review_employer_id(self) -> int | None:
        """The unit the item belongs to (for the audit log), when it has one."""
        return None


class ReviewTransition(models.Model):
    """One recorded step of a review: who, when, from which state to which, and why."""

    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, verbose_name=_("业务类型")
    )
    object_id = models.PositiveBigIntegerField(_("业务ID"))
    action = models.CharField(_("操作"), max_length=16)
    from_state = models.CharField(_("原状态"), max_length=16, blank=True)
    to_state = models.CharField(_("新状态"), max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(_("操作人标识"), max_length=150, blank=True)
    comment = models.TextField(_("意见"), blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("审核记录")
        verbose_name_plural = _("审核记录")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["content_type", "object_id", "created_at"])]

    def __str__(self):
        return f"{self.action} {self.from_state}→{self.to_state}"


class ReviewPolicy(models.Model):
    """Review time limit and real-time approval per item type, optionally per region."""

    item_type = models.CharField(
        _("业务类型"), max_length=100, help_text=_("如 employers.registrationapplication")
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("统筹区"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text=_("留空表示所有统筹区的默认设置"),
    )
    due_working_days = models.PositiveSmallIntegerField(
        _("审核时限(工作日)"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(3)],
    )
    realtime_approval = models.BooleanField(
        _("实时审核"), default=False, help_text=_("预审全部通过时自动审核通过")
    )

    class Meta:
        verbose_name = _("审核时限设置")
        verbose_name_plural = _("审核时限设置")
        constraints = [
            models.UniqueConstraint(
                fields=["item_type", "region"], name="review_policy_unique_type_region"
            ),
            models.UniqueConstraint(
                fields=["item_type"],
                condition=models.Q(region__isnull=True),
                name="review_policy_unique_type_default",
            ),
        ]

    def __str__(self):
        return f"{self.item_type} {self.region or _('默认')}"


class Notification(models.Model):
    """An outbox row: written with the state change it reports, sent after commit, once."""

    class Channel(models.TextChoices):
        SMS = "sms", _("短信")
        EMAIL = "email", _("电子邮件")

    class Status(models.TextChoices):
        CREATED = "created", _("待发送")
        SENDING = "sending", _("发送中")
        DELIVERED = "delivered", _("已送达")
        TEMPORARY_FAILURE = "temporary-failure", _("暂时失败,待重试")
        PERMANENT_FAILURE = "permanent-failure", _("永久失败")
        TECHNICAL_FAILURE = "technical-failure", _("技术故障")

    idempotency_key = models.UUIDField(_("幂等键"), default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(_("渠道"), max_length=8, choices=Channel.choices)
    template = models.CharField(_("模板"), max_length=64)
    recipient = EncryptedTextField(_("接收方"), kind="message")
    subject = models.CharField(_("主题"), max_length=200, blank=True)
    body = EncryptedTextField(_("内容"), kind="message")
    employer_id = models.BigIntegerField(_("单位ID"), null=True, blank=True, db_index=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.CREATED
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试时间"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("开始发送时间"), null=True, blank=True)
    expires_at = models.DateTimeField(_("失效时间"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=200, blank=True)
    provider = models.CharField(_("服务商"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.get_channel_display()} {self.template} {self.get_status_display()}"


class InboxCategory(models.TextChoices):
    REVIEW = "review", _("审核结果")
    REMINDER = "reminder", _("提醒")
    SECURITY = "security", _("账号安全")
    BILL = "bill", _("核定通知")
    ANSWER = "answer", _("留言答复")
    NOTICE = "notice", _("其他通知")


class InboxMessage(models.Model):
    """站内消息: what the hall told a unit, or one of its agents, in full (portal.inbox)."""

    employer_id = models.BigIntegerField(_("单位ID"))
    # Set: addressed to this agent only; empty: every agent of the unit sees it.
    agent_id = models.BigIntegerField(_("经办人ID"), null=True, blank=True)
    category = models.CharField(
        _("类别"), max_length=16, choices=InboxCategory.choices, default=InboxCategory.NOTICE
    )
    template = models.CharField(_("模板"), max_length=64)
    title = models.CharField(_("标题"), max_length=200)
    body = EncryptedTextField(_("内容"), kind="message")
    reference = models.CharField(_("业务编号"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("站内消息")
        verbose_name_plural = _("站内消息")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["employer_id", "-created_at"], name="inbox_by_unit")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.title}"


class InboxRead(models.Model):
    """When one agent opened one message (or marked it read with the rest)."""

    message = models.ForeignKey(
        InboxMessage, verbose_name=_("消息"), on_delete=models.CASCADE, related_name="reads"
    )
    agent_id = models.BigIntegerField(_("经办人ID"))
    read_at = models.DateTimeField(_("阅读时间"), default=timezone.now)

    class Meta:
        verbose_name = _("消息阅读记录")
        verbose_name_plural = _("消息阅读记录")
        constraints = [
            models.UniqueConstraint(fields=["message", "agent_id"], name="inbox_read_once")
        ]

    def __str__(self):
        return f"{self.message_id} {self.agent_id}"
