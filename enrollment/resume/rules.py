"""续保: which enrolments may be resumed, and from which month (DESIGN.md §15).

A person whose enrolment with the unit ended (终止) or is suspended (暂停) is resumed through the
add-employee path with a new enrolment that points at the earlier one (Enrolment.resumed_from):
the person, the earlier periods and their records stay as they are. The start month follows the
add-employee rules (at most next month, back-dating within the region's limit) and lies after
the earlier period's last month, so that no month is insured twice.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from enrollment.models import Enrolment
from enrollment.rules import OTHER_UNIT_MESSAGE, add_months, first_of_month

RESUMABLE_STATUSES = (Enrolment.Status.TERMINATED, Enrolment.Status.SUSPENDED)
NOT_RESUMABLE = gettext_noop("只有在本单位已终止或暂停参保的人员可以办理续保。")
PENDING_ALREADY = gettext_noop("该人员已有增员或续保申请正在审核中,请等待审核结果。")
NOT_LATEST = gettext_noop("该人员在本单位另有更近的参保登记,请从最近一次的参保登记办理续保。")


def resume_earliest_month(previous: Enrolment) -> datetime.date:
    """The first month a 续保 of ``previous`` may start: the month after its last month."""
    if previous.last_contribution_month:
        last = first_of_month(previous.last_contribution_month)
    elif previous.ended_on:
        last = first_of_month(previous.ended_on)
    else:  # suspended before any month was due: the earlier start month is free again
        return first_of_month(previous.start_month)
    return add_months(last, 1)


def resume_start_check(previous: Enrolment, start_month: datetime.date) -> None:
    """Refuse a start month within or before the earlier period (keyed by the form field)."""
    earliest = resume_earliest_month(previous)
    if first_of_month(start_month) < earliest:
        raise ValidationError(
            {
                "start_month": _(
                    "续保起始年月不能早于 %(earliest)s:上次参保到 %(last)s 为止,"
                    "同一月份不能重复参保。"
                )
                % {
                    "earliest": earliest.strftime("%Y-%m"),
                    "last": add_months(earliest, -1).strftime("%Y-%m"),
                }
            },
            code="before_last_period",
        )


def blocking_enrolments(*, person_id, employer_id, own_pk) -> QuerySet:
    """What stands in the way of resuming enrolment ``own_pk``: the person's other open
    enrolments anywhere, and a later one with the same unit that was not cancelled."""
    return (
        Enrolment.objects.filter(person_id=person_id)
        .exclude(pk=own_pk)
        .filter(
            Q(status__in=Enrolment.OPEN_STATUSES)
            | (Q(employer_id=employer_id, pk__gt=own_pk) & ~Q(status=Enrolment.Status.CANCELLED))
        )
    )


def with_resumable(queryset: QuerySet) -> QuerySet:
    """Annotate each enrolment with ``resumable`` (one EXISTS per row, in the same query)."""
    blocking = blocking_enrolments(
        person_id=OuterRef("person_id"), employer_id=OuterRef("employer_id"), own_pk=OuterRef("pk")
    )
    return queryset.annotate(
        resumable=ExpressionWrapper(
            Q(status__in=RESUMABLE_STATUSES) & ~Exists(blocking.values("pk")),
            output_field=BooleanField(),
        )
    )


def resume_refusal(previous: Enrolment, *, exclude_pk: int | None = None) -> None:
    """Refuse to resume ``previous`` unless it is the person's latest with the unit, ended or
    suspended, and nothing else of the person is open (``exclude_pk``: the filing's own)."""
    if previous.status not in RESUMABLE_STATUSES:
        raise ValidationError(_(NOT_RESUMABLE), code="not_resumable")
    blocking = blocking_enrolments(
        person_id=previous.person_id, employer_id=previous.employer_id, own_pk=previous.pk
    )
    if exclude_pk is not None:
        blocking = blocking.exclude(pk=exclude_pk)
    found = blocking.only("employer_id", "status").order_by("-pk").first()
    if found is None:
        return
    if found.employer_id != previous.employer_id:
        raise ValidationError(_(OTHER_UNIT_MESSAGE), code="other_unit")
    if found.status == Enrolment.Status.PENDING:
        raise ValidationError(_(PENDING_ALREADY), code="pending")
    raise ValidationError(_(NOT_LATEST), code="not_latest")
