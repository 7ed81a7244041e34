"""Clerks' read-only view of contribution payments (changed only by payments.services)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from contributions.models import Payment
from portal.admin import ReadOnlyAdmin


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "unit_name",
        "bill_month",
        "amount",
        "status",
        "requested_at",
        "debited_at",
        "expected_settle_on",
        "settled_at",
    ]
    list_filter = ["status", "expected_settle_on"]
    list_select_related = ["employer", "bill"]
    search_fields = ["reference", "bank_reference", "bill__reference", "employer__name"]
    date_hierarchy = "requested_at"
    fields = [
        "reference",
        "bill",
        "employer",
        "amount",
        "status",
        "bank_reference",
        "failure_code",
        "failure_message",
        "requested_by",
        "requested_at",
        "debited_at",
        "expected_settle_on",
        "settled_at",
        "idempotency_key",
    ]
    readonly_fields = fields

    @admin.display(description=_("单位全称"), ordering="employer__name")
    def unit_name(self, obj):
        return obj.employer.name

    @admin.display(description=_("费款所属期"), ordering="bill__month")
    def bill_month(self, obj):
        return obj.bill.month.strftime("%Y-%m")
