from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.contenttypes.models import ContentType
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from portal import admin_outbox  # noqa: F401 — registers the notification outbox
from portal.models import (
    AuditEvent,
    Region,
    ReviewPolicy,
    ReviewTransition,
    User,
    WorkdayCalendarYear,
    WorkdayOverride,
)
from portal.review import reviewable_models
from portal.review_detail import ACTION_LABELS, state_label, transition_actor


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
    # The GB/T 2260 divisions come from manage.py load_regions; hotlines are added here.
    list_display = ["code", "name", "level", "is_active", "hotline", "service_hours"]
    list_filter = ["level", "is_active"]
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


# What the keys of an audit event's details mean, for the clerk's page (others show as they are).
AUDIT_DETAIL_LABELS = {
    "reference": _("业务编号"),
    "reason": _("原因"),
    "kind": _("类型"),
    "rows": _("行数"),
    "method": _("方式"),
    "flags": _("提示"),
    "fields": _("变更项目"),
    "source": _("来源"),
    "purpose": _("用途"),
    "full": _("完整导出"),
    "format": _("格式"),
    "before": _("变更前"),
    "after": _("变更后"),
    "year": _("年度"),
    "via": _("途径"),
    "topic": _("类别"),
    "to": _("变更为"),
    "from": _("原值"),
    "skipped": _("跳过"),
    "roles": _("角色"),
    "month": _("月份"),
    "days": _("天数"),
    "count": _("数量"),
    "errors": _("错误数"),
    "created": _("新增"),
    "duplicates": _("重复"),
    "outcome": _("结果"),
    "persons": _("人数"),
    "lines": _("明细行数"),
    "decision": _("审核决定"),
    "comment": _("审核意见"),
}


def _detail_text(value) -> str:
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    if isinstance(value, list):
        return _("、").join(_detail_text(item) for item in value) or "—"
    if isinstance(value, dict):
        return ";".join(f"{key}:{_detail_text(item)}" for key, item in value.items()) or "—"
    return "—" if value in (None, "") else str(value)


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
        """The details as labelled rows (never JSON): known keys by their Chinese names."""
        if not obj.details:
            return "—"
        rows = [
            (str(AUDIT_DETAIL_LABELS.get(key, key)), _detail_text(value))
            for key, value in sorted(obj.details.items())
        ]
        return format_html(
            '<table class="review-table"><tbody>{}</tbody></table>',
            format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>', rows),
        )


@admin.register(ReviewPolicy)
class ReviewPolicyAdmin(admin.ModelAdmin):
    list_display = ["item_type", "region", "due_working_days", "realtime_approval"]
    list_filter = ["item_type", "realtime_approval"]
    list_select_related = ["region"]


class TransitionActionFilter(admin.SimpleListFilter):
    title = _("操作")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return list(ACTION_LABELS.items())

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class TransitionTypeFilter(admin.SimpleListFilter):
    """The reviewable types only (a content-type filter would list every model, in English)."""

    title = _("业务类型")
    parameter_name = "type"

    def lookups(self, request, model_admin):
        types = ContentType.objects.get_for_models(*reviewable_models(), for_concrete_models=True)
        return sorted(
            ((str(ct.pk), model._meta.verbose_name) for model, ct in types.items()),
            key=lambda choice: str(choice[1]),
        )

    def queryset(self, request, queryset):
        return queryset.filter(content_type_id=self.value()) if self.value() else queryset


@admin.register(ReviewTransition)
class ReviewTransitionAdmin(ReadOnlyAdmin):
    """The review history of every item, in words (portal.review_detail), read-only."""

    list_display = [
        "created_at",
        "item_type",
        "object_id",
        "action_label",
        "from_label",
        "to_label",
        "actor_column",
    ]
    list_filter = [TransitionActionFilter, TransitionTypeFilter]
    list_select_related = ["content_type", "actor__agent"]
    fields = [*list_display, "comment"]
    readonly_fields = fields

    @admin.display(description=_("业务类型"), ordering="content_type")
    def item_type(self, obj):
        model = obj.content_type.model_class()
        return model._meta.verbose_name if model is not None else "—"

    @admin.display(description=_("操作"), ordering="action")
    def action_label(self, obj):
        return ACTION_LABELS.get(obj.action, _("处理"))

    @admin.display(description=_("原状态"))
    def from_label(self, obj):
        return state_label(obj.from_state)

    @admin.display(description=_("新状态"))
    def to_label(self, obj):
        return state_label(obj.to_state)

    @admin.display(description=_("操作人"))
    def actor_column(self, obj):
        return transition_actor(obj)

    date_hierarchy = "created_at"
    show_full_result_count = False
