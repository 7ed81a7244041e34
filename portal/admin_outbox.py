"""The notification outbox for operators: delivery status, stuck rows, and resending them.

Bodies may hold verification codes and are never shown; the recipient is masked. Resending keeps
the row and its idempotency key (portal.notifications.notifications_resend).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from portal.identifiers import mask_phone
from portal.models import Notification
from portal.notifications import notifications_resend, notifications_stuck_q


class StuckFilter(admin.SimpleListFilter):
    title = _("需处理")
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        return [
            ("sending_expired", _("发送中超过租期")),
            ("never_queued", _("已创建未入队")),
            ("retry_due", _("重试时间已到")),
            ("technical_failure", _("技术故障")),
        ]

    def queryset(self, request, queryset):
        if self.value() in dict(self.lookup_choices):
            return queryset.filter(notifications_stuck_q(self.value()))
        return queryset


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Delivery status only: bodies may hold verification codes and are not shown to clerks."""

    list_display = [
        "created_at",
        "channel",
        "template",
        "masked_recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "delivered_at",
    ]
    list_filter = [StuckFilter, "status", "channel", "template"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "channel",
        "template",
        "masked_recipient",
        "employer_id",
        "status",
        "attempts",
        "claimed_at",
        "next_attempt_at",
        "expires_at",
        "last_error",
        "provider",
        "delivered_at",
        "idempotency_key",
    ]
    readonly_fields = fields
    actions = ["resend"]
    show_full_result_count = False

    # Rows are written only by portal.notifications, which also writes the audit row.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return request.user.has_perm("portal.change_notification")

    @admin.display(description=_("接收方"))
    def masked_recipient(self, obj):
        if obj.channel == Notification.Channel.SMS:
            return mask_phone(obj.recipient)
        name, _sep, domain = obj.recipient.partition("@")
        return f"{name[:1]}***@{domain}"

    @admin.action(description=_("重新发送(沿用原幂等键)"), permissions=["resend"])
    def resend(self, request, queryset):
        queued, skipped = notifications_resend(
            pks=queryset.values_list("pk", flat=True), actor=request.user
        )
        self.message_user(
            request,
            _("已重新排队 %(queued)d 条通知;跳过 %(skipped)d 条(已送达、正在发送或已过期)。")
            % {"queued": queued, "skipped": skipped},
            messages.SUCCESS if queued else messages.WARNING,
        )
