"""Reads of 待遇申领: the region's terms, the wages a claim is computed from, the unit's claims.

Wages come from the bill lines (BillLine), the contribution records month by month: they say who
was billed in which month and on which base. ContributionBase holds one declared base per
policy period and says nothing of the months a person was actually billed, so it cannot give
"the 12 months before the event". A supplement bill's lines hold differences of base, so a
person's base for a month is the sum of that person's lines of the month over all bills, and
a person-month counts once.

Everything an agent reads goes through a function taking the agent and scoped to its unit
(404 whether a claim is missing or another unit's).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, Sum
from django.shortcuts import get_object_or_404

from contributions.common import add_months, month_start
from contributions.models import (
    BenefitAttachment,
    BillLine,
    InjuryClaim,
    InjuryRecognition,
    InsuranceType,
    MaternityClaim,
    RegionalAverageWage,
    RegionBenefitSettings,
    UnitWageSource,
)
from enrollment.models import Enrolment, InsuranceCode, Person
from portal.crypto import blind_index
from portal.models import OPEN_REVIEW_STATES, ReviewState

CENT = Decimal("0.01")
WAGE_MONTHS = 12
LIST_LIMIT = 20
# Statuses of an enrolment that was (or is) in force; pending and cancelled ones never were.
IN_FORCE = (Enrolment.Status.ACTIVE, Enrolment.Status.SUSPENDED, Enrolment.Status.TERMINATED)
# 生育保险 (510) has been collected together with 职工医保 (310) since 2019 (国办发〔2019〕10号).
MATERNITY_CODES = (InsuranceCode.MEDICAL.value, InsuranceCode.MATERNITY.value)
INJURY_CODES = (InsuranceCode.WORK_INJURY.value,)


@dataclass(frozen=True)
class BenefitTerms:
    """A region's benefit settings, or the defaults where the region has none."""

    divisor: Decimal
    extra_maternity_days: int
    unit_wage_source: str

    @property
    def unit_wage_declared(self) -> bool:
        return self.unit_wage_source == UnitWageSource.DECLARED


DEFAULT_TERMS = BenefitTerms(Decimal("30"), 0, UnitWageSource.BASES)


def benefit_terms_for(region_id: int | None) -> BenefitTerms:
    """The region's terms (RegionBenefitSettings), else the defaults: 30, no extra days, bases."""
    row = RegionBenefitSettings.objects.filter(region_id=region_id).first()
    if row is None:
        return DEFAULT_TERMS
    return BenefitTerms(
        # 30.0 → 30, 30.4 stays: as the rule's DIVISORS and the pages write them.
        divisor=Decimal(format(row.maternity_divisor.normalize(), "f")),
        extra_maternity_days=row.maternity_extra_days,
        unit_wage_source=row.unit_wage_source,
    )


def regional_average_wage(region_id: int | None, year: int) -> Decimal | None:
    """统筹地区职工月平均工资 of the year, or None when the region has not set it."""
    return (
        RegionalAverageWage.objects.filter(region_id=region_id, year=year)
        .values_list("monthly_wage", flat=True)
        .first()
    )


@dataclass(frozen=True)
class WageFigure:
    """An average monthly wage and what it was computed from."""

    amount: Decimal
    months: int  # months with bill lines; 0 when the figure is not from bills
    first_month: datetime.date
    last_month: datetime.date
    person_months: int = 0


def wage_window(event_date: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The 12 months before the event's month: (first month, last month)."""
    this_month = month_start(event_date)
    return add_months(this_month, -WAGE_MONTHS), add_months(this_month, -1)


def _average(total: Decimal, count: int) -> Decimal:
    return (total / count).quantize(CENT, rounding=ROUND_HALF_UP)


def unit_average_wage(*, employer_id: int, event_date: datetime.date) -> WageFigure | None:
    """The unit's average monthly wage over the 12 months before the event, or None without bills.

    The sum of the unit's medical-insurance bases of those months (生育 is collected with 医保)
    over the number of person-months billed: months without a bill do not count. Two queries,
    both on the index (employer, month) of the bill lines.
    """
    first, last = wage_window(event_date)
    lines = BillLine.objects.filter(
        employer_id=employer_id,
        month__gte=first,
        month__lte=last,
        insurance_type=InsuranceType.MEDICAL,
    )
    sums = lines.aggregate(total=Sum("base"), months=Count("month", distinct=True))
    person_months = lines.values("enrolment_id", "month").distinct().count()
    if not person_months or sums["total"] is None:
        return None
    return WageFigure(
        _average(sums["total"], person_months), sums["months"], first, last, person_months
    )


def own_monthly_wage(*, enrolment: Enrolment, injury_date: datetime.date) -> WageFigure:
    """The person's own monthly wage before the injury (工伤保险条例 art. 64).

    The average of the person's 工伤保险 bases with the unit over the 12 months before the
    injury's month; with fewer months billed, over the months there are; with none, the monthly
    wage declared when the person was enrolled (参保登记的月缴费工资).
    """
    first, last = wage_window(injury_date)
    rows = (
        BillLine.objects.filter(
            employer_id=enrolment.employer_id,
            person_id=enrolment.person_id,
            month__gte=first,
            month__lte=last,
            insurance_type=InsuranceType.WORK_INJURY,
        )
        .values("month")
        .annotate(base=Sum("base"))
    )
    bases = [row["base"] for row in rows]
    if not bases:
        return WageFigure(enrolment.contribution_base, 0, first, last)
    return WageFigure(_average(sum(bases, Decimal("0")), len(bases)), len(bases), first, last)


def person_enrolment_at(
    *, employer_id: int, document_number: str, on: datetime.date, codes: tuple[str, ...]
) -> Enrolment | None:
    """The unit's enrolment of the person (by full document number) in force on the date with
    one of the insurance codes, or None."""
    number = "".join((document_number or "").split()).upper()
    if not number:
        return None
    persons = Person.objects.filter(document_index=blind_index("document_number", number))
    candidates = (
        Enrolment.objects.select_related("person")
        .filter(employer_id=employer_id, person_id__in=persons.values("pk"))
        .filter(_in_force_on(on))
        .order_by("-start_month")
    )
    return next((e for e in candidates if set(codes) & set(e.insurance_codes)), None)


def _in_force_on(on: datetime.date) -> Q:
    """Enrolments in force on the day: started, not ended, billed through that month."""
    return (
        Q(status__in=IN_FORCE, start_month__lte=on)
        & (Q(ended_on__isnull=True) | Q(ended_on__gte=on))
        & (
            Q(last_contribution_month__isnull=True)
            | Q(last_contribution_month__gte=month_start(on))
        )
    )


def enrolment_covers(*, enrolment_id: int, on: datetime.date, codes: tuple[str, ...]) -> bool:
    """Whether the enrolment was in force on the day with one of the insurance codes."""
    enrolment = (
        Enrolment.objects.filter(pk=enrolment_id).filter(_in_force_on(on)).only("insurance_codes")
    ).first()
    return enrolment is not None and bool(set(codes) & set(enrolment.insurance_codes))


def person_known_to_unit(*, employer_id: int, document_number: str) -> bool:
    """Whether the unit has ever enrolled the person (for a more helpful refusal)."""
    number = "".join((document_number or "").split()).upper()
    persons = Person.objects.filter(document_index=blind_index("document_number", number))
    return Enrolment.objects.filter(
        employer_id=employer_id, person_id__in=persons.values("pk"), status__in=IN_FORCE
    ).exists()


# Open or approved claims: a second one of the same event is refused.
LIVE_STATES = (*OPEN_REVIEW_STATES, ReviewState.APPROVED)


def maternity_claim_existing(*, enrolment_id: int, event_date) -> MaternityClaim | None:
    return (
        MaternityClaim.objects.filter(
            enrolment_id=enrolment_id, event_date=event_date, review_state__in=LIVE_STATES
        )
        .only("pk", "reference")
        .first()
    )


def recognition_existing(*, enrolment_id: int, accident_date) -> InjuryRecognition | None:
    return (
        InjuryRecognition.objects.filter(
            enrolment_id=enrolment_id,
            accident_at__date=accident_date,
            review_state__in=LIVE_STATES,
        )
        .only("pk", "reference")
        .first()
    )


def injury_claim_existing(*, recognition_id: int) -> InjuryClaim | None:
    return (
        InjuryClaim.objects.filter(recognition_id=recognition_id, review_state__in=LIVE_STATES)
        .only("pk", "reference")
        .first()
    )


# The agent's reads -------------------------------------------------------------------------


def maternity_claim_get_for_agent(*, agent, reference: str) -> MaternityClaim:
    """Return a maternity claim of the agent's unit; 404 whether missing or another unit's."""
    return get_object_or_404(
        MaternityClaim.objects.select_related("enrolment__person", "submitted_by"),
        reference=reference,
        employer_id=agent.employer_id,
    )


def recognition_get_for_agent(*, agent, reference: str) -> InjuryRecognition:
    """Return a 工伤认定申请 of the agent's unit; 404 whether missing or another unit's."""
    return get_object_or_404(
        InjuryRecognition.objects.select_related("enrolment__person", "submitted_by"),
        reference=reference,
        employer_id=agent.employer_id,
    )


def injury_claim_get_for_agent(*, agent, reference: str) -> InjuryClaim:
    """Return a 工伤待遇 claim of the agent's unit; 404 whether missing or another unit's."""
    return get_object_or_404(
        InjuryClaim.objects.select_related("enrolment__person", "submitted_by", "recognition"),
        reference=reference,
        employer_id=agent.employer_id,
    )


def claim_attachments(claim) -> list[BenefitAttachment]:
    return list(claim.attachments.defer("sha256").order_by("kind", "pk"))


def claim_receipts(claim: InjuryClaim) -> list:
    return list(claim.receipts.all())


def attachment_get_for_agent(*, agent, attachment_id: int) -> BenefitAttachment:
    """Return an attachment of the agent's unit; 404 whether missing or another unit's."""
    return get_object_or_404(BenefitAttachment, pk=attachment_id, employer_id=agent.employer_id)


def _latest(queryset, agent, limit: int):
    return list(
        queryset.filter(employer_id=agent.employer_id)
        .select_related("enrolment__person")
        .defer("enrolment__person__phone")
        .order_by("-created_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class ClaimsOverview:
    maternity: list
    recognitions: list
    injury_claims: list


def claims_overview_for_agent(*, agent, limit: int = LIST_LIMIT) -> ClaimsOverview:
    """The unit's latest claims of each kind: three queries whatever their number."""
    return ClaimsOverview(
        maternity=_latest(MaternityClaim.objects.all(), agent, limit),
        recognitions=_latest(InjuryRecognition.objects.all(), agent, limit),
        injury_claims=_latest(InjuryClaim.objects.all(), agent, limit),
    )


def claimable_recognitions_for_agent(*, agent, limit: int = LIST_LIMIT) -> list:
    """The unit's approved recognitions without an open or approved 工伤待遇 claim."""
    claimed = InjuryClaim.objects.filter(
        employer_id=agent.employer_id, review_state__in=LIVE_STATES
    ).values("recognition_id")
    return _latest(
        InjuryRecognition.objects.filter(review_state=ReviewState.APPROVED).exclude(pk__in=claimed),
        agent,
        limit,
    )


def injury_claims_for_agent(*, agent, limit: int = LIST_LIMIT) -> list:
    return _latest(InjuryClaim.objects.all(), agent, limit)
