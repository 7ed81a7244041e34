"""The clerk's review queue in the admin: filters, search, the clerk's home and the report.

Every reviewable type's changelist (portal.admin_review.ReviewAdmin) filters by state, region,
due time, submission date and "my items" (the items I decided: reviewable items have no claim
of their own), and looks a typed number up exactly (a filing number, a unit's social-security
number or USCC) before it matches names. The home page (/admin/review/home/) counts each type's
waiting, due-today and overdue items, one query a type; the report page shows
portal.review_stats.review_report, the numbers ``manage.py review_report`` prints.
"""

from __future__ import annotations

import datetime
import operator
from functools import reduce

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.review_stats import (
    MEDIAN_DAYS,
    due_today_q,
    due_within_q,
    overdue_q,
    review_queue_counts,
    review_report,
    review_types_for,
)

QUEUE_PARAMETER = "queue"  # portal.admin_review.QueueStateFilter: open items unless asked


class DueFilter(admin.SimpleListFilter):
    """Open items by their time limit; the clerk's home counts with the same conditions."""

    title = _("审核时限")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [
            ("today", _("今日到期(未超期)")),
            ("overdue", _("已超期")),
            ("week", _("5日内到期(含已超期)")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "today":
            return queryset.filter(due_today_q(now))
        if self.value() == "overdue":
            return queryset.filter(overdue_q(now))
        if self.value() == "week":
            return queryset.filter(due_within_q(now, 5))
        return queryset


class MineFilter(admin.SimpleListFilter):
    """The items the signed-in clerk decided (decided_by), whatever their state now."""

    title = _("我的业务")
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("decided", _("我审核过的"))]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("全部"),
        }
        for lookup, title in self.lookup_choices:
            params = {self.parameter_name: lookup}
            # Decided items are no longer open: show every state unless one was chosen.
            if QUEUE_PARAMETER not in changelist.filter_params:
                params[QUEUE_PARAMETER] = "all"
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string(params),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "decided":
            return queryset.filter(decided_by=request.user)
        return queryset


class SubmittedRangeFilter(admin.ListFilter):
    """Submitted on or after a date and on or before another (either may be left empty)."""

    title = _("提交日期")
    template = "admin/review/date_range_filter.html"
    parameters = ("submitted_from", "submitted_to")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.dates: dict[str, datetime.date] = {}
        field = forms.DateField()
        for name in self.parameters:
            if name not in params:
                continue
            value = params.pop(name)[-1].strip()
            self.used_parameters[name] = value
            if not value:
                continue
            try:
                self.dates[name] = field.clean(value)
            except forms.ValidationError:
                raise IncorrectLookupParameters(value) from None

    def has_output(self):
        return True

    def expected_parameters(self):
        return list(self.parameters)

    def queryset(self, request, queryset):
        tz = timezone.get_current_timezone()
        start, end = self.dates.get("submitted_from"), self.dates.get("submitted_to")
        if start:
            queryset = queryset.filter(
                submitted_at__gte=datetime.datetime.combine(start, datetime.time.min, tzinfo=tz)
            )
        if end:
            next_day = end + datetime.timedelta(days=1)
            queryset = queryset.filter(
                submitted_at__lt=datetime.datetime.combine(next_day, datetime.time.min, tzinfo=tz)
            )
        return queryset

    def choices(self, changelist):
        # One form: the other parameters of the list ride along as hidden fields.
        keep = [
            (name, value)
            for name, values in changelist.filter_params.items()
            if name not in self.parameters
            for value in values
        ]
        yield {
            "hidden": keep,
            "from": self.used_parameters.get("submitted_from", ""),
            "to": self.used_parameters.get("submitted_to", ""),
            "active": bool(self.dates),
            "clear_query_string": changelist.get_query_string(remove=list(self.parameters)),
        }


def _has_field(model, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def review_search_results(model_admin, request, queryset, search_term):
    """A typed number is looked up exactly: a filing number, or the unit's social-security
    number or USCC; anything else matches the names among the admin's search_fields.

    Exact look-ups use unique indexes; the admin's default (icontains over every field across
    the join) scans the queue (bench/review_queue.py).
    """
    term = " ".join(search_term.split())
    if not term:
        return queryset, False
    model = queryset.model
    code = term.replace(" ", "").upper()
    if code.isascii() and code.isalnum() and any(ch.isdigit() for ch in code):
        match = Q(reference=code) if _has_field(model, "reference") else Q(pk__in=[])
        if _has_field(model, "employer"):
            units = model._meta.get_field("employer").related_model._default_manager
            unit_ids = list(
                units.filter(Q(uscc=code) | Q(ss_number=code)).values_list("pk", flat=True)[:100]
            )
            if unit_ids:
                match |= Q(employer_id__in=unit_ids)
        return queryset.filter(match), False
    names = [
        name for name in model_admin.get_search_fields(request) if name.split("__")[-1] == "name"
    ]
    if not names:
        return admin.ModelAdmin.get_search_results(model_admin, request, queryset, term)
    match = reduce(operator.or_, (Q(**{f"{name}__icontains": term}) for name in names))
    return queryset.filter(match), False


def _changelist_url(model) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def _desk_context(request, title: str) -> dict:
    if not review_types_for(request.user):
        raise PermissionDenied
    return {
        **admin.site.each_context(request),
        "title": title,
        "home_url": reverse("review_desk:home"),
        "report_url": reverse("review_desk:report"),
    }


def review_home_view(request):
    """The clerk's home: each type's waiting, due-today and overdue items, with their lists."""
    context = _desk_context(request, _("审核工作台"))
    rows = []
    for counts in review_queue_counts(request.user):
        url = _changelist_url(counts.model)
        rows.append(
            {
                "counts": counts,
                "url": url,
                "today_url": f"{url}?due=today",
                "overdue_url": f"{url}?due=overdue",
                "mine_url": f"{url}?mine=decided&queue=all",
            }
        )
    context.update(
        rows=rows,
        waiting=sum(row["counts"].waiting for row in rows),
        due_today=sum(row["counts"].due_today for row in rows),
        overdue=sum(row["counts"].overdue for row in rows),
    )
    return TemplateResponse(request, "admin/review/home.html", context)


def review_report_view(request):
    """The review report: the numbers of ``manage.py review_report``, as a page."""
    context = _desk_context(request, _("审核统计"))
    context.update(report=review_report(), median_days=MEDIAN_DAYS)
    return TemplateResponse(request, "admin/review/report.html", context)


def review_desk_urls():
    """URLs of the clerk's home and report (under /admin/review/, admin login required)."""
    return (
        [
            path("home/", admin.site.admin_view(review_home_view), name="home"),
            path("report/", admin.site.admin_view(review_report_view), name="report"),
        ],
        "review_desk",
    )
