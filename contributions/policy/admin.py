"""Clerks' screens of the contribution policy: periods with their rates, rounding rules, the
region's settings, and each unit's contribution account (工伤 risk class and floating factor)."""

import datetime

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Max, Min
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from contributions.models import (
    ContributionAccount,
    PolicyPeriod,
    PolicyRate,
    RegionContributionSettings,
    RiskClass,
    RoundingRule,
)
from contributions.policy.services import policy_admin_change_record, policy_period_admin_save


class PolicyYearFilter(admin.SimpleListFilter):
    """Periods in force for at least one day of the chosen calendar year."""

    title = _("年度")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        span = PolicyPeriod.objects.aggregate(first=Min("starts_on"), last=Max("ends_on"))
        if span["first"] is None:
            return []
        years = range(span["last"].year, span["first"].year - 1, -1)
        return [(str(year), _("%(year)s 年") % {"year": year}) for year in years]

    def queryset(self, request, queryset):
        try:
            year = int(self.value() or "")
        except ValueError:
            return queryset
        return queryset.filter(
            starts_on__lte=datetime.date(year, 12, 31), ends_on__gte=datetime.date(year, 1, 1)
        )


class PolicyRateFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if form.cleaned_data.get("DELETE"):
                continue
            key = (form.cleaned_data.get("insurance_type"), form.cleaned_data.get("risk_class"))
            if key in seen:
                label = form.instance.get_insurance_type_display()
                if key[1] is not None:
                    label = f"{label}({RiskClass(key[1]).label})"
                raise ValidationError(
                    _("%(type)s的费率填写了不止一行,每个险种(工伤保险每个风险类别)只能有一行")
                    % {"type": label}
                )
            seen.add(key)


class PolicyRateInline(admin.TabularInline):
    model = PolicyRate
    formset = PolicyRateFormSet
    fields = ["insurance_type", "risk_class", "employer_rate", "personal_rate"]
    extra = 0


def _mark_history_user(obj, request):
    # SimpleHistoryAdmin records the clerk only on objects its own save_model saves: the period
    # (saved by the policy service) and its inline rows need this.
    obj._history_user = request.user


@admin.register(PolicyPeriod)
class PolicyPeriodAdmin(SimpleHistoryAdmin):
    list_display = [
        "region",
        "starts_on",
        "ends_on",
        "base_lower",
        "base_upper",
        "is_published",
        "published_at",
        "demo_figures",
    ]
    list_filter = ["region", PolicyYearFilter, "is_published"]
    list_select_related = ["region"]
    search_fields = ["region__code", "region__name", "note"]
    fieldsets = [
        (None, {"fields": ["region", ("starts_on", "ends_on")]}),
        (_("缴费基数(元/月)"), {"fields": [("base_lower", "base_upper")]}),
        (_("发布"), {"fields": ["is_published", "published_at", "note", "updated_at"]}),
    ]
    readonly_fields = ["published_at", "updated_at"]
    inlines = [PolicyRateInline]

    @admin.display(boolean=True, description=_("演示数据"))
    def demo_figures(self, obj):
        return obj.is_demo

    def save_model(self, request, obj, form, change):
        _mark_history_user(obj, request)
        policy_period_admin_save(period=obj, changed=form.changed_data, created=not change)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            _mark_history_user(obj, request)
            obj.delete()
        for obj in instances:
            _mark_history_user(obj, request)
            obj.save()
        formset.save_m2m()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        policy_admin_change_record(
            period=form.instance,
            request=request,
            action="policy.changed" if change else "policy.created",
        )

    def delete_model(self, request, obj):
        policy_admin_change_record(period=obj, request=request, action="policy.deleted")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            policy_admin_change_record(period=obj, request=request, action="policy.deleted")
        super().delete_queryset(request, queryset)


@admin.register(PolicyRate)
class PolicyRateAdmin(SimpleHistoryAdmin):
    """Every rate with its own history; rates are normally edited on their period's page."""

    list_display = ["period", "insurance_type", "risk_class", "employer_rate", "personal_rate"]
    list_filter = ["period__region", "insurance_type", "risk_class"]
    list_select_related = ["period__region"]
    search_fields = ["period__region__code", "period__region__name"]


@admin.register(RoundingRule)
class RoundingRuleAdmin(SimpleHistoryAdmin):
    list_display = ["region", "insurance_type", "side", "method"]
    list_filter = ["region", "insurance_type", "side", "method"]
    list_select_related = ["region"]
    search_fields = ["region__code", "region__name"]


@admin.register(RegionContributionSettings)
class RegionContributionSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "region",
        "declaration_requires_review",
        "joiner_cutoff_day",
        "payment_due_day",
        "collection_mode",
    ]
    list_filter = ["collection_mode"]
    list_select_related = ["region"]
    search_fields = ["region__code", "region__name"]


@admin.register(ContributionAccount)
class ContributionAccountAdmin(SimpleHistoryAdmin):
    """A unit's 工伤 risk class and floating factor; bills use them from the next generation."""

    list_display = ["employer", "risk_class", "work_injury_float", "updated_at"]
    list_filter = ["risk_class"]
    list_select_related = ["employer"]
    search_fields = ["employer__name", "employer__ss_number", "employer__uscc"]
    raw_id_fields = ["employer"]

    def get_readonly_fields(self, request, obj=None):
        return ["employer"] if obj else []
