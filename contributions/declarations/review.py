"""How a base declaration takes part in the review workflow (portal.review).

Pre-checks: every base within the period's bounds, every person still active, rows adjusted to a
bound flagged for the clerk. Approval applies the declaration (contributions.declarations.services).
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contributions.declarations.selectors import active_enrolments
from contributions.declarations.services import declaration_apply
from contributions.models import (
    BaseDeclaration,
    BaseDeclarationLine,
    PolicyPeriod,
)
from portal import filings, review
from portal.models import Notification
from portal.review import precheck_result


def declaration_prechecks(declaration: BaseDeclaration) -> list[dict]:
    """Every base within the period's bounds as they stand now; every person still active."""
    period = PolicyPeriod.objects.get(pk=declaration.period_id)
    lines = BaseDeclarationLine.objects.filter(declaration=declaration)
    outside = lines.filter(
        Q(declared_base__lt=period.base_lower) | Q(declared_base__gt=period.base_upper)
    ).count()
    gone = lines.exclude(
        enrolment__in=active_enrolments(declaration.employer_id).values("pk")
    ).count()
    adjusted = lines.filter(adjusted_to_bound=True).count()
    return [
        precheck_result(
            "bases_in_bounds",
            _("缴费基数均在上下限内"),
            outside == 0,
            _("%(count)d 人超出 %(lower)s 至 %(upper)s 元")
            % {"count": outside, "lower": period.base_lower, "upper": period.base_upper}
            if outside
            else "",
        ),
        precheck_result(
            "persons_active",
            _("申报人员均为本单位正常参保职工"),
            gone == 0,
            _("%d 人已不是本单位正常参保职工") % gone if gone else "",
        ),
        precheck_result(
            "no_adjustment",
            _("无按上下限调整的人员"),
            adjusted == 0,
            _("%d 人的工资超出上下限,已按上下限申报") % adjusted if adjusted else "",
        ),
    ]


def declaration_on_decided(
    declaration: BaseDeclaration, *, actor, decision: str, comment: str = ""
) -> None:
    if decision == "approve":
        declaration_apply(declaration=declaration, actor=actor)


def declaration_notifications(
    declaration: BaseDeclaration, *, decision: str, comment: str
) -> list[dict]:
    """SMS to the agent who submitted; no personal data of the employees."""
    agent = declaration.submitted_by
    period = declaration.period
    if not agent.phone:
        return []
    template = "base_declaration_approved" if decision == "approve" else "base_declaration_rejected"
    return [
        {
            "channel": Notification.Channel.SMS,
            "recipient": agent.phone,
            "template": template,
            "context": {
                "unit": declaration.employer.name,
                "reference": declaration.reference,
                "period": f"{period.starts_on:%Y-%m}至{period.ends_on:%Y-%m}",
            },
            "employer_id": declaration.employer_id,
        }
    ]


def register() -> None:
    """Register the BaseDeclaration hooks with the review workflow (from AppConfig.ready)."""
    review.register(
        BaseDeclaration,
        prechecks=declaration_prechecks,
        on_decided=declaration_on_decided,
        notifications=declaration_notifications,
        select_related=["employer", "period", "submitted_by"],
    )
    filings.register(
        filings.FilingKind(
            key="declaration",
            label=gettext_lazy("缴费基数申报"),
            model=BaseDeclaration,
            url_name="contributions:declaration_detail",
            permission="contributions.declare",
        )
    )
