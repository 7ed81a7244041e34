"""Decisions on many review items at once (the admin's bulk actions), set-based.

The same rows as portal.review.review_decide writes for each item — the decision's fields on the
item, a ReviewTransition, a ``review.<decision>`` audit event, the type's on_decided effects and
its notifications with their inbox messages — but a statement per table for the whole
selection instead of one per item: 195 filings took 25 s one by one.

The selected rows are locked in one query, in primary-key order (as every bulk decision locks
them, so that two clerks never deadlock); items decided meanwhile are skipped and named with who
decided them. All or nothing per item: the type's on_decided runs for each item in a savepoint,
or its set-based on_decided_many (portal.review.register) for all of them, and an item refused
there (a ValidationError) is left as it was, with the reason, while the others are decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit import audit_event, audit_log_many
from portal.models import OPEN_REVIEW_STATES
from portal.notifications import notification_create_many
from portal.review import (
    DECISIONS,
    _decide_fields,
    _notice,
    _record_many,
    clerk_may_review,
    review_hooks,
)

# Primary keys per statement: within any database's limit of parameters.
CHUNK = 1000
DECIDED_STATES = set(DECISIONS.values())


@dataclass
class BulkDecision:
    """What a bulk decision did: the items decided, and (label, reason) of those it left."""

    decision: str
    decided: list = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # decided already
    refused: list[tuple[str, str]] = field(default_factory=list)  # a check or a permission


def item_label(item) -> str:
    return getattr(item, "reference", "") or f"#{item.pk}"


def _chunks(pks: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(pks), CHUNK):
        yield pks[start : start + CHUNK]


def _lock(model, pks: list[int], related: Iterable[str]) -> list:
    """The selected items, locked (only their own rows) in primary-key order."""
    items = []
    for chunk in _chunks(pks):
        items += list(
            model.objects.filter(pk__in=chunk)
            .select_related("decided_by", *related)
            .order_by("pk")
            .select_for_update(of=("self",))
        )
    return items


def _decided_note(item) -> str:
    who = item.decided_by
    name = (who.get_full_name() or who.get_username()) if who is not None else _("系统")
    when = timezone.localtime(item.decided_at).strftime("%m-%d %H:%M") if item.decided_at else ""
    return _("已由 %(who)s %(when)s 审核为“%(state)s”") % {
        "who": name,
        "when": when,
        "state": item.get_review_state_display(),
    }


def review_decide_many(
    *, model, pks, actor, decision: str, comment: str = "", request=None
) -> BulkDecision:
    """Approve or reject the selected items together; skip and name those decided already."""
    if decision not in DECISIONS:
        raise ValidationError(_("未知的审核操作。"), code="bad_decision")
    comment = (comment or "").strip()
    if decision == "reject" and not comment:
        raise ValidationError(
            {"comment": _("不予通过时必须填写审核意见,告诉单位需要如何修改。")},
            code="comment_required",
        )
    result = BulkDecision(decision)
    pks = sorted({int(pk) for pk in pks})
    if not pks:
        return result
    hooks = review_hooks(model)
    may_review: dict[int | None, bool] = {}  # by region: a clerk's regions are read once each
    with transaction.atomic():
        items = _lock(model, pks, hooks.select_related)
        found = {item.pk for item in items}
        result.refused += [(f"#{pk}", _("该业务不存在或已删除。")) for pk in pks if pk not in found]
        candidates, forbidden = [], []
        for item in items:
            region_id = item.review_region_id
            if region_id not in may_review:
                may_review[region_id] = clerk_may_review(actor, model, region_id)
            if not may_review[region_id]:
                forbidden.append(item)
                result.refused.append((item_label(item), _("您没有审核该业务的权限。")))
            elif item.review_state in DECIDED_STATES:
                result.skipped.append((item_label(item), _decided_note(item)))
            elif item.review_state not in OPEN_REVIEW_STATES:
                result.refused.append((item_label(item), _("该业务尚未提交审核。")))
            else:
                candidates.append(item)
        now = timezone.now()
        steps = [
            (
                item,
                decision,
                _decide_fields(item, decision=decision, actor=actor, comment=comment, now=now),
            )
            for item in candidates
        ]
        decided, notices = _apply(
            hooks, steps, actor=actor, decision=decision, comment=comment, result=result
        )
        decided_pks = sorted(item.pk for item, _action, _from in decided)
        for chunk in _chunks(decided_pks):
            model.objects.filter(pk__in=chunk).update(
                review_state=DECISIONS[decision],
                decided_at=now,
                decided_by=actor if actor is not None and actor.pk else None,
                review_comment=comment,
                is_overdue=False,
            )
        _record_many(decided, actor=actor, request=request, comment=comment)
        # As review_decide does for a refusal: the attempt stays in the audit log.
        audit_log_many(
            [
                audit_event(
                    action=f"review.{decision}",
                    actor=actor,
                    employer_id=item.review_employer_id(),
                    obj=item,
                    request=request,
                    outcome="failure",
                    details={"reason": "forbidden"},
                )
                for item in forbidden
            ]
        )
        notification_create_many(notices)
    result.decided = [item for item, _action, _from in decided]
    return result


def _apply(hooks, steps, *, actor, decision: str, comment: str, result: BulkDecision):
    """Run the type's on_decided for each step (or on_decided_many for all); return the steps
    it accepted and their notifications (notification_create kwargs)."""
    if hooks.on_decided_many is not None:
        refusals = hooks.on_decided_many(
            [item for item, _action, _from in steps],
            actor=actor,
            decision=decision,
            comment=comment,
        )
        refusals = refusals or {}
        accepted = [step for step in steps if step[0].pk not in refusals]
        for item, _action, _from in steps:
            if item.pk in refusals:
                result.refused.append((item_label(item), " ".join(refusals[item.pk].messages)))
        notices = [
            _notice(kwargs, comment)
            for item, _action, _from in accepted
            for kwargs in hooks.notifications(item, decision=decision, comment=comment)
        ]
        return accepted, notices
    accepted, notices = [], []
    for step in steps:
        item = step[0]
        try:
            with transaction.atomic():  # a savepoint: a refused item leaves nothing behind
                hooks.on_decided(item, actor=actor, decision=decision, comment=comment)
                own = [
                    _notice(kwargs, comment)
                    for kwargs in hooks.notifications(item, decision=decision, comment=comment)
                ]
        except ValidationError as exc:
            result.refused.append((item_label(item), " ".join(exc.messages)))
            continue
        accepted.append(step)
        notices += own
    return accepted, notices


def bulk_decision_messages(result: BulkDecision, *, shown: int = 20) -> list[tuple[str, str]]:
    """The admin's summary of a bulk decision: (level, text) with level success/warning/error."""

    def listed(pairs: list[tuple[str, str]]) -> str:
        text = ";".join(f"{label}({reason})" for label, reason in pairs[:shown])
        if len(pairs) > shown:
            text += _(" 等共 %d 件") % len(pairs)
        return text

    verb = _("已审核通过") if result.decision == "approve" else _("已不予通过")
    messages = []
    if result.decided or not (result.skipped or result.refused):
        messages.append(
            ("success", _("%(verb)s %(n)d 件。") % {"verb": verb, "n": len(result.decided)})
        )
    if result.skipped:
        messages.append(
            (
                "warning",
                _("%(n)d 件已由他人处理,已跳过:%(items)s")
                % {"n": len(result.skipped), "items": listed(result.skipped)},
            )
        )
    if result.refused:
        messages.append(
            (
                "error",
                _("%(n)d 件未通过校验,未作决定:%(items)s")
                % {"n": len(result.refused), "items": listed(result.refused)},
            )
        )
    return messages
