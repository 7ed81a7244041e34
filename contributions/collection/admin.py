"""Clerks' read-only views of 税务征收: 应征数据, the results that came back, the daily 对账."""

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from contributions.models import CollectionOrder, CollectionResult, ReconciliationReport
from portal.admin import ReadOnlyAdmin


@admin.register(CollectionOrder)
class CollectionOrderAdmin(ReadOnlyAdmin):
    list_display = [
        "idempotency_key",
        "employer",
        "status",
        "amount",
        "paid_amount",
        "voucher_number",
        "receipt_number",
        "paid_on",
        "send_attempts",
        "created_at",
    ]
    list_filter = ["status", "paid_on"]
    list_select_related = ["employer"]
    search_fields = ["idempotency_key", "voucher_number", "receipt_number", "employer__name"]
    date_hierarchy = "created_at"


@admin.register(CollectionResult)
class CollectionResultAdmin(ReadOnlyAdmin):
    list_display = [
        "result_id",
        "idempotency_key",
        "bill",
        "outcome",
        "amount",
        "receipt_number",
        "paid_on",
        "failure_message",
        "source",
        "received_at",
    ]
    list_filter = ["outcome", "source", "paid_on"]
    list_select_related = ["bill"]
    search_fields = ["result_id", "idempotency_key", "receipt_number"]
    date_hierarchy = "received_at"


@admin.register(ReconciliationReport)
class ReconciliationReportAdmin(ReadOnlyAdmin):
    """Each morning's 对账 (manage.py reconcile_collection, beat 06:30): every mismatch, why."""

    list_display = ["date", "mismatch_count", "bills_checked", "results_checked", "ran_at"]
    list_filter = ["date"]
    fields = ["date", "ran_at", "bills_checked", "results_checked", "mismatch_count", "details"]
    readonly_fields = fields

    @admin.display(description=_("差异明细"))
    def details(self, obj):
        if not obj.mismatches:
            return _("无差异")
        return format_html_join(
            "",
            "<p><strong>{}</strong> {} {}</p>",
            (
                (
                    _(entry["label"]) if entry.get("label") else "",
                    entry.get("bill") or entry.get("receipt") or "",
                    entry.get("cause", ""),
                )
                for entry in obj.mismatches
            ),
        )
