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
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enrollment.models import Enrolment, RemovalReason, RemoveEmployeeFiling
from enrollment.removal.selectors import open_removal_filing
from enrollment.rules import add_months, first_of_month
from portal.audit import audit_log
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
