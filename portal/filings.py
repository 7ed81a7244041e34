"""已办业务查询: every filing of a unit in one list (DESIGN.md section 14).

Each app registers the kinds of filing it owns (``register`` from its ``AppConfig.ready()``),
as the review hooks are registered: the base never imports the apps. A kind says how to find a
unit's rows and which of its columns play the shared parts (reference, submitted, due, state,
the clerk's comment). The list is one UNION query of the kinds an agent asked for, ordered and
paged in the database, so it costs two queries (the page and its count) whatever the number of
kinds or rows; each part is driven by an index that leads with the unit.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import Page, Paginator
from django.db import models
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Coalesce
from django.db.models.sql import Query
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.compiled_sql import CompiledQuery
from portal.models import OPEN_REVIEW_STATES, ReviewState

PER_PAGE = 20


class Outcome(models.TextChoices):
    """What every kind's own states come down to, for the filter and the badge."""

    DRAFT = "draft", _("待完成")
    OPEN = "open", _("办理中")
    DONE = "done", _("已办结")
    REFUSED = "refused", _("未通过")


REVIEW_OUTCOMES = {
    Outcome.OPEN: [state.value for state in OPEN_REVIEW_STATES],
    Outcome.DONE: [ReviewState.APPROVED.value],
    Outcome.REFUSED: [ReviewState.REJECTED.value],
}


@dataclass(frozen=True)
class FilingKind:
    """How one kind of filing shows in the unit's list."""

    key: str
    label: str
    model: type[models.Model]
    unit_field: str = "employer_id"
    reference_field: str = "reference"
    # The shared columns; ``submitted`` falls back to the creation time of a draft.
    submitted_field: str = "submitted_at"
    created_field: str = "created_at"
    due_field: str | None = "due_at"
    state_field: str = "review_state"
    comment_field: str | None = "review_comment"
    states: dict[str, str] = field(default_factory=lambda: dict(ReviewState.choices))
    outcomes: dict[str, list[str]] = field(default_factory=lambda: dict(REVIEW_OUTCOMES))
    # The agent's page of one filing: a URL name reversed with the value of ``url_field``, and
    # the permission needed to open it (no link is shown without it).
    url_name: str = ""
    url_field: str = "reference"
    permission: str = ""
    # Rows of the unit that are not filings yet (e.g. never submitted), left out of the list.
    exclude: Callable[[models.QuerySet], models.QuerySet] | None = None
    # Kinds that split one model's rows between them by ``exclude`` and nothing else (增员 and
    # 续保: whether the enrolment resumed an earlier one) name the same group: the counts by
    # outcome, which add the kinds up, read the model once without the split (no join per row).
    counts_group: str = ""

    def outcome_of(self, state: str) -> str:
        for outcome, states in self.outcomes.items():
            if state in states:
                return outcome
        return Outcome.DRAFT


_kinds: dict[str, FilingKind] = {}


def register(kind: FilingKind) -> None:
    """Add a kind of filing to the unit's list (call from the app's ``AppConfig.ready()``)."""
    if kind.key in _kinds:
        raise ImproperlyConfigured(f"filing kind {kind.key!r} is already registered")
    for other in _kinds.values():
        if kind.counts_group and other.counts_group == kind.counts_group:
            same = ("model", "unit_field", "state_field", "outcomes")
            if any(getattr(kind, name) != getattr(other, name) for name in same):
                raise ImproperlyConfigured(
                    f"filing kinds {other.key!r} and {kind.key!r} cannot be counted together"
                )
    _kinds[kind.key] = kind


def filing_kinds() -> list[FilingKind]:
    return list(_kinds.values())


@dataclass
class FilingRow:
    kind: FilingKind
    reference: str
    submitted: datetime.datetime | None
    due: datetime.datetime | None
    state: str
    comment: str
    url: str

    @property
    def state_label(self) -> str:
        return self.kind.states.get(self.state, self.state or _("未提交"))

    @property
    def outcome(self) -> str:
        return self.kind.outcome_of(self.state)


def _part(kind: FilingKind, employer_id: int, *, outcome: str, month: datetime.date | None):
    queryset = kind.model._default_manager.filter(**{kind.unit_field: employer_id})
    if kind.exclude is not None:
        queryset = kind.exclude(queryset)
    if outcome:
        states = kind.outcomes.get(outcome)
        if outcome == Outcome.DRAFT:
            known = [state for states in kind.outcomes.values() for state in states]
            queryset = queryset.exclude(**{f"{kind.state_field}__in": known})
        elif not states:
            return None
        else:
            queryset = queryset.filter(**{f"{kind.state_field}__in": states})
    text = CharField()
    queryset = queryset.annotate(
        f_kind=Value(kind.key, output_field=text),
        f_reference=Cast(F(kind.reference_field), text),
        f_submitted=Coalesce(F(kind.submitted_field), F(kind.created_field)),
        f_due=F(kind.due_field) if kind.due_field else Value(None, models.DateTimeField()),
        f_state=Cast(F(kind.state_field), text),
        f_comment=Cast(F(kind.comment_field), text) if kind.comment_field else Value("", text),
        f_arg=Cast(F(kind.url_field), text),
    )
    if month is not None:
        zone = timezone.get_current_timezone()
        start = datetime.datetime.combine(month, datetime.time.min, tzinfo=zone)
        end_month = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        end = datetime.datetime.combine(end_month, datetime.time.min, tzinfo=zone)
        queryset = queryset.filter(f_submitted__gte=start, f_submitted__lt=end)
    return queryset.order_by().values(
        "f_kind", "f_reference", "f_submitted", "f_due", "f_state", "f_comment", "f_arg"
    )


def filings_page(
    *,
    employer_id: int,
    allowed: Callable[[str], bool],
    kinds: Iterable[str] = (),
    outcome: str = "",
    month: datetime.date | None = None,
    page_number=1,
) -> Page:
    """One page of the unit's filings, newest first: two queries whatever the kinds and rows.

    ``allowed(permission)`` tells whether the agent may open a kind's page; rows of other kinds
    are listed without a link.
    """
    chosen = [kind for kind in filing_kinds() if not kinds or kind.key in set(kinds)]
    parts = [
        part
        for kind in chosen
        if (part := _part(kind, employer_id, outcome=outcome, month=month)) is not None
    ]
    if not parts:
        return Paginator([], PER_PAGE).page(1)
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    union = union.order_by("-f_submitted", "-f_reference")
    page = Paginator(union, PER_PAGE).get_page(page_number)
    page.object_list = [_row(values, allowed) for values in page.object_list]
    return page


def _row(values: dict, allowed: Callable[[str], bool]) -> FilingRow:
    kind = _kinds[values["f_kind"]]
    url = ""
    if kind.url_name and allowed(kind.permission):
        url = reverse(kind.url_name, args=[values["f_arg"]])
    return FilingRow(
        kind=kind,
        reference=values["f_reference"],
        submitted=values["f_submitted"],
        due=values["f_due"],
        state=values["f_state"] or "",
        comment=values["f_comment"] or "",
        url=url,
    )


_counts_queries: dict[tuple, CompiledQuery | None] = {}


def _filings_counts_union(*, employer_id: int, outcomes: list[str], short_aliases: bool = False):
    parts, groups = [], set()
    for kind in filing_kinds():
        states = [state for outcome in outcomes for state in kind.outcomes.get(outcome, [])]
        if not states or kind.counts_group in groups:
            continue
        queryset = kind.model._default_manager.filter(
            **{kind.unit_field: employer_id, f"{kind.state_field}__in": states}
        )
        if kind.counts_group:
            # The group's rows all counted under its first kind (the same outcomes).
            groups.add(kind.counts_group)
        elif kind.exclude is not None:
            queryset = kind.exclude(queryset)
        part = (
            queryset.order_by()
            .annotate(
                f_kind=Value(kind.key, output_field=CharField()),
                f_state=Cast(F(kind.state_field), CharField()),
            )
            .values("f_kind", "f_state")
            .annotate(n=models.Count("pk"))
        )
        if short_aliases:
            # Its tables named U0, U1... as in a subquery, for a shorter SQL.
            part.query.bump_prefix(Query(None))
        parts.append(part)
    if not parts:
        return None
    return parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]


class _CountsQuery(CompiledQuery):
    # Its kinds' keys and states written in the SQL, the unit's id its only parameters (one a
    # kind), and its tables' aliases short: within the size psycopg converts once per process
    # (4,096 characters, 50 parameters) instead of on every run.
    inline_constants = True


def _filings_counts_query(outcomes: list[str]) -> CompiledQuery | None:
    """The counts' query for a set of outcomes and the registered kinds, compiled once per
    process (its SQL holds constants only; the unit's id is its one parameter of the request)."""
    key = (tuple(outcomes), tuple(kind.key for kind in filing_kinds()))
    if key not in _counts_queries:
        if _filings_counts_union(employer_id=0, outcomes=outcomes) is None:
            _counts_queries[key] = None
        else:
            _counts_queries[key] = _CountsQuery(
                lambda unit: _filings_counts_union(
                    employer_id=unit, outcomes=outcomes, short_aliases=True
                ),
                "unit",
            )
    return _counts_queries[key]


def filings_counts(*, employer_id: int, outcomes: Iterable[str]) -> dict[str, int]:
    """How many of the unit's filings have each outcome (the dashboard's attention list).

    One query: a UNION of per-kind grouped counts, summed here; its SQL compiled once per process.
    """
    outcomes = list(outcomes)
    counts = dict.fromkeys(outcomes, 0)
    query = _filings_counts_query(outcomes)
    if query is None:
        return counts
    for kind_key, state, n in query.rows(unit=employer_id):
        outcome = _kinds[kind_key].outcome_of(state)
        if outcome in counts:
            counts[outcome] += n
    return counts
