"""What the clerk's page of one reviewable item shows, in words a clerk reads (issue 15).

Stored values are codes and JSON (transition actions, states, pre-check dicts, verification
evidence); these helpers turn them into Chinese labels and plain values for
templates/admin/review/change_form.html. Nothing here writes.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.models import ReviewState
from portal.review import review_history

# ReviewTransition.action as the history names it.
ACTION_LABELS = {
    "submit": _("提交"),
    "resubmit": _("重新提交"),
    "precheck": _("预审"),
    "queue": _("转人工审核"),
    "approve": _("审核通过"),
    "reject": _("不予通过"),
}
SYSTEM = _("系统")
# A submission without a logged-in actor (the registration wizard) is still the unit's own.
SUBMISSIONS = {"submit", "resubmit"}
APPLICANT = _("申请单位")
OTHER_EVIDENCE = _("其他凭据")
YES, NO, NONE = _("是"), _("否"), "—"


@dataclass(frozen=True)
class HistoryStep:
    when: datetime.datetime
    action: str
    from_state: str
    to_state: str
    actor: str
    comment: str


@dataclass(frozen=True)
class Check:
    passed: bool
    label: str
    explanation: str


@dataclass(frozen=True)
class ReviewFile:
    """An attachment or generated form shown inline: ``kind`` is "image", "pdf" or "other"."""

    label: str
    name: str
    url: str
    kind: str

    @property
    def download_url(self) -> str:
        return f"{self.url}?download=1"


def state_label(value: str) -> str:
    """A ReviewState value by its label; "—" for none."""
    if not value:
        return NONE
    try:
        return str(ReviewState(value).label)
    except ValueError:
        return str(_("其他状态"))


def actor_name(user) -> str:
    """An agent by name, a clerk by full name (else login name), nobody as the system."""
    if user is None:
        return str(SYSTEM)
    try:
        agent = user.agent
    except ObjectDoesNotExist:
        agent = None
    if agent is not None:
        return str(_("%(name)s(单位经办人)") % {"name": agent.name})
    # Chinese names: family name first, no space.
    return f"{user.last_name}{user.first_name}".strip() or user.get_username()


def history_steps(item) -> list[HistoryStep]:
    """The item's review history, oldest first, with actions, states and people in words.

    Steps without an actor are the system's (pre-checks, real-time approval), except
    submissions, which are the applying unit's.
    """
    transitions = review_history(item)
    prefetch_related_objects([t for t in transitions if t.actor_id], "actor__agent")
    return [
        HistoryStep(
            when=step.created_at,
            action=str(ACTION_LABELS.get(step.action, _("处理"))),
            from_state=state_label(step.from_state),
            to_state=state_label(step.to_state),
            actor=transition_actor(step),
            comment=step.comment,
        )
        for step in transitions
    ]


def transition_actor(step) -> str:
    """Who made a ReviewTransition, in words (see history_steps)."""
    if step.actor_id is None and step.action in SUBMISSIONS:
        return str(APPLICANT)
    return actor_name(step.actor if step.actor_id else None)


def checklist(results: Iterable[Mapping] | None) -> list[Check]:
    """Pre-check results (portal.review.precheck_result) as ✓/✗ rows with a plain reason."""
    rows = []
    for result in results or []:
        if not isinstance(result, Mapping):
            continue
        passed = bool(result.get("passed"))
        # A fixed reason is its own msgid; one with figures stays as it was written (Chinese).
        explanation = gettext(plain(result.get("detail")))
        if not passed and explanation == NONE:
            explanation = str(_("未通过,请人工核对相关材料。"))
        rows.append(
            Check(
                passed=passed,
                # Stored in Chinese when checked: the label is its own msgid.
                label=gettext(plain(result.get("label")))
                if result.get("label")
                else str(_("预审项目")),
                explanation="" if passed and explanation == NONE else explanation,
            )
        )
    return rows


def local_time(value: datetime.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return timezone.localtime(value).strftime(fmt) if value else NONE


def plain(value) -> str:
    """A stored value as text: dates and times local, yes/no, lists joined, no JSON braces."""
    if value is None or value == "":
        return NONE
    if isinstance(value, bool):
        return str(YES if value else NO)
    if isinstance(value, datetime.datetime):
        return local_time(value if timezone.is_aware(value) else timezone.make_aware(value))
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, Mapping):
        # Sorted by key: PostgreSQL's jsonb does not keep the order the keys were written in.
        parts = (plain(v) for _k, v in sorted(value.items()) if v not in (None, ""))
        return ";".join(parts) or NONE
    if isinstance(value, list | tuple):
        return _("、").join(plain(v) for v in value) or NONE
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return plain(datetime.datetime.fromisoformat(value))
        except ValueError:
            pass
    return str(value)


def evidence_rows(
    evidence: Mapping | None,
    labels: Mapping[str, str],
    *,
    values: Mapping[str, Mapping[str, str] | Callable[..., str]] | None = None,
    skip: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """Labelled rows of a JSON record: known keys in ``labels`` order, others under one label.

    ``values`` maps a key to a dict of its coded values in words (for example a CRL status) or
    to a function formatting the value; ``skip`` names keys shown elsewhere on the page.
    """
    evidence = evidence if isinstance(evidence, Mapping) else {}
    values = values or {}
    skip = set(skip)
    rows = []
    for key, label in labels.items():
        if key in evidence and key not in skip:
            rows.append((label, _word(evidence[key], values.get(key))))
    for key, value in evidence.items():
        if key not in labels and key not in skip:
            rows.append((OTHER_EVIDENCE, plain(value)))
    return rows


def _word(value, words) -> str:
    if callable(words):
        return words(value)
    if words and isinstance(value, str) and value in words:
        return str(words[value])
    return plain(value)
