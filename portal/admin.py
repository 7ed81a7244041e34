import json

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from portal.identifiers import mask_phone
from portal.models import (
    AuditEvent,
    Notification,
    Region,
    ReviewPolicy,
    ReviewTransition,
    User,
    WorkdayCalendarYear,
    WorkdayOverride,
)


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    fieldsets = [
        *UserAdmin.fieldsets,
        (_("经办区域"), {"fields": ["regions"]}),
    ]
    filter_horizontal = [*UserAdmin.filter_horizontal, "regions"]


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
    list_display = ["code", "name", "hotline", "service_hours"]
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


@admin.register(ReviewPolicy)
class ReviewPolicyAdmin(admin.ModelAdmin):
    list_display = ["item_type", "region", "due_working_days", "realtime_approval"]
    list_filter = ["item_type", "realtime_approval"]
    list_select_related = ["region"]


@admin.register(ReviewTransition)
class ReviewTransitionAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "content_type",
        "object_id",
        "action",
        "from_state",
        "to_state",
        "actor_label",
    ]
    list_filter = ["action", "content_type"]
    list_select_related = ["content_type"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """Delivery status only: bodies may hold verification codes and are not shown to clerks."""

    list_display = [
        "created_at",
        "channel",
        "template",
        "masked_recipient",
        "status",
        "attempts",
        "delivered_at",
    ]
    list_filter = ["status", "channel", "template"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "channel",
        "template",
        "masked_recipient",
        "employer_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "provider",
        "delivered_at",
        "idempotency_key",
    ]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description=_("接收方"))
    def masked_recipient(self, obj):
        if obj.channel == Notification.Channel.SMS:
            return mask_phone(obj.recipient)
        name, _sep, domain = obj.recipient.partition("@")
        return f"{name[:1]}***@{domain}"
