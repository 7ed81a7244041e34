"""批量增员 imports for operators: progress, the imports no worker is running, and re-queueing."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from enrollment.batch.process import batch_imports_requeue_stuck, batch_imports_stuck_q
from enrollment.models import BatchImport
from portal.admin import ReadOnlyAdmin


class StuckImportFilter(admin.SimpleListFilter):
    title = _("需处理")
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        return [("yes", _("无工作进程处理(超过租期或未开始)"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(batch_imports_stuck_q())
        return queryset


@admin.register(BatchImport)
class BatchImportAdmin(ReadOnlyAdmin):
    """Rows are written by the upload and the import task; the files are not offered here."""

    list_display = [
        "reference",
        "employer",
        "status",
        "progress",
        "error_count",
        "created_at",
        "heartbeat_at",
        "finished_at",
        "failure_reason",
        "filings_link",
    ]
    list_filter = [StuckImportFilter, "status", "created_at"]
    list_select_related = ["employer"]
    search_fields = ["reference", "employer__name", "employer__ss_number"]
    date_hierarchy = "created_at"
    # The workbook and its report hold ID numbers: units download them on their own pages.
    fields = [
        "reference",
        "employer",
        "status",
        "total_rows",
        "processed_rows",
        "created_count",
        "duplicate_count",
        "error_count",
        "failure_reason",
        "created_at",
        "heartbeat_at",
        "finished_at",
    ]
    readonly_fields = fields
    actions = ["requeue"]
    show_full_result_count = False

    def has_requeue_permission(self, request):
        return request.user.has_perm("enrollment.change_batchimport")

    @admin.display(description=_("增员申请"))
    def filings_link(self, obj):
        """The review queue filtered to the filings this import made."""
        url = reverse("admin:enrollment_addemployeefiling_changelist")
        return format_html('<a href="{}?batch={}">{}</a>', url, obj.reference, _("查看"))

    @admin.display(description=_("进度"))
    def progress(self, obj):
        return f"{obj.processed_rows}/{obj.total_rows}"

    @admin.action(description=_("重新排队(仅限无工作进程处理的)"), permissions=["requeue"])
    def requeue(self, request, queryset):
        chosen = list(queryset.values_list("pk", flat=True))
        requeued = batch_imports_requeue_stuck(pks=chosen, actor=request.user)
        self.message_user(
            request,
            _("已重新排队 %(requeued)d 个批次;其余 %(left)d 个正在处理、已结束或暂未能排队。")
            % {"requeued": requeued, "left": len(chosen) - requeued},
            messages.SUCCESS if requeued else messages.WARNING,
        )
