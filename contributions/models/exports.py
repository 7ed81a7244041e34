"""Export jobs: large exports written by a task."""

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
    # Written by the task after every chunk: the exports page shows it as the job's progress.
    rows_done = models.PositiveIntegerField(_("已生成行数"), default=0)
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

    def get_absolute_url(self):
        return reverse("contributions:export_detail", args=[self.reference])

    @property
    def pending(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def progress_percent(self) -> int:
        """How much of the file is written, 0–100 (100 only once the file is saved)."""
        if self.status == self.Status.DONE:
            return 100
        if not self.row_count:
            return 0
        return min(99, self.rows_done * 100 // self.row_count)
