"""减员: the remove-employee filing and its rules (DESIGN.md section 9).

An agent files the removal of an active employee of the unit; a clerk reviews it like an
addition, and approval ends the enrolment. The last contribution month may lie at most one
month before the month in which the filing is accepted: an earlier end needs the service hall,
which can correct contributions already billed.
"""

from __future__ import annotations

import datetime
import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enrollment.models import Enrolment, RemovalReason, RemoveEmployeeFiling
from enrollment.roster.selectors import roster_for_agent, roster_rows
from enrollment.rules import add_months, first_of_month
from portal.audit import audit_log
from portal.models import OPEN_REVIEW_STATES
from portal.review import review_submit

NOT_ACTIVE = gettext_lazy("该人员当前参保状态不是“正常”,不能办理减员。")
ALREADY_FILED = gettext_lazy(
    "该人员已有正在审核的减员申请(业务编号 %(reference)s),请等待审核结果。"
)


def removal_reference() -> str:
    return f"JY{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


def removal_month_check(
    *,
    last_contribution_month: datetime.date,
    accepted_on: datetime.date,
    start_month: datetime.date,
) -> datetime.date:
    """Return the month (first day); refuse one after the accepting month or over a month before."""
    month = first_of_month(last_contribution_month)
    current = first_of_month(accepted_on)
    earliest = add_months(current, -1)
    if month > current:
        raise ValidationError(
            {
                "last_contribution_month": _("末次缴费年月不能晚于当月(%s)。")
                % current.strftime("%Y-%m")
            },
            code="month_future",
        )
    if month < earliest:
        raise ValidationError(
            {
                "last_contribution_month": _(
                    "末次缴费年月最早可选上月(%s);更早的减员请携带材料到经办窗口办理。"
                )
                % earliest.strftime("%Y-%m")
            },
            code="month_too_early",
        )
    if month < first_of_month(start_month):
        raise ValidationError(
            {
                "last_contribution_month": _("末次缴费年月不能早于参保起始年月(%s)。")
                % start_month.strftime("%Y-%m")
            },
            code="month_before_start",
        )
    return month


def open_removal_filing(enrolment: Enrolment) -> RemoveEmployeeFiling | None:
    return (
        RemoveEmployeeFiling.objects.filter(
            enrolment_id=enrolment.pk, review_state__in=OPEN_REVIEW_STATES
        )
        .only("pk", "reference")
        .first()
    )


def _existing(idempotency_key: uuid.UUID, employer_id: int) -> RemoveEmployeeFiling | None:
    filing = RemoveEmployeeFiling.objects.filter(idempotency_key=idempotency_key).first()
    if filing is not None and filing.employer_id != employer_id:
        # A key is random per form; one of another unit is a forged or replayed form.
        raise ValidationError(_("提交标识无效,请刷新页面后重新填写。"), code="bad_key")
    return filing


@transaction.atomic
def remove_employee_filing_submit(
    *,
    agent,
    idempotency_key: uuid.UUID,
    enrolment: Enrolment,
    reason: str,
    voluntary: bool,
    last_contribution_month: datetime.date,
    request=None,
) -> RemoveEmployeeFiling:
    """File the removal of one of the unit's active employees and queue it for review.

    The same idempotency key returns the filing it made (a double click or a resubmitted form).
    """
    existing = _existing(idempotency_key, agent.employer_id)
    if existing is not None:
        return existing
    # The row lock makes a concurrent double submission wait here, then find the first filing.
    locked = (
        Enrolment.objects.select_for_update()
        .filter(pk=enrolment.pk, employer_id=agent.employer_id)
        .first()
    )
    if locked is None:
        raise ValidationError({"enrolment": _("未找到该参保人员。")}, code="missing")
    existing = _existing(idempotency_key, agent.employer_id)
    if existing is not None:
        return existing
    if locked.status != Enrolment.Status.ACTIVE:
        raise ValidationError({"enrolment": NOT_ACTIVE}, code="not_active")
    pending = open_removal_filing(locked)
    if pending is not None:
        raise ValidationError(
            {"enrolment": ALREADY_FILED % {"reference": pending.reference}},
            code="already_filed",
        )
    if reason not in RemovalReason.values:
        raise ValidationError({"reason": _("请选择减员原因。")}, code="reason")
    month = removal_month_check(
        last_contribution_month=last_contribution_month,
        accepted_on=timezone.localdate(),
        start_month=locked.start_month,
    )
    employer = agent.employer
    filing = RemoveEmployeeFiling(
        reference=removal_reference(),
        employer_id=agent.employer_id,
        enrolment=locked,
        submitted_by=agent,
        idempotency_key=idempotency_key,
        reason=reason,
        voluntary=bool(voluntary),
        last_contribution_month=month,
        review_region_id=employer.region_id,
    )
    filing.full_clean(exclude=["enrolment", "employer", "submitted_by", "review_region"])
    filing.save()
    audit_log(
        action="enrollment.remove_submit",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=filing,
        request=request,
        details={"reference": filing.reference, "enrolment": locked.pk, "reason": reason},
    )
    review_submit(item=filing, actor=agent.user, request=request)
    return filing


def removal_filing_get_for_agent(*, agent, reference: str) -> RemoveEmployeeFiling:
    """Return a removal filing of the agent's unit; 404 whether missing or another unit's."""
    return get_object_or_404(
        RemoveEmployeeFiling.objects.select_related("enrolment__person", "submitted_by"),
        reference=reference,
        employer_id=agent.employer_id,
    )


def removal_filing_list_for_agent(*, agent, limit: int = 20) -> list[RemoveEmployeeFiling]:
    """Return the unit's latest removal filings."""
    return list(
        RemoveEmployeeFiling.objects.filter(employer_id=agent.employer_id)
        .select_related("enrolment__person")
        .defer("enrolment__person__phone")
        .order_by("-created_at", "-pk")[:limit]
    )


def removable_enrolments_for_agent(*, agent, q: str, limit: int = 20) -> list[Enrolment]:
    """Return the unit's active employees matching a name or a full document number."""
    if not q.strip():
        return []
    return list(roster_rows(roster_for_agent(agent, q=q, status=Enrolment.Status.ACTIVE))[:limit])


def removable_enrolment_get_for_agent(*, agent, enrolment_id) -> Enrolment | None:
    """Return the unit's enrolment with this id (any status), or None."""
    try:
        enrolment_id = int(enrolment_id)
    except (TypeError, ValueError):
        return None
    return (
        Enrolment.objects.select_related("person", "employment_form")
        .defer("person__phone")
        .filter(pk=enrolment_id, employer_id=agent.employer_id)
        .first()
    )
