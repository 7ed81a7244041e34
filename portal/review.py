"""The one review workflow for everything a clerk decides (DESIGN.md section 8).

submitted → (pre-checks, a Celery task after commit) → pre-checked → pending review →
approved / rejected (a comment is required) → resubmitted → ... Every step is a
ReviewTransition (who, when, from, to, comment) and an audit event. Decisions take a row lock:
of two clerks deciding one item at once, the first decides, and the second is told who did.
Deciding again the same way is a no-op; deciding against an earlier decision is refused.

A reviewable model subclasses portal.models.ReviewableModel (the workflow's fields); what the
workflow does with it comes from a registry, as Django's admin site or system checks do: each app
registers its types from ``AppConfig.ready()`` by calling ``register(Model, prechecks=…,
on_decided=…, notifications=…)``, with the hooks in the feature's ``review.py`` (for example
``enrollment/add/review.py``). This module and the models import no app's service modules; a system
check (``portal.E001``) names any reviewable model that nobody registered.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, partial

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core import checks
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit import audit_event, audit_log, audit_log_many
from portal.bulk_insert import insert_many
from portal.compiled_sql import CompiledQuery
from portal.models import (
    OPEN_REVIEW_STATES,
    Notification,
    ReviewableModel,
    ReviewPolicy,
    ReviewState,
    ReviewTransition,
)
from portal.notifications import notification_create
from portal.workdays import add_working_days

logger = logging.getLogger(__name__)

CLERK_GROUP = "社保经办审核员"

DECISIONS = {"approve": ReviewState.APPROVED, "reject": ReviewState.REJECTED}


def reviewable_models() -> list[type[ReviewableModel]]:
    """Every concrete model that goes through review."""
    return [m for m in apps.get_models() if issubclass(m, ReviewableModel)]


def precheck_result(key: str, label: str, passed: bool, detail: str = "") -> dict:
    """One pre-check's result as the workflow stores it and the clerk's screen shows it."""
    return {"key": key, "label": label, "passed": bool(passed), "detail": detail}


def _no_prechecks(item) -> list[dict]:
    return []


def _nothing_on_decision(item, *, actor, decision: str, comment: str) -> None:
    return None


def _no_notifications(item, *, decision: str, comment: str) -> list[dict]:
    return []


@dataclass(frozen=True)
class ReviewHooks:
    """What the workflow calls for one reviewable type.

    ``prechecks(item)`` returns precheck_result dicts; ``on_decided(item, *, actor, decision,
    comment)`` applies a decision to the item's own data inside the decision's transaction;
    ``notifications(item, *, decision, comment)`` returns kwargs for notification_create.

    For bulk decisions (portal.review_bulk) a type may add ``on_decided_many(items, *, actor,
    decision, comment)``, the same effect as on_decided on each item in a few statements; it
    returns ``{pk: ValidationError}`` for the items it refused and left untouched. And
    ``select_related``: the relations on_decided and notifications read, loaded with the locked
    items so that a bulk decision reads them once.
    """

    prechecks: Callable[..., list[dict]] = _no_prechecks
    on_decided: Callable[..., None] = _nothing_on_decision
    notifications: Callable[..., list[dict]] = _no_notifications
    on_decided_many: Callable[..., dict] | None = None
    select_related: tuple[str, ...] = ()


_registry: dict[type[ReviewableModel], ReviewHooks] = {}


def register(
    model: type[ReviewableModel],
    *,
    prechecks: Callable[..., list[dict]] | None = None,
    on_decided: Callable[..., None] | None = None,
    notifications: Callable[..., list[dict]] | None = None,
    on_decided_many: Callable[..., dict] | None = None,
    select_related: Sequence[str] = (),
) -> None:
    """Register a reviewable type's hooks (call from the app's ``AppConfig.ready()``)."""
    if not (isinstance(model, type) and issubclass(model, ReviewableModel)):
        raise ImproperlyConfigured(f"{model!r} is not a ReviewableModel")
    if model in _registry:
        raise ImproperlyConfigured(f"{model._meta.label} is already registered for review")
    defaults = ReviewHooks()
    _registry[model] = ReviewHooks(
        prechecks=prechecks or defaults.prechecks,
        on_decided=on_decided or defaults.on_decided,
        notifications=notifications or defaults.notifications,
        on_decided_many=on_decided_many,
        select_related=tuple(select_related),
    )


def review_hooks(model) -> ReviewHooks:
    """The registered hooks of a reviewable type (or of an item's type)."""
    model = model if isinstance(model, type) else type(model)
    try:
        return _registry[model._meta.concrete_model]
    except KeyError:
        raise ImproperlyConfigured(
            f"{model._meta.label} is reviewable but no app registered it with portal.review"
        ) from None


@checks.register()
def check_reviewables_registered(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Every concrete reviewable model has registered hooks."""
    return [
        checks.Error(
            f"{model._meta.label} is a ReviewableModel that no app registered.",
            hint="Call portal.review.register() for it from its app's AppConfig.ready().",
            obj=model,
            id="portal.E001",
        )
        for model in reviewable_models()
        if model not in _registry
    ]


def review_item_type(model) -> str:
    return model._meta.label_lower


@dataclass(frozen=True)
class PolicyTerms:
    due_working_days: int
    realtime_approval: bool


@cache
def _policy_query(item_type: str) -> CompiledQuery:
    """Read on every submission and pre-check: each type's SQL compiled once per process."""
    return CompiledQuery(
        lambda region: (
            ReviewPolicy.objects.filter(item_type=item_type)
            .filter(Q(region_id=region) | Q(region__isnull=True))
            .values_list("region_id", "due_working_days", "realtime_approval")
        ),
        "region",
    )


def review_policy_for(*, model, region_id: int | None) -> PolicyTerms:
    """The region's terms for this item type, else the type's default, else the setting."""
    # No region: 0, an id no row has, leaves the type's default row alone.
    rows = _policy_query(review_item_type(model)).rows(region=region_id or 0)
    terms = {region: (days, realtime) for region, days, realtime in rows}
    found = terms.get(region_id) or terms.get(None)
    if found is None:
        return PolicyTerms(settings.REVIEW_DEFAULT_WORKING_DAYS, False)
    days, realtime = found
    return PolicyTerms(days, bool(realtime))  # SQLite's booleans come back as 0 and 1


def review_due_at(submitted_at: datetime.datetime, working_days: int) -> datetime.datetime:
    """The close of the n-th working day after submission, on the Chinese calendar."""
    due_date = add_working_days(timezone.localdate(submitted_at), working_days)
    hour, minute = (int(part) for part in settings.REVIEW_DUE_TIME.split(":"))
    naive = datetime.datetime.combine(due_date, datetime.time(hour, minute))
    return timezone.make_aware(naive, timezone.get_current_timezone())


def _transition(item, *, action: str, from_state: str, actor=None, comment: str = ""):
    return ReviewTransition(
        content_type=ContentType.objects.get_for_model(item, for_concrete_model=True),
        object_id=item.pk,
        action=action,
        from_state=from_state,
        to_state=item.review_state,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor.get_username() if actor is not None else _("系统"),
        comment=comment,
    )


def _audit_event(item, *, action: str, from_state: str, actor=None, request=None):
    return audit_event(
        action=f"review.{action}",
        actor=actor,
        employer_id=item.review_employer_id(),
        obj=item,
        request=request,
        details={"from": from_state, "to": item.review_state},
    )


def _step_rows(item, *, action: str, from_state: str, actor=None, comment="", request=None):
    """One step of an item, its transition and its audit event, built (not saved) from the
    item's state now."""
    return (
        _transition(item, action=action, from_state=from_state, actor=actor, comment=comment),
        _audit_event(item, action=action, from_state=from_state, actor=actor, request=request),
    )


def _rows_save(rows, *, audit_events: list | None = None) -> None:
    """Insert built steps' transitions and audit events, a statement for each table; with
    ``audit_events`` (a list), the audit events are appended to it for the caller to write."""
    insert_many(ReviewTransition, [transition for transition, _event in rows])
    events = [event for _transition, event in rows]
    if audit_events is None:
        audit_log_many(events)
    else:
        audit_events.extend(events)


def _record(item, *, action: str, from_state: str, actor=None, comment: str = "", request=None):
    """One step of an item: its transition and its audit event."""
    _record_many([(item, action, from_state)], actor=actor, comment=comment, request=request)


def review_history(item) -> list[ReviewTransition]:
    """The item's transitions, oldest first."""
    return list(
        ReviewTransition.objects.filter(
            content_type=ContentType.objects.get_for_model(item, for_concrete_model=True),
            object_id=item.pk,
        ).select_related("actor")
    )


def review_submit(*, item: ReviewableModel, actor=None, request=None) -> ReviewableModel:
    """Put an item (locked by the caller, inside its transaction) into the review queue.

    A rejected item comes back as resubmitted; its pre-checks run again after commit.
    """
    review_submit_many(items=[item], actor=actor, request=request)
    return item


def _submission_fields(*, now, due_at, resubmission: bool) -> dict:
    """What a submission sets on an item: state and dates, an earlier round's outcome cleared."""
    return {
        "review_state": ReviewState.RESUBMITTED if resubmission else ReviewState.SUBMITTED,
        "submitted_at": now,
        "due_at": due_at,
        "is_overdue": False,
        "reminded_at": None,
        "prechecked_at": None,
        "precheck_results": [],
        "prechecks_passed": None,
        "decided_at": None,
        "decided_by": None,
    }


def review_submit_many(
    *,
    items: Sequence[ReviewableModel],
    actor=None,
    request=None,
    precheck_task=None,
    audit_events: list | None = None,
) -> list[ReviewableModel]:
    """Put items (locked by the caller, inside its transaction) into the review queue together.

    The one definition of what a submission writes, review_submit being this with one item: the
    state and due time (one UPDATE per type, region and state), a ReviewTransition and a
    ``review.submit`` (or ``review.resubmit``) audit event per item (one INSERT each), and the
    pre-checks queued after commit: one portal.review.precheck message per item, or with
    ``precheck_task`` (a task taking a model label and a list of pks, such as
    enrollment.tasks.filings_precheck) one message per type for all of them. Items already queued
    are left alone; an approved item is refused before anything is written. Items not yet saved
    are inserted already submitted (portal.bulk_insert, one statement per type) rather than
    inserted by the caller and then updated. With ``audit_events`` (a list) the audit events are
    appended to it instead of written: the caller writes them, in this transaction, in the
    statement that writes its own (one INSERT where there would be two).
    """
    items = list(items)
    if any(item.review_state == ReviewState.APPROVED for item in items):
        raise ValidationError(_("该业务已审核通过,无需再次提交。"), code="already_approved")
    now = timezone.now()
    due_at: dict[tuple, datetime.datetime] = {}
    updates: dict[tuple, tuple[dict, list[int]]] = {}
    inserts: dict[type, list[ReviewableModel]] = {}
    steps = []
    for item in items:
        from_state = item.review_state
        new = item._state.adding
        if from_state in OPEN_REVIEW_STATES and not new:
            continue  # already queued: a double submission queues once
        model = type(item)
        terms_key = (model, item.review_region_id)
        if terms_key not in due_at:
            terms = review_policy_for(model=model, region_id=item.review_region_id)
            due_at[terms_key] = review_due_at(now, terms.due_working_days)
        resubmission = from_state == ReviewState.REJECTED
        fields = _submission_fields(now=now, due_at=due_at[terms_key], resubmission=resubmission)
        for name, value in fields.items():
            setattr(item, name, value)
        if new:
            inserts.setdefault(model, []).append(item)
        else:
            group = (model, fields["review_state"], fields["due_at"])
            updates.setdefault(group, (fields, []))[1].append(item.pk)
        steps.append((item, "resubmit" if resubmission else "submit", from_state))
    if not steps:
        return items
    for model, objs in inserts.items():
        insert_many(model, objs)
    for (model, _state, _due_at), (fields, pks) in updates.items():
        for start in range(0, len(pks), 1000):  # within any database's limit of parameters
            model._base_manager.filter(pk__in=pks[start : start + 1000]).update(**fields)
    _record_many(steps, actor=actor, request=request, audit_events=audit_events)
    pks_by_label: dict[str, list[int]] = {}
    for item, _action, _from_state in steps:
        pks_by_label.setdefault(item._meta.label, []).append(item.pk)
    for label, pks in pks_by_label.items():
        transaction.on_commit(partial(_enqueue_prechecks, label, pks, precheck_task))
    return items


def _record_many(
    steps, *, actor=None, request=None, comment: str = "", audit_events: list | None = None
) -> None:
    """The transitions and audit events of many (item, action, from state) steps, set-based."""
    _rows_save(
        [
            _step_rows(
                item,
                action=action,
                from_state=from_state,
                actor=actor,
                comment=comment,
                request=request,
            )
            for item, action, from_state in steps
        ],
        audit_events=audit_events,
    )


def _enqueue_prechecks(label: str, pks: list[int], task=None) -> None:
    # precheck_task's message for one item too: it may carry more than the pre-checks
    # (enrollment.tasks.filings_precheck_and_forms).
    if task is None:
        for pk in pks:
            _enqueue_precheck(label, pk)
        return
    try:
        task.delay(label, pks)
    except Exception:  # noqa: BLE001 — broker down: marked, the watcher re-queues each one
        logger.warning("pre-checks of %d %s not queued", len(pks), label)
        _mark_unqueued(label, pks)


def _enqueue_precheck(label: str, pk: int) -> bool:
    from portal.tasks import review_precheck_task

    try:
        review_precheck_task.delay(label, pk)
    except Exception:  # noqa: BLE001 — broker down: marked, the watcher re-queues it
        logger.warning("pre-check for %s %s not queued", label, pk)
        _mark_unqueued(label, [pk])
        return False
    return True


def _mark_unqueued(label: str, pks: list[int]) -> None:
    try:
        apps.get_model(label).objects.filter(pk__in=pks).update(precheck_unqueued=True)
    except Exception:  # noqa: BLE001 — the database too: the 10-minute sweep still finds them
        logger.warning("could not mark %d %s as unqueued", len(pks), label)


def review_requeue_prechecks(*, limit: int = 500) -> int:
    """Send again the pre-checks whose message could not be sent (beat, every 30 seconds)."""
    requeued = 0
    for model in reviewable_models():
        pks = list(
            model.objects.filter(
                precheck_unqueued=True,
                review_state__in=[ReviewState.SUBMITTED, ReviewState.RESUBMITTED],
            ).values_list("pk", flat=True)[:limit]
        )
        sent = [pk for pk in pks if _enqueue_precheck(model._meta.label, pk)]
        model.objects.filter(pk__in=sent).update(precheck_unqueued=False)
        requeued += len(sent)
    return requeued


@cache
def _locked_item_query(model) -> CompiledQuery:
    """An item locked for its pre-check, as .first() reads it; each type's SQL compiled once
    per process (inside a transaction, as a lock must be)."""
    return CompiledQuery(
        lambda pk: model.objects.select_for_update().filter(pk=pk).order_by("pk")[:1], "pk"
    )


def review_precheck(*, model_label: str, pk: int) -> str:
    """Run an item's pre-checks once; queue it for a clerk, or approve it in real-time regions."""
    model = apps.get_model(model_label)
    with transaction.atomic():
        found = _locked_item_query(model).instances(pk=pk)
        item = found[0] if found else None
        if item is None or item.review_state not in (
            ReviewState.SUBMITTED,
            ReviewState.RESUBMITTED,
        ):
            return item.review_state if item is not None else ""
        results = review_hooks(model).prechecks(item)
        terms = review_policy_for(model=model, region_id=item.review_region_id)
        from_state = item.review_state
        item.precheck_results = results
        item.prechecks_passed = all(result["passed"] for result in results)
        item.prechecked_at = timezone.now()
        item.review_state = ReviewState.PRECHECKED
        steps = [_step_rows(item, action="precheck", from_state=from_state)]
        realtime = terms.realtime_approval and item.prechecks_passed
        if not realtime:
            # Pre-checked and queued for a clerk in one UPDATE, both steps recorded in order.
            item.review_state = ReviewState.PENDING
            steps.append(_step_rows(item, action="queue", from_state=ReviewState.PRECHECKED))
        item.save(
            update_fields=["precheck_results", "prechecks_passed", "prechecked_at", "review_state"]
        )
        _rows_save(steps)
        if realtime:
            _apply_decision(
                item, decision="approve", actor=None, comment=_("预审全部通过,实时审核通过。")
            )
        return item.review_state


@dataclass(frozen=True)
class DecisionResult:
    item: ReviewableModel
    changed: bool
    message: str


def clerk_may_review(actor, model, region_id: int | None) -> bool:
    """Staff with change permission on the type, limited to their regions when they have any."""
    if actor is None or not actor.is_active or not actor.is_staff:
        return False
    opts = model._meta
    if not actor.has_perm(f"{opts.app_label}.change_{opts.model_name}"):
        return False
    if actor.is_superuser:
        return True
    region_ids = {region.pk for region in actor.regions.all()}
    return not region_ids or region_id in region_ids


def review_decide(
    *, model, pk: int, actor, decision: str, comment: str = "", request=None
) -> DecisionResult:
    """Approve or reject one item under a row lock; raise ValidationError with the reason."""
    if decision not in DECISIONS:
        raise ValidationError(_("未知的审核操作。"), code="bad_decision")
    comment = (comment or "").strip()
    if decision == "reject" and not comment:
        raise ValidationError(
            {"comment": _("不予通过时必须填写审核意见,告诉单位需要如何修改。")},
            code="comment_required",
        )
    item = model.objects.filter(pk=pk).first()
    if item is None:
        raise ValidationError(_("该业务不存在或已删除。"), code="missing")
    if not clerk_may_review(actor, model, item.review_region_id):
        # Recorded outside the decision's transaction, so the refusal stays in the audit log.
        audit_log(
            action=f"review.{decision}",
            actor=actor,
            employer_id=item.review_employer_id(),
            obj=item,
            request=request,
            outcome="failure",
            details={"reason": "forbidden"},
        )
        raise ValidationError(_("您没有审核该业务的权限。"), code="forbidden")
    with transaction.atomic():
        item = model.objects.select_for_update().get(pk=pk)
        target = DECISIONS[decision]
        if item.review_state == target:
            return DecisionResult(
                item,
                False,
                _("该业务已是“%s”状态,无需重复操作。") % item.get_review_state_display(),
            )
        if item.review_state not in OPEN_REVIEW_STATES:
            who = item.decided_by.get_username() if item.decided_by else _("系统")
            when = (
                timezone.localtime(item.decided_at).strftime("%Y-%m-%d %H:%M")
                if item.decided_at
                else ""
            )
            raise ValidationError(
                _("该业务已由 %(who)s 于 %(when)s 审核为“%(state)s”,不能再作相反的决定。")
                % {"who": who, "when": when, "state": item.get_review_state_display()},
                code="already_decided",
            )
        _apply_decision(item, decision=decision, actor=actor, comment=comment, request=request)
    return DecisionResult(item, True, _("已审核:%s") % item.get_review_state_display())


# What a decision writes on the item; portal.review_bulk writes the same for many at once.
DECIDED_FIELDS = ["review_state", "decided_at", "decided_by", "review_comment", "is_overdue"]


def _decide_fields(item, *, decision: str, actor, comment: str, now) -> str:
    """Set the decision's fields on the item (not saved); return the state it came from."""
    from_state = item.review_state
    item.review_state = DECISIONS[decision]
    item.decided_at = now
    item.decided_by = actor if actor is not None and actor.pk else None
    item.review_comment = comment
    item.is_overdue = False
    return from_state


def _notice(kwargs: dict, comment: str) -> dict:
    """A notifications hook's kwargs, the clerk's comment in the inbox's full text (not the SMS)."""
    return {**kwargs, "context": {"comment": comment, **(kwargs.get("context") or {})}}


def _apply_decision(item, *, decision: str, actor, comment: str, request=None) -> None:
    from_state = _decide_fields(
        item, decision=decision, actor=actor, comment=comment, now=timezone.now()
    )
    item.save(update_fields=DECIDED_FIELDS)
    _record(
        item, action=decision, from_state=from_state, actor=actor, comment=comment, request=request
    )
    hooks = review_hooks(item)
    hooks.on_decided(item, actor=actor, decision=decision, comment=comment)
    for kwargs in hooks.notifications(item, decision=decision, comment=comment):
        notification_create(**_notice(kwargs, comment))


def review_watch_deadlines(*, now: datetime.datetime | None = None) -> dict:
    """Mark overdue items; remind the region's clerks once before each deadline."""
    now = now or timezone.now()
    lead = datetime.timedelta(hours=settings.REVIEW_REMINDER_LEAD_HOURS)
    summary = {"overdue": 0, "reminded": 0, "requeued": 0}
    for model in reviewable_models():
        open_items = model.objects.filter(review_state__in=OPEN_REVIEW_STATES)
        summary["overdue"] += open_items.filter(due_at__lt=now, is_overdue=False).update(
            is_overdue=True
        )
        # Pre-checks whose task never ran (broker down at submission) are queued again.
        stale = now - datetime.timedelta(minutes=10)
        for pk in open_items.filter(
            review_state__in=[ReviewState.SUBMITTED, ReviewState.RESUBMITTED],
            submitted_at__lt=stale,
        ).values_list("pk", flat=True)[:500]:
            _enqueue_precheck(model._meta.label, pk)
            summary["requeued"] += 1
        summary["reminded"] += _remind(model, open_items, now, lead)
    return summary


def _remind(model, open_items, now, lead) -> int:
    due_soon = open_items.filter(reminded_at__isnull=True, due_at__gte=now, due_at__lte=now + lead)
    by_region: dict[int | None, list[int]] = {}
    for pk, region_id in due_soon.values_list("pk", "review_region_id"):
        by_region.setdefault(region_id, []).append(pk)
    reminded = 0
    for region_id, pks in by_region.items():
        with transaction.atomic():
            # The guarded UPDATE makes a reminder go out once even when two beats overlap.
            claimed = model.objects.filter(pk__in=pks, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if not claimed:
                continue
            reminded += claimed
            for clerk in _region_clerks(region_id):
                notification_create(
                    channel=Notification.Channel.EMAIL,
                    recipient=clerk.email,
                    template="review_reminder",
                    context={
                        "count": claimed,
                        "type": model._meta.verbose_name,
                        "hours": int(lead.total_seconds() // 3600),
                    },
                )
    return reminded


def _region_clerks(region_id: int | None):
    users = (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, groups__name=CLERK_GROUP)
        .exclude(email="")
    )
    if region_id is not None:
        users = users.filter(Q(regions__isnull=True) | Q(regions=region_id))
    return users.distinct()


# What the clerk group may do besides reviewing (``manage.py setup_roles``); labels, so that this
# module imports no app. Clerks read units and agents, unlock agents, answer the message board.
CLERK_EXTRA_PERMISSIONS = (
    "employers.view_question",
    "employers.change_question",
    "employers.view_openedaccount",
    "employers.change_openedaccount",
    "employers.view_employer",
    "employers.view_agent",
    "employers.change_agent",
    "portal.view_reviewtransition",
    "portal.view_notification",
    "portal.view_auditevent",
    # The yearly contribution policy (bounds, rates, rounding) is kept up to date by clerks.
    *(
        f"contributions.{verb}_{model}"
        for model in ("policyperiod", "policyrate", "roundingrule")
        for verb in ("view", "add", "change")
    ),
    # Monthly bills are read-only in the admin; the change permission stands for 重新核定.
    "contributions.view_monthlybill",
    "contributions.change_monthlybill",
    "contributions.view_billline",
    # A unit's 工伤 risk class and floating factor; a region's declaration and billing settings.
    "contributions.view_contributionaccount",
    "contributions.change_contributionaccount",
    "contributions.view_regioncontributionsettings",
    "contributions.add_regioncontributionsettings",
    "contributions.change_regioncontributionsettings",
    # Issued 参保缴费证明, read-only (personal data masked as on the public check page).
    "contributions.view_contributionproof",
    # A region's benefit settings (divisor, extra maternity days) and average wages by year.
    *(
        f"contributions.{verb}_{model}"
        for model in ("regionbenefitsettings", "regionalaveragewage")
        for verb in ("view", "add", "change")
    ),
)


def clerk_group_setup():
    """Create or update the clerk group: review every reviewable type, plus the extras above."""
    from django.contrib.auth.models import Group, Permission

    group, _created = Group.objects.get_or_create(name=CLERK_GROUP)
    wanted = []
    for model in reviewable_models():
        opts = model._meta
        wanted += [
            f"{opts.app_label}.view_{opts.model_name}",
            f"{opts.app_label}.change_{opts.model_name}",
        ]
    wanted += CLERK_EXTRA_PERMISSIONS
    permissions = []
    for label in wanted:
        app_label, codename = label.split(".")
        permission = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if permission is not None:
            permissions.append(permission)
    group.permissions.set(permissions)
    return group, [p.codename for p in permissions]
