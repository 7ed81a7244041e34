"""Reads of 缴费基数申报, always scoped to the asking agent's unit."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from contributions.models import (
    BaseDeclaration,
    BaseDeclarationLine,
    ContributionBase,
    PolicyPeriod,
    RegionContributionSettings,
)
from enrollment.models import Enrolment
from portal.models import OPEN_REVIEW_STATES, ReviewState

# Units of up to this many active employees declare on screen, one input each (a post stays
# under Django's DATA_UPLOAD_MAX_NUMBER_FIELDS of 1,000); larger ones declare by Excel.
SCREEN_LIMIT = 500


def declaration_periods(region) -> list[PolicyPeriod]:
    """The region's published periods, newest first (what a declaration may be for)."""
    return list(
        PolicyPeriod.objects.filter(region=region, is_published=True).order_by("-starts_on")
    )


def default_period(periods: Sequence[PolicyPeriod], today: datetime.date | None = None):
    """The next period when it is published already (declaring ahead), else the current one,
    else the newest."""
    today = today or timezone.localdate()
    upcoming = [p for p in periods if p.starts_on > today]
    if upcoming:
        return min(upcoming, key=lambda p: p.starts_on)
    current = [p for p in periods if p.starts_on <= today <= p.ends_on]
    if current:
        return current[0]
    return periods[0] if periods else None


DECLARATION_SEASON = datetime.timedelta(days=92)


def declaration_season_start(today: datetime.date) -> datetime.date:
    """The first day a period may start on and still be due for declaring on ``today``."""
    return today - DECLARATION_SEASON


def declaration_due_list(
    *, employer_id: int, region_id: int, season_start: datetime.date
) -> QuerySet[PolicyPeriod]:
    """The periods the unit should declare now and has not, earliest first.

    That is a published period of the unit's region still to come, or one that began within
    DECLARATION_SEASON (the yearly declaration season; ``season_start`` is
    ``declaration_season_start(today)``); a declaration under review or approved counts as
    declared, a rejected one does not.
    """
    declared = BaseDeclaration.objects.filter(
        employer_id=employer_id,
        period_id=OuterRef("pk"),
        review_state__in=[*OPEN_REVIEW_STATES, ReviewState.APPROVED],
    )
    return (
        PolicyPeriod.objects.filter(
            region_id=region_id, is_published=True, starts_on__gte=season_start
        )
        .exclude(Exists(declared))
        .order_by("starts_on")
    )


def period_get_for_agent(*, agent, period_id) -> PolicyPeriod:
    """A published period of the agent's region; 404 otherwise."""
    try:
        period_id = int(period_id)
    except (TypeError, ValueError):
        period_id = 0
    return get_object_or_404(
        PolicyPeriod.objects.select_related("region"),
        pk=period_id,
        region_id=agent.employer.region_id,
        is_published=True,
    )


def previous_period(period: PolicyPeriod) -> PolicyPeriod | None:
    return (
        PolicyPeriod.objects.filter(region_id=period.region_id, starts_on__lt=period.starts_on)
        .order_by("-starts_on")
        .first()
    )


def active_enrolments(employer_id: int) -> QuerySet[Enrolment]:
    """The unit's enrolments a declaration covers: 正常 (active) ones."""
    return Enrolment.objects.filter(employer_id=employer_id, status=Enrolment.Status.ACTIVE)


def active_enrolment_count(*, agent) -> int:
    return active_enrolments(agent.employer_id).count()


@dataclass(frozen=True)
class DeclarationMode:
    employee_count: int
    screen_limit: int

    @property
    def on_screen(self) -> bool:
        """Whether the unit may declare in the on-screen table (else only by Excel)."""
        return self.employee_count <= self.screen_limit


def declaration_mode_for(*, agent) -> DeclarationMode:
    """How the agent's unit declares: on screen up to SCREEN_LIMIT active employees, else by
    the Excel template (one query)."""
    return DeclarationMode(active_enrolment_count(agent=agent), SCREEN_LIMIT)


@dataclass
class DeclarationRow:
    enrolment: Enrolment
    previous_base: Decimal
    current: Decimal  # the value the input starts with

    @property
    def person(self):
        return self.enrolment.person


def declaration_rows(*, agent, period: PolicyPeriod) -> list[DeclarationRow]:
    """Each active employee with the previous period's base (else the enrolment's wage) and
    what this period already has (else the previous base): three queries in all."""
    enrolments = list(
        active_enrolments(agent.employer_id)
        .select_related("person")
        .only(
            "pk",
            "contribution_base",
            "person__name",
            "person__document_type",
            "person__document_number",
            "person__document_index",
        )
        .order_by("pk")
    )
    before = previous_period(period)
    previous = {}
    if before is not None:
        previous = dict(
            ContributionBase.objects.filter(
                period=before, enrolment__in=active_enrolments(agent.employer_id)
            ).values_list("enrolment_id", "base")
        )
    current = dict(
        ContributionBase.objects.filter(
            period=period, enrolment__in=active_enrolments(agent.employer_id)
        ).values_list("enrolment_id", "base")
    )
    rows = []
    for enrolment in enrolments:
        prev = previous.get(enrolment.pk, enrolment.contribution_base)
        rows.append(DeclarationRow(enrolment, prev, current.get(enrolment.pk, prev)))
    return rows


def open_declaration(*, employer_id: int, period_id: int) -> BaseDeclaration | None:
    return (
        BaseDeclaration.objects.filter(
            employer_id=employer_id, period_id=period_id, review_state__in=OPEN_REVIEW_STATES
        )
        .order_by("-created_at")
        .first()
    )


def latest_declaration(*, agent, period: PolicyPeriod) -> BaseDeclaration | None:
    return (
        BaseDeclaration.objects.filter(employer_id=agent.employer_id, period=period)
        .order_by("-created_at", "-pk")
        .first()
    )


def rejected_declaration(*, agent, period: PolicyPeriod) -> BaseDeclaration | None:
    """The unit's latest declaration for the period when it was rejected (to be corrected)."""
    latest = latest_declaration(agent=agent, period=period)
    return latest if latest and latest.review_state == ReviewState.REJECTED else None


def declaration_list_for_agent(*, agent) -> QuerySet[BaseDeclaration]:
    """The unit's declarations, newest first, with their period and line count (one query)."""
    return (
        BaseDeclaration.objects.filter(employer_id=agent.employer_id)
        .select_related("period", "submitted_by")
        .annotate(line_count=Count("lines"))
        .order_by("-created_at", "-pk")
    )


def declaration_get_for_agent(*, agent, reference: str) -> BaseDeclaration:
    """One declaration of the agent's unit; 404 whether it is missing or another unit's."""
    return get_object_or_404(
        BaseDeclaration.objects.select_related("period__region", "submitted_by"),
        reference=reference,
        employer_id=agent.employer_id,
    )


def declaration_lines(declaration: BaseDeclaration) -> QuerySet[BaseDeclarationLine]:
    return (
        BaseDeclarationLine.objects.filter(declaration=declaration)
        .select_related("enrolment__person")
        .order_by("pk")
    )


def declaration_state_label(declaration: BaseDeclaration) -> str:
    if declaration.applied_at:
        return _("已生效")
    if declaration.review_state:
        return str(ReviewState(declaration.review_state).label)
    return _("未提交")


def region_requires_review(region) -> bool:
    settings_row = RegionContributionSettings.objects.filter(region=region).first()
    return True if settings_row is None else settings_row.declaration_requires_review
