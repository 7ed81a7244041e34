"""Runs of 月度核定 over many units: every active unit's bills of a month (beat, command), and
the recomputation of a period's bills after its bounds changed.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from contributions.billing.engine import (
    ZERO,
    BillResult,
    Outcome,
    PolicyCache,
    _check_month,
    _generate,
)
from contributions.models import (
    ContributionAccount,
    MonthlyBill,
    PolicyPeriod,
)
from employers.models import Employer


@dataclass
class BillRunSummary:
    """What a run over many units did (bills_generate_all, bills_recompute_period)."""

    month: datetime.date | None = None
    units: int = 0
    created: int = 0
    replaced: int = 0
    supplements: int = 0
    withdrawn: int = 0
    unchanged: int = 0
    empty: int = 0
    persons: int = 0
    lines: int = 0
    total: Decimal = ZERO
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, outcome: str) -> None:
        attribute = {
            Outcome.CREATED: "created",
            Outcome.REPLACED: "replaced",
            Outcome.SUPPLEMENT: "supplements",
            Outcome.WITHDRAWN: "withdrawn",
            Outcome.UNCHANGED: "unchanged",
        }[outcome]
        setattr(self, attribute, getattr(self, attribute) + 1)

    def record(self, result: BillResult) -> None:
        self.count(result.outcome)
        if result.outcome != Outcome.UNCHANGED and result.bill is not None:
            self.persons += result.bill.person_count
            self.lines += result.lines
            self.total += result.bill.total

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": f"{self.month:%Y-%m}" if self.month else None,
            "units": self.units,
            "created": self.created,
            "replaced": self.replaced,
            "supplements": self.supplements,
            "withdrawn": self.withdrawn,
            "unchanged": self.unchanged,
            "empty": self.empty,
            "persons": self.persons,
            "lines": self.lines,
            "total": str(self.total),
            "failures": len(self.failures),
            "seconds": round(self.seconds, 3),
        }

    def text(self) -> str:
        """The summary in Chinese, as generate_bills prints it."""
        head = f"费款所属期 {self.month:%Y-%m}:" if self.month else ""
        lines = [
            f"{head}处理单位 {self.units} 个,新核定 {self.created} 张,"
            f"重新核定 {self.replaced} 张,补缴(退费)单 {self.supplements} 张,"
            f"撤销未确认的补缴单 {self.withdrawn} 张,无变化 {self.unchanged} 个,"
            f"无应缴人员 {self.empty} 个,失败 {len(self.failures)} 个。",
            f"本次写入核定单涉及 {self.persons} 人次、明细 {self.lines} 条,"
            f"金额合计 {self.total} 元;用时 {self.seconds:.1f} 秒。",
        ]
        lines += [f"  {unit}:{message}" for unit, message in self.failures]
        return "\n".join(lines)


def _run(
    summary: BillRunSummary,
    employer: Employer,
    month: datetime.date,
    cache: PolicyCache,
    accounts: dict,
    actor=None,
) -> None:
    summary.units += 1
    try:
        with transaction.atomic():
            result = _generate(
                employer_id=employer.pk,
                month=month,
                policy=cache.policy(employer.region, month),
                rules=cache.rules(employer.region_id),
                account=accounts.get(employer.pk),
                actor=actor,
            )
    except ValidationError as exc:
        if getattr(exc, "code", None) == "no_persons":
            summary.empty += 1
        else:
            summary.failures.append((employer.ss_number, "；".join(exc.messages)))
        return
    summary.record(result)


def _accounts_for(employer_ids: Iterable[int] | None) -> dict:
    queryset = ContributionAccount.objects.all()
    if employer_ids is not None:
        queryset = queryset.filter(employer_id__in=list(employer_ids))
    return {
        employer_id: (risk_class, work_injury_float)
        for employer_id, risk_class, work_injury_float in queryset.values_list(
            "employer_id", "risk_class", "work_injury_float"
        )
    }


def bills_generate_all(*, month: datetime.date, region=None, actor=None) -> BillRunSummary:
    """Generate the month's bills of every active unit (of the region), one transaction each.

    Policies and region rules are loaded once per region; each unit costs a constant number of
    queries whatever its staff size. A unit whose bill cannot be made is listed in failures.
    """
    started = time.perf_counter()
    month = _check_month(month)
    queryset = Employer.objects.filter(status=Employer.Status.ACTIVE)
    if region is not None:
        queryset = queryset.filter(region=region)
    units = list(queryset.select_related("region").order_by("pk"))
    accounts = _accounts_for(None if region is None else [unit.pk for unit in units])
    summary = BillRunSummary(month=month)
    cache = PolicyCache()
    for employer in units:
        _run(summary, employer, month, cache, accounts, actor)
    summary.seconds = time.perf_counter() - started
    return summary


def bills_recompute_period(*, period: PolicyPeriod, actor=None) -> BillRunSummary:
    """Recompute the bills of a period whose bounds changed since they were computed.

    Assessed bills are recomputed in place; confirmed or paid ones get a supplement bill with the
    difference (a credit when negative). Months are redone one unit at a time.
    """
    started = time.perf_counter()
    period = PolicyPeriod.objects.select_related("region").get(pk=period.pk)
    # A month is stale when its latest bill was computed with other bounds (a confirmed bill
    # whose difference is already billed by a later supplement is not).
    latest: dict[tuple[int, datetime.date], tuple[int, bool]] = {}
    rows = MonthlyBill.objects.filter(period=period).values_list(
        "employer_id", "month", "sequence", "base_lower", "base_upper"
    )
    for employer_id, month, sequence, lower, upper in rows:
        current = (lower, upper) == (period.base_lower, period.base_upper)
        if latest.get((employer_id, month), (-1, True))[0] < sequence:
            latest[(employer_id, month)] = (sequence, current)
    pairs = sorted(key for key, (_sequence, current) in latest.items() if not current)
    summary = BillRunSummary()
    if not pairs:
        summary.seconds = time.perf_counter() - started
        return summary
    units = Employer.objects.select_related("region").in_bulk({pk for pk, _month in pairs})
    accounts = _accounts_for(units)
    cache = PolicyCache()
    for employer_id, month in pairs:
        _run(summary, units[employer_id], month, cache, accounts, actor)
    summary.seconds = time.perf_counter() - started
    return summary


def bills_recompute_on_commit(*, period: PolicyPeriod) -> None:
    """Queue the recomputation of the period's bills once the bounds change is committed."""
    from contributions.billing.tasks import bills_recompute_period as task

    period_id = period.pk
    transaction.on_commit(lambda: task.delay(period_id))
