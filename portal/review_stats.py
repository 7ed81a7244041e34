"""Counts and times of the review queue: the clerk's home and the review report.

The report is one function, ``review_report``, read by the admin page and by ``manage.py
review_report`` alike, so that both give the same numbers. Every reviewable type comes from the
registry (portal.review.reviewable_models); this module imports no app.
"""

from __future__ import annotations

import datetime
import statistics
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import OPEN_REVIEW_STATES, ReviewState
from portal.review import reviewable_models

# The median time to a decision is taken over at most this many of a type's latest decisions.
MEDIAN_SAMPLE = 20_000
MEDIAN_DAYS = 30


def _start_of_day(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())


def open_q() -> Q:
    """Items waiting for a decision (submitted, pre-checked, pending or resubmitted)."""
    return Q(review_state__in=OPEN_REVIEW_STATES)


def due_today_q(now: datetime.datetime) -> Q:
    """Open items whose time limit ends later today: still in time, but not after today."""
    tomorrow = _start_of_day(timezone.localdate(now) + datetime.timedelta(days=1))
    return open_q() & Q(due_at__gte=now, due_at__lt=tomorrow)


def overdue_q(now: datetime.datetime) -> Q:
    """Open items past their time limit (the beat marks them is_overdue a few minutes later)."""
    return open_q() & Q(due_at__lt=now)


def due_within_q(now: datetime.datetime, days: int) -> Q:
    """Open items due before the end of the ``days``-th day from today, overdue ones included."""
    return open_q() & Q(
        due_at__lt=_start_of_day(timezone.localdate(now) + datetime.timedelta(days))
    )


def clerk_region_ids(user) -> list[int] | None:
    """The regions a clerk is limited to; None when the clerk sees every region."""
    if user.is_superuser:
        return None
    return list(user.regions.values_list("pk", flat=True)) or None


def review_types_for(user) -> list:
    """The reviewable types the user may look at in the admin (in INSTALLED_APPS order)."""
    return [
        model
        for model in reviewable_models()
        if user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")
        or user.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}")
    ]


@dataclass(frozen=True)
class QueueCounts:
    model: type
    waiting: int
    due_today: int
    overdue: int

    @property
    def label(self) -> str:
        return str(self.model._meta.verbose_name)


def review_queue_counts(user, *, now: datetime.datetime | None = None) -> list[QueueCounts]:
    """Waiting, due-today and overdue counts of each type the user may see: one query a type."""
    now = now or timezone.now()
    region_ids = clerk_region_ids(user)
    counts = []
    for model in review_types_for(user):
        items = model.objects.filter(open_q())
        if region_ids is not None:
            items = items.filter(review_region_id__in=region_ids)
        row = items.aggregate(
            waiting=Count("pk"),
            due_today=Count("pk", filter=due_today_q(now)),
            overdue=Count("pk", filter=overdue_q(now)),
        )
        counts.append(QueueCounts(model, row["waiting"], row["due_today"], row["overdue"]))
    return counts


@dataclass
class ReportRow:
    type: str
    region: str
    state: str
    total: int
    overdue: int


@dataclass
class MedianRow:
    type: str
    region: str
    decided: int
    median_hours: float | None
    sampled: bool = False


@dataclass
class ReviewReport:
    rows: list[ReportRow] = field(default_factory=list)
    medians: list[MedianRow] = field(default_factory=list)
    since: datetime.datetime | None = None

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)

    @property
    def overdue(self) -> int:
        return sum(row.overdue for row in self.rows)


def review_report(*, now: datetime.datetime | None = None) -> ReviewReport:
    """Items by type, region and state with the overdue ones; the median hours from submission
    to decision over the last 30 days, by type and region (``manage.py review_report`` and the
    admin's report page)."""
    now = now or timezone.now()
    since = now - datetime.timedelta(days=MEDIAN_DAYS)
    report = ReviewReport(since=since)
    for model in reviewable_models():
        label = str(model._meta.verbose_name)
        grouped = (
            model.objects.exclude(review_state="")
            .values("review_region__name", "review_state")
            .annotate(total=Count("pk"), overdue=Count("pk", filter=Q(is_overdue=True)))
            .order_by("review_region__name", "review_state")
        )
        for row in grouped:
            report.rows.append(
                ReportRow(
                    type=label,
                    region=row["review_region__name"] or "-",
                    state=str(ReviewState(row["review_state"]).label),
                    total=row["total"],
                    overdue=row["overdue"],
                )
            )
        report.medians += _medians(model, label, since)
    return report


def _medians(model, label: str, since: datetime.datetime) -> list[MedianRow]:
    # A median needs every value: read the latest decisions (bounded) and take it here, the same
    # on PostgreSQL and SQLite (which has no percentile function).
    decided = list(
        model.objects.filter(decided_at__gte=since, submitted_at__isnull=False)
        .order_by("-decided_at")
        .values_list("review_region__name", "submitted_at", "decided_at")[:MEDIAN_SAMPLE]
    )
    sampled = len(decided) == MEDIAN_SAMPLE
    hours_by_region: dict[str, list[float]] = {}
    for region, submitted_at, decided_at in decided:
        hours = max((decided_at - submitted_at).total_seconds(), 0) / 3600
        hours_by_region.setdefault(region or "-", []).append(hours)
    rows = [
        MedianRow(label, region, len(hours), statistics.median(hours), sampled)
        for region, hours in sorted(hours_by_region.items())
    ]
    if len(rows) > 1:
        every = [hours for values in hours_by_region.values() for hours in values]
        rows.append(
            MedianRow(label, _("全部统筹区"), len(every), statistics.median(every), sampled)
        )
    return rows
