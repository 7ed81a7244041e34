"""Clerks' read-only view of monthly bills (written only by contributions.billing.engine)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from contributions.billing.engine import bill_generate
from contributions.common import TYPE_ORDER
from contributions.models import BillLine, InsuranceType, MonthlyBill
from portal.admin import ReadOnlyAdmin

INLINE_LINES = 100


class FirstLinesFormSet(BaseInlineFormSet):
    """Show only the first lines of a bill: a unit of 10,000 has 40,000 (see the line list)."""

    def get_queryset(self):
        if not hasattr(self, "_first_lines"):
            self._first_lines = list(super().get_queryset()[:INLINE_LINES])
        return self._first_lines


class BillLineInline(admin.TabularInline):
    model = BillLine
    formset = FirstLinesFormSet
    fields = [
        "enrolment",
        "person",
        "insurance_type",
        "base",
        "employer_rate",
        "personal_rate",
        "employer_amount",
        "personal_amount",
    ]
    readonly_fields = fields
    ordering = ["enrolment_id", "insurance_type"]
    can_delete = False
    extra = 0
    max_num = 0
    verbose_name_plural = _("缴费明细(前 100 条)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("person", "enrolment__person")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MonthlyBill)
class MonthlyBillAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "unit_name",
        "month_text",
        "kind",
        "sequence",
        "status",
        "person_count",
        "employer_total",
        "personal_total",
        "total",
        "due_on",
        "generated_at",
    ]
    list_filter = ["status", "kind", "month"]
    list_select_related = ["employer"]
    list_per_page = 50
    search_fields = ["reference", "employer__name", "employer__ss_number"]
    date_hierarchy = "month"
    fields = [
        "reference",
        "employer",
        "month",
        "kind",
        "sequence",
        "status",
        "period",
        ("base_lower", "base_upper"),
        "person_count",
        ("employer_total", "personal_total", "total"),
        "totals_by_type",
        "all_lines",
        "due_on",
        "generated_at",
        ("confirmed_at", "confirmed_by"),
        "debited_at",
        "settled_at",
        "note",
    ]
    readonly_fields = [
        "reference",
        "employer",
        "month",
        "kind",
        "sequence",
        "status",
        "period",
        "base_lower",
        "base_upper",
        "person_count",
        "employer_total",
        "personal_total",
        "total",
        "totals_by_type",
        "all_lines",
        "due_on",
        "generated_at",
        "confirmed_at",
        "confirmed_by",
        "debited_at",
        "settled_at",
        "note",
    ]
    inlines = [BillLineInline]
    actions = ["regenerate"]

    @admin.display(description=_("单位全称"), ordering="employer__name")
    def unit_name(self, obj):
        return obj.employer.name

    @admin.display(description=_("费款所属期"), ordering="month")
    def month_text(self, obj):
        return obj.month.strftime("%Y-%m")

    @admin.display(description=_("分险种合计"))
    def totals_by_type(self, obj):
        rows = {
            row["insurance_type"]: row
            for row in BillLine.objects.filter(bill=obj)
            .values("insurance_type")
            .annotate(
                persons=Count("enrolment_id", distinct=True),
                employer=Sum("employer_amount"),
                personal=Sum("personal_amount"),
            )
            .order_by()
        }
        ordered = [rows[kind] for kind in TYPE_ORDER if kind in rows]
        if not ordered:
            return "—"
        return format_html_join(
            "\n",
            str(_("<div>{}:{} 人,单位 {} 元,个人 {} 元</div>")),
            (
                (
                    InsuranceType(row["insurance_type"]).label,
                    row["persons"],
                    f"{row['employer']:.2f}",
                    f"{row['personal']:.2f}",
                )
                for row in ordered
            ),
        )

    @admin.display(description=_("全部明细"))
    def all_lines(self, obj):
        url = reverse("admin:contributions_billline_changelist") + f"?bill__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("查看本核定单的全部缴费明细"))

    def has_regenerate_permission(self, request):
        # The bill itself is read-only here; the change permission stands for 重新核定.
        return request.user.has_perm("contributions.change_monthlybill")

    @admin.action(description=_("重新核定所选单位和月份"), permissions=["regenerate"])
    def regenerate(self, request, queryset):
        done, failed = 0, 0
        pairs = queryset.select_related("employer__region").order_by().distinct()
        seen = set()
        for bill in pairs:
            key = (bill.employer_id, bill.month)
            if key in seen:
                continue
            seen.add(key)
            try:
                bill_generate(employer=bill.employer, month=bill.month, actor=request.user)
                done += 1
            except ValidationError as exc:
                failed += 1
                self.message_user(
                    request,
                    f"{bill.employer.name} {bill.month:%Y-%m}:{'；'.join(exc.messages)}",
                    messages.ERROR,
                )
        if done:
            self.message_user(
                request,
                _("已重新核定 %(count)s 个单位月份(数据未变的不产生变化)") % {"count": done},
                messages.SUCCESS,
            )


@admin.register(BillLine)
class BillLineAdmin(ReadOnlyAdmin):
    list_display = [
        "bill",
        "month",
        "enrolment",
        "person",
        "insurance_type",
        "base",
        "employer_rate",
        "personal_rate",
        "employer_amount",
        "personal_amount",
    ]
    list_filter = ["insurance_type", "month"]
    list_select_related = ["bill", "person", "enrolment__person"]
    list_per_page = 100
    search_fields = ["bill__reference"]
    show_full_result_count = False
