"""How an add-employee filing (增员) takes part in the review workflow (portal.review).

Pre-checks: the person has no open enrolment elsewhere; the base lies within the bounds in
force for the start month; both attachments (labour contract and ID scan) are present; flags
(back-dated start, late filing) are shown as failed checks so that a person looks at them and
real-time approval does not pass them by. Approval makes the enrolment 正常 (active).
Rejection cancels the pending enrolment, so that a rejected filing blocks nobody (not even the
same person at another unit); resubmission runs every check again and reopens it as pending.

A 续保 (enrollment.resume) is an add filing whose enrolment resumes the unit's earlier one of
the person: its pre-checks also say whether it starts after the earlier period, it needs only
the new labour contract (the ID scan is on file), and its approval ends a suspended earlier
enrolment the day before the new one starts.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contributions.policy.reference import validate_base
from enrollment.models import AddEmployeeFiling, Attachment, Enrolment
from enrollment.resume.rules import resume_earliest_month
from portal import filings, review
from portal.compiled_sql import CompiledQuery
from portal.identifiers import mask_name_to_surname as masked_name
from portal.models import Notification
from portal.review import precheck_result

_KINDS = tuple(Attachment.Kind.values)

# Read on every pre-check, one query, its SQL compiled once per process: the enrolment's facts,
# its unit's region, what a 续保's earlier enrolment ended with, whether the person is open
# elsewhere, and which attachments the filing has.
_PRECHECK_FACTS = CompiledQuery(
    lambda enrolment, filing: (
        Enrolment.objects.filter(pk=enrolment)
        .annotate(
            elsewhere=Exists(
                Enrolment.objects.filter(
                    person_id=OuterRef("person_id"), status__in=Enrolment.OPEN_STATUSES
                )
                .exclude(pk=OuterRef("pk"))
                .exclude(pk=Coalesce(OuterRef("resumed_from_id"), OuterRef("pk")))
            ),
            **{
                f"has_{kind}": Exists(Attachment.objects.filter(filing_id=filing, kind=kind))
                for kind in _KINDS
            },
        )
        .values_list(
            "employer__region_id",
            "start_month",
            "contribution_base",
            "resumed_from_id",
            "resumed_from__start_month",
            "resumed_from__last_contribution_month",
            "resumed_from__ended_on",
            "elsewhere",
            *(f"has_{kind}" for kind in _KINDS),
        )
    ),
    "enrolment",
    "filing",
)


def add_filing_prechecks(filing: AddEmployeeFiling) -> list[dict]:
    """Run the automatic checks a clerk sees before deciding."""
    rows = _PRECHECK_FACTS.rows(enrolment=filing.enrolment_id, filing=filing.pk)
    if not rows:
        raise Enrolment.DoesNotExist("Enrolment matching query does not exist.")
    (
        region_id,
        start_month,
        contribution_base,
        resumed_from_id,
        *previous,
        elsewhere,
    ) = rows[0][: -len(_KINDS)]
    has = dict(zip(_KINDS, rows[0][-len(_KINDS) :], strict=True))
    try:
        validate_base(region_id, start_month, contribution_base)
        base_ok, base_detail = True, ""
    except ValidationError as exc:
        base_ok, base_detail = False, " ".join(exc.messages)
    kinds = {kind for kind in _KINDS if has[kind]}
    wanted = [Attachment.Kind.LABOUR_CONTRACT] if resumed_from_id else Attachment.Kind.values
    missing = [Attachment.Kind(kind).label for kind in wanted if kind not in kinds]
    flags = [AddEmployeeFiling.Flag(flag).label for flag in filing.flags]
    resumed = []
    if resumed_from_id:
        earliest = resume_earliest_month(
            Enrolment(
                pk=resumed_from_id,
                start_month=previous[0],
                last_contribution_month=previous[1],
                ended_on=previous[2],
            )
        )
        after = start_month >= earliest
        resumed.append(
            precheck_result(
                "after_last_period",
                _("续保起始年月在上次参保结束之后"),
                after,
                "" if after else _("最早可从 %s 起续保") % earliest.strftime("%Y-%m"),
            )
        )
    return [
        *resumed,
        precheck_result(
            "not_open_elsewhere",
            _("未在其他单位参保"),
            not elsewhere,
            _("该人员另有未终止的参保登记") if elsewhere else "",
        ),
        precheck_result("base_in_bounds", _("月缴费工资在上下限内"), base_ok, base_detail),
        precheck_result(
            "attachments",
            _("附件齐全"),
            not missing,
            _("缺少:%s") % "、".join(str(label) for label in missing) if missing else "",
        ),
        precheck_result(
            "flags", _("无补登记或逾期提示"), not flags, ";".join(str(f) for f in flags)
        ),
    ]


def add_filing_on_decided(
    filing: AddEmployeeFiling, *, actor, decision: str, comment: str = ""
) -> None:
    """Approval makes the enrolment 正常; rejection cancels it until the unit resubmits."""
    enrolment = Enrolment.objects.select_for_update().get(pk=filing.enrolment_id)
    if decision == "approve" and enrolment.resumed_from_id:
        _end_suspended([enrolment])
    enrolment.status = (
        Enrolment.Status.ACTIVE if decision == "approve" else Enrolment.Status.CANCELLED
    )
    enrolment.save(update_fields=["status", "updated_at"])


def add_filings_on_decided_many(
    filings: list[AddEmployeeFiling], *, actor, decision: str, comment: str = ""
) -> dict:
    """add_filing_on_decided for many filings at once: the enrolments locked, changed and
    recorded in their history with a statement each (bulk decisions, portal.review_bulk)."""
    status = Enrolment.Status.ACTIVE if decision == "approve" else Enrolment.Status.CANCELLED
    ids = sorted(filing.enrolment_id for filing in filings)
    if not ids:
        return {}
    enrolments = list(Enrolment.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    if status == Enrolment.Status.ACTIVE:
        _end_suspended([enrolment for enrolment in enrolments if enrolment.resumed_from_id])
    now = timezone.now()
    for enrolment in enrolments:
        enrolment.status = status
        enrolment.updated_at = now
    Enrolment.objects.filter(pk__in=ids).update(status=status, updated_at=now)
    # The history rows save(update_fields=...) writes for each: "~", no reason, the default user.
    Enrolment.history.bulk_history_create(enrolments, update=True, default_change_reason=None)
    return {}


def _end_suspended(resuming: list[Enrolment]) -> None:
    """End the suspended enrolments that approved 续保 resume, the day before each new one
    starts (before the new one becomes active: one open enrolment per person)."""
    starts = {enrolment.resumed_from_id: enrolment.start_month for enrolment in resuming}
    if not starts:
        return
    for previous in Enrolment.objects.select_for_update().filter(
        pk__in=sorted(starts), status=Enrolment.Status.SUSPENDED
    ):
        previous.status = Enrolment.Status.TERMINATED
        previous.ended_on = previous.ended_on or starts[previous.pk] - datetime.timedelta(days=1)
        previous.save(update_fields=["status", "ended_on", "updated_at"])


def add_filing_notifications(
    filing: AddEmployeeFiling, *, decision: str, comment: str = ""
) -> list[dict]:
    """SMS to the unit's contact phone; the person appears as a masked name, never an ID."""
    employer = filing.employer
    person = filing.enrolment.person
    kind = "resume" if filing.enrolment.resumed_from_id else "add_employee"
    template = f"{kind}_approved" if decision == "approve" else f"{kind}_rejected"
    return [
        {
            "channel": Notification.Channel.SMS,
            "recipient": employer.contact_phone,
            "template": template,
            "context": {
                "unit": employer.name,
                "reference": filing.reference,
                "name": masked_name(person.name),
                "date": timezone.localdate().strftime("%Y-%m-%d"),
                "month": filing.enrolment.start_month.strftime("%Y-%m"),
            },
            "employer_id": employer.pk,
        }
    ]


def register() -> None:
    """Register the AddEmployeeFiling hooks with the review workflow (from AppConfig.ready)."""
    review.register(
        AddEmployeeFiling,
        prechecks=add_filing_prechecks,
        on_decided=add_filing_on_decided,
        notifications=add_filing_notifications,
        on_decided_many=add_filings_on_decided_many,
        select_related=["employer", "enrolment__person"],
    )
    filings.register(
        filings.FilingKind(
            key="add",
            label=gettext_lazy("增员"),
            model=AddEmployeeFiling,
            url_name="enrollment:add_detail",
            permission="enrollment.add",
            exclude=lambda queryset: queryset.filter(enrolment__resumed_from__isnull=True),
            counts_group="add",
        )
    )
    filings.register(
        filings.FilingKind(
            key="resume",
            label=gettext_lazy("续保"),
            model=AddEmployeeFiling,
            url_name="enrollment:add_detail",
            permission="enrollment.add",
            exclude=lambda queryset: queryset.filter(enrolment__resumed_from__isnull=False),
            counts_group="add",
        )
    )
