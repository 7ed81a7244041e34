import json

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from portal.models import AuditEvent, Region, User, WorkdayCalendarYear, WorkdayOverride

admin.site.register(User, UserAdmin)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by a service or a manage.py command, which also writes the audit row."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


# The calendar is loaded with manage.py load_workday_calendar from the State Council's notice.
@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(ReadOnlyAdmin):
    list_display = ["date", "is_working_day", "name"]
    list_filter = ["is_working_day", "date"]
    search_fields = ["name"]
    date_hierarchy = "date"


@admin.register(WorkdayCalendarYear)
class WorkdayCalendarYearAdmin(ReadOnlyAdmin):
    list_display = ["year", "source", "loaded_at"]
    list_filter = ["loaded_at"]
    date_hierarchy = "loaded_at"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "actor_label",
        "action",
        "outcome",
        "object_type",
        "object_id",
        "ip_address",
        "employer_id",
    ]
    list_filter = ["action", "outcome", "created_at"]
    search_fields = ["action", "object_id", "actor_label"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "actor",
        "actor_label",
        "employer_id",
        "action",
        "outcome",
        "object_type",
        "object_id",
        "ip_address",
        "details_display",
    ]
    readonly_fields = fields
    # The log grows without bound: skip the unfiltered COUNT(*) on every filtered page.
    show_full_result_count = False

    @admin.display(description=_("详情"))
    def details_display(self, obj):
        text = json.dumps(obj.details, ensure_ascii=False, indent=2, sort_keys=True)
        return format_html("<pre>{}</pre>", text)
