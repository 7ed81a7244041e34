"""月度核定: a unit's monthly bill, regenerated idempotently, with 补缴/退费 after a bounds change.

Who is billed for a month (费款所属期, the first day of the month):

- the unit's enrolments with status 正常 (active), and 暂停/终止 ones whose last contribution month
  (末次缴费年月) is set and not before the month;
- whose 参保起始年月 is not after the month, and whose last contribution month, when set, is not
  before it (a leaver is billed through the last contribution month inclusive);
- the region's joiner rule (RegionContributionSettings.joiner_cutoff_day): when set and the
  用工日期 lies in the start month after that day, billing starts the month after.

Calculation and rounding (README "缴费计算与舍入"):

- base = the enrolment's ContributionBase of the bill's policy period (the declared base), else
  the 月缴费工资 of its filing; then clamp(base, lower, upper) with the period's bounds;
- rate = the period's employer or personal rate of the insurance type. 工伤保险 has no personal
  part; its employer rate is the base rate of the unit's industry risk class × the unit's
  floating factor (ContributionAccount; without an account: class 1, factor 1.00), the product
  rounded half up to 6 decimal places (exact for every published rate);
- amount = round_amount(base × rate, rule) per person, insurance type and side, where rule is the
  region's RoundingRule of that type and side, 四舍五入到分 (ROUND_HALF_UP to the cent: 35.805 →
  35.81) where none is set, 见分进角 as in Shanghai (35.81 → 35.90), and so on (see
  contributions.policy.reference.round_amount). Totals are sums of the rounded amounts, never
  rounded again.

Bills of a month: the regular bill (kind regular, sequence 0) and supplements (kind supplement,
sequence 1, 2, ...). While a bill is 已核定 (assessed) it is recomputed in place, keeping its
reference (only lines that differ are rewritten; nothing is written when nothing differs); once
confirmed (or debited, settled or failed) it is never touched again: a new
computation is compared with the sum of all confirmed lines per enrolment and insurance type and
the difference becomes a supplement bill (补缴, or 退费 when negative). A supplement line holds the
differences of base and amounts, so that the lines of a month always add up to what is owed.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.db.models import FilteredRelation, Q, Sum
from django.utils import timezone

from contributions.billing.line_order import bill_lines_number, lines_in_page_order
from contributions.common import (
    TYPE_ORDER,
    add_months,
    contribution_types,
    line_sums,
    month_start,
    new_reference,
    type_totals,
)
from contributions.models import (
    RATE_DECIMAL_PLACES,
    BillKind,
    BillLine,
    BillStatus,
    ContributionAccount,
    InsuranceType,
    MonthlyBill,
    PolicyPeriod,
    RegionContributionSettings,
    RiskClass,
    Side,
)
from contributions.policy.reference import Policy, load_policy, round_amount
from employers.models import Employer
from enrollment.models import Enrolment
from portal.audit import audit_log
from portal.inbox import inbox_message_create
from portal.models import InboxCategory

BULK_BATCH = 2000


DEFAULT_DUE_DAY = 15


RATE_QUANTUM = Decimal(1).scaleb(-RATE_DECIMAL_PLACES)


ZERO = Decimal("0.00")


BILLED_STATUSES = (
    Enrolment.Status.ACTIVE,
    Enrolment.Status.SUSPENDED,
    Enrolment.Status.TERMINATED,
)


class Outcome:
    CREATED = "created"  # a new regular bill
    REPLACED = "replaced"  # an assessed bill recomputed in place
    SUPPLEMENT = "supplement"  # a new supplement bill (补缴/退费)
    WITHDRAWN = "withdrawn"  # an assessed supplement no longer needed, deleted
    UNCHANGED = "unchanged"


class Figures(NamedTuple):
    """One line's figures: person, base, rates and rounded amounts."""

    person_id: int
    base: Decimal
    employer_rate: Decimal
    personal_rate: Decimal
    employer_amount: Decimal
    personal_amount: Decimal


@dataclass(frozen=True)
class RegionRules:
    joiner_cutoff_day: int | None = None
    payment_due_day: int = DEFAULT_DUE_DAY


class BillResult(NamedTuple):
    """What one generation did: the bill written (None when withdrawn), outcome, lines."""

    bill: MonthlyBill | None
    outcome: str
    lines: int = 0


class PolicyCache:
    """Policies and region rules loaded once per region and period for a run over many units."""

    def __init__(self):
        self._policies: dict[int, list[Policy]] = {}
        self._errors: dict[tuple[int, datetime.date], ValidationError] = {}
        self._rules: dict[int, RegionRules] = {}

    def policy(self, region, month: datetime.date) -> Policy:
        for policy in self._policies.get(region.pk, []):
            if policy.period.starts_on <= month <= policy.period.ends_on:
                return policy
        error = self._errors.get((region.pk, month))
        if error is not None:
            raise error
        try:
            policy = load_policy(region, month)
        except ValidationError as exc:
            self._errors[(region.pk, month)] = exc
            raise
        self._policies.setdefault(region.pk, []).append(policy)
        return policy

    def rules(self, region_id: int) -> RegionRules:
        if region_id not in self._rules:
            self._rules[region_id] = region_rules(region_id)
        return self._rules[region_id]


def region_rules(region_id: int) -> RegionRules:
    """The region's joiner cut-off and payment due day (defaults where it has no settings)."""
    row = (
        RegionContributionSettings.objects.filter(region_id=region_id)
        .values_list("joiner_cutoff_day", "payment_due_day")
        .first()
    )
    if row is None:
        return RegionRules()
    return RegionRules(joiner_cutoff_day=row[0], payment_due_day=row[1] or DEFAULT_DUE_DAY)


def _due_on(month: datetime.date, rules: RegionRules) -> datetime.date:
    return add_months(month, 1).replace(day=rules.payment_due_day)


def _check_month(month: datetime.date) -> datetime.date:
    month = month_start(month)
    if month > month_start(timezone.localdate()):
        raise ValidationError("不能核定未来月份的费款", code="future_month")
    return month


def _account_terms(account: tuple[int, Decimal] | None) -> tuple[int, Decimal]:
    if account is None:
        return RiskClass.CLASS_1, Decimal("1.00")
    return account


def _rate_table(policy: Policy, risk_class: int, work_injury_float: Decimal) -> dict:
    """Per insurance type: (employer rate, personal rate, employer rule, personal rule)."""
    table = {}
    for insurance_type in TYPE_ORDER:
        try:
            rates = policy.rate(insurance_type, risk_class)
        except ValidationError:
            continue  # raised again below if a billed person has this type
        employer_rate = rates.employer
        if insurance_type == InsuranceType.WORK_INJURY:
            employer_rate = (employer_rate * work_injury_float).quantize(
                RATE_QUANTUM, rounding=ROUND_HALF_UP
            )
        table[insurance_type] = (
            employer_rate,
            rates.personal,
            policy.rounding_rule(insurance_type, Side.EMPLOYER),
            policy.rounding_rule(insurance_type, Side.PERSONAL),
        )
    return table


def _billed_rows(
    employer_id: int, month: datetime.date, period: PolicyPeriod, rules: RegionRules
) -> list[tuple]:
    """(enrolment, person, insurance codes, base) of everyone billed for the month, one query.

    The base is the declared base of the period (a LEFT JOIN on the period's ContributionBase,
    at most one per enrolment), else the filing's 月缴费工资.
    """
    rows = (
        Enrolment.objects.filter(
            employer_id=employer_id, status__in=BILLED_STATUSES, start_month__lte=month
        )
        .annotate(
            declared=FilteredRelation(
                "contribution_bases", condition=Q(contribution_bases__period=period)
            )
        )
        .filter(
            Q(last_contribution_month__gte=month)
            | Q(last_contribution_month__isnull=True, status=Enrolment.Status.ACTIVE)
        )
        .order_by("id")
        .values_list(
            "id",
            "person_id",
            "insurance_codes",
            "contribution_base",
            "declared__base",
            "start_month",
            "employment_start",
        )
    )
    cutoff = rules.joiner_cutoff_day
    billed = []
    for enrolment_id, person_id, codes, filing_base, declared_base, start, employment_start in rows:
        if (
            cutoff
            and month == start
            and employment_start is not None
            and month_start(employment_start) == start
            and employment_start.day > cutoff
        ):
            continue  # joined after the region's cut-off day: billed from the next month
        base = filing_base if declared_base is None else declared_base
        billed.append((enrolment_id, person_id, codes, base))
    return billed


def _target_lines(
    employer_id: int, month: datetime.date, policy: Policy, rules: RegionRules, account
) -> dict[tuple[int, str], Figures]:
    """What everyone billed for the month owes, per (enrolment, insurance type)."""
    rows = _billed_rows(employer_id, month, policy.period, rules)
    if not rows:
        return {}
    risk_class, work_injury_float = _account_terms(account)
    table = _rate_table(policy, risk_class, work_injury_float)
    computed: dict[tuple[Decimal, str], tuple] = {}
    target = {}
    types_of: dict[tuple[str, ...], list[str]] = {}
    for enrolment_id, person_id, codes, declared in rows:
        base = policy.clamp(declared)
        codes = tuple(codes)
        types = types_of.get(codes)
        if types is None:
            types = types_of[codes] = contribution_types(codes)
        for insurance_type in types:
            key = (base, insurance_type)
            figures = computed.get(key)
            if figures is None:
                figures = computed[key] = type_figures(
                    policy, table, risk_class, base, insurance_type
                )
            target[(enrolment_id, insurance_type)] = Figures(person_id, base, *figures)
    return target


def type_figures(
    policy: Policy, table: dict, risk_class: int, base: Decimal, insurance_type: str
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(employer rate, personal rate, employer amount, personal amount) of one insurance type
    on a base already within the bounds: the one calculation of every bill line."""
    if insurance_type not in table:
        policy.rate(insurance_type, risk_class)  # raises RateNotFound
    employer_rate, personal_rate, employer_rule, personal_rule = table[insurance_type]
    return (
        employer_rate,
        personal_rate,
        round_amount(base * employer_rate, employer_rule),
        round_amount(base * personal_rate, personal_rule),
    )


def _fixed_sums(employer_id: int, month: datetime.date, bill_ids: list[int]) -> dict:
    """Per (enrolment, type): the sums of base and amounts over the bills no longer assessed."""
    if not bill_ids:
        return {}
    rows = (
        BillLine.objects.filter(employer_id=employer_id, month=month, bill_id__in=bill_ids)
        .values("enrolment_id", "insurance_type", "person_id")
        .annotate(
            base_sum=Sum("base"),
            employer_sum=Sum("employer_amount"),
            personal_sum=Sum("personal_amount"),
        )
        .order_by()
    )
    return {
        (row["enrolment_id"], row["insurance_type"]): Figures(
            row["person_id"],
            row["base_sum"],
            ZERO,
            ZERO,
            row["employer_sum"],
            row["personal_sum"],
        )
        for row in rows
    }


def _difference(target: dict, fixed: dict, table_rates: dict) -> dict[tuple[int, str], Figures]:
    """The lines a supplement needs: target minus what confirmed bills already hold."""
    lines = {}
    for key in sorted(target.keys() | fixed.keys()):
        wanted, held = target.get(key), fixed.get(key)
        employer = (wanted.employer_amount if wanted else ZERO) - (
            held.employer_amount if held else ZERO
        )
        personal = (wanted.personal_amount if wanted else ZERO) - (
            held.personal_amount if held else ZERO
        )
        if not (employer or personal):
            continue
        if wanted is not None:
            employer_rate, personal_rate = wanted.employer_rate, wanted.personal_rate
        else:
            employer_rate, personal_rate = table_rates.get(key[1], (ZERO, ZERO))
        lines[key] = Figures(
            (wanted or held).person_id,
            (wanted.base if wanted else ZERO) - (held.base if held else ZERO),
            employer_rate,
            personal_rate,
            employer,
            personal,
        )
    return lines


def _existing_lines(bill: MonthlyBill) -> dict[tuple[int, str], tuple[int, Figures]]:
    """Per (enrolment, type): the line's id and figures."""
    rows = BillLine.objects.filter(bill=bill).values_list(
        "pk",
        "enrolment_id",
        "insurance_type",
        "person_id",
        "base",
        "employer_rate",
        "personal_rate",
        "employer_amount",
        "personal_amount",
    )
    return {(row[1], row[2]): (row[0], Figures(*row[3:])) for row in rows}


def _replace_lines(bill: MonthlyBill, wanted: dict[tuple[int, str], Figures]) -> bool:
    """Make the bill's lines equal to ``wanted``, writing only the lines that differ.

    Returns False when nothing differed. When most lines change, all are replaced at once.
    """
    existing = _existing_lines(bill)
    stale = [pk for key, (pk, figures) in existing.items() if wanted.get(key) != figures]
    fresh = {
        key: figures
        for key, figures in wanted.items()
        if key not in existing or existing[key][1] != figures
    }
    if not stale and not fresh:
        return False
    if len(stale) > len(existing) // 2:
        BillLine.objects.filter(bill=bill).delete()
        _write_lines(bill, wanted, whole=True)
        return True
    for start in range(0, len(stale), BULK_BATCH):
        BillLine.objects.filter(pk__in=stale[start : start + BULK_BATCH]).delete()
    _write_lines(bill, fresh)
    return True


def _totals(month: datetime.date, lines: dict[tuple[int, str], Figures]) -> dict[str, Any]:
    """The bill's header sums of its lines (all of ``month``, as _line_rows writes them)."""
    employer = sum((figures.employer_amount for figures in lines.values()), ZERO)
    personal = sum((figures.personal_amount for figures in lines.values()), ZERO)
    return {
        "person_count": len({enrolment_id for enrolment_id, _type in lines}),
        "employer_total": employer,
        "personal_total": personal,
        "total": employer + personal,
        "type_totals": type_totals(
            (insurance_type, figures.employer_amount, figures.personal_amount)
            for (_enrolment_id, insurance_type), figures in lines.items()
        ),
        "line_sums": line_sums(
            (month, insurance_type, figures.base, figures.employer_amount, figures.personal_amount)
            for (_enrolment_id, insurance_type), figures in lines.items()
        ),
    }


LINE_ATTRS = (
    "bill_id",
    "employer_id",
    "month",
    "enrolment_id",
    "person_id",
    "insurance_type",
    "base",
    "employer_rate",
    "personal_rate",
    "employer_amount",
    "personal_amount",
    "position",
)


def _line_rows(bill: MonthlyBill, lines: dict[tuple[int, str], Figures], numbered: bool):
    for position, ((enrolment_id, insurance_type), figures) in enumerate(lines.items(), 1):
        yield (
            bill.pk,
            bill.employer_id,
            bill.month,
            enrolment_id,
            figures.person_id,
            insurance_type,
            figures.base,
            figures.employer_rate,
            figures.personal_rate,
            figures.employer_amount,
            figures.personal_amount,
            position if numbered else 0,
        )


def _write_lines(
    bill: MonthlyBill, lines: dict[tuple[int, str], Figures], *, whole: bool = False
) -> None:
    """Insert the lines: COPY on PostgreSQL (a 10,000-person unit has 40,000), else bulk_create;
    numbered in page order (BillLine.position).

    ``whole``: these are all the bill's lines (a new bill, or all its lines replaced): they are
    written in page order with their numbers (one query reads the order of the unit's persons'
    names). Else the bill's lines are numbered again after the insert (bill_lines_number):
    writing the numbers of lines just inserted costs as much again as inserting them."""
    if not lines:
        return
    numbered = False
    if whole:
        ordered = lines_in_page_order(bill, lines)
        if ordered is not None:
            lines, numbered = ordered, True
    connection = connections[BillLine.objects.db]
    if connection.vendor != "postgresql":
        BillLine.objects.bulk_create(
            [
                BillLine(**dict(zip(LINE_ATTRS, row, strict=True)))
                for row in _line_rows(bill, lines, numbered)
            ],
            batch_size=BULK_BATCH,
        )
    else:
        _copy_lines(connection, bill, lines, numbered)
    if not numbered:
        bill_lines_number([bill.pk])


def _copy_lines(
    connection, bill: MonthlyBill, lines: dict[tuple[int, str], Figures], numbered: bool
) -> None:
    """COPY the lines into the table (PostgreSQL)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(BillLine._meta.get_field(name).column) for name in LINE_ATTRS)
    statement = f"COPY {quote(BillLine._meta.db_table)} ({columns}) FROM STDIN"
    started = time.perf_counter()
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in _line_rows(bill, lines, numbered):
            copy.write_row(row)
    if connection.queries_logged:
        # COPY bypasses Django's cursor wrapper: log it, so that query counts stay honest.
        connection.queries_log.append(
            {
                "sql": f"{statement} -- {len(lines)} rows",
                "time": f"{time.perf_counter() - started:.3f}",
            }
        )


def _generate(
    *,
    employer_id: int,
    month: datetime.date,
    policy: Policy,
    rules: RegionRules,
    account,
    actor=None,
) -> BillResult:
    """Bring the unit's bills of the month in line with the data; call inside a transaction."""
    # Serialise generations of one unit (PostgreSQL row lock; SQLite serialises writers anyway):
    # the unique (employer, month, kind, sequence) constraint backs it.
    list(Employer.objects.select_for_update().filter(pk=employer_id).values_list("pk", flat=True))
    # 补缴申请 bills (kind BACKPAY) bill months outside what the engine bills: left alone.
    bills = list(
        MonthlyBill.objects.filter(employer_id=employer_id, month=month).exclude(
            kind=BillKind.BACKPAY
        )
    )
    open_bill = next((bill for bill in bills if bill.status == BillStatus.ASSESSED), None)
    fixed_ids = [bill.pk for bill in bills if bill.status != BillStatus.ASSESSED]
    target = _target_lines(employer_id, month, policy, rules, account)
    if fixed_ids:
        risk_class, work_injury_float = _account_terms(account)
        table = {
            key: value[:2]
            for key, value in _rate_table(policy, risk_class, work_injury_float).items()
        }
        wanted = _difference(target, _fixed_sums(employer_id, month, fixed_ids), table)
    else:
        wanted = target
    period = policy.period
    header = {
        "period_id": period.pk,
        "base_lower": period.base_lower,
        "base_upper": period.base_upper,
        **_totals(month, wanted),
    }

    if open_bill is not None:
        if open_bill.kind == BillKind.SUPPLEMENT and not wanted:
            _audit(open_bill, Outcome.WITHDRAWN, 0, actor)
            open_bill.delete()
            return BillResult(None, Outcome.WITHDRAWN)
        if open_bill.kind == BillKind.REGULAR:
            header["due_on"] = _due_on(month, rules)
        same_header = all(getattr(open_bill, key) == value for key, value in header.items())
        if not _replace_lines(open_bill, wanted) and same_header:
            return BillResult(open_bill, Outcome.UNCHANGED)
        for key, value in header.items():
            setattr(open_bill, key, value)
        open_bill.generated_at = timezone.now()
        open_bill.save(update_fields=[*header, "generated_at"])
        _audit(open_bill, Outcome.REPLACED, len(wanted), actor)
        return BillResult(open_bill, Outcome.REPLACED, len(wanted))

    if not bills:
        if not wanted:
            raise ValidationError(
                "%(month)s 没有应缴费的参保人员,未生成核定单",
                code="no_persons",
                params={"month": f"{month:%Y-%m}"},
            )
        kind, sequence, outcome = BillKind.REGULAR, 0, Outcome.CREATED
        due_on, note = _due_on(month, rules), ""
    else:
        if not wanted:
            regular = next((bill for bill in bills if bill.kind == BillKind.REGULAR), bills[0])
            return BillResult(regular, Outcome.UNCHANGED)
        kind, outcome = BillKind.SUPPLEMENT, Outcome.SUPPLEMENT
        sequence = max(bill.sequence for bill in bills) + 1
        due_on = _due_on(month_start(timezone.localdate()), rules)
        what = "补缴" if header["total"] >= 0 else "退费"
        note = f"缴费基数上下限调整或参保信息变更后的{what}"
    bill = MonthlyBill.objects.create(
        reference=new_reference("HD"),
        employer_id=employer_id,
        month=month,
        kind=kind,
        sequence=sequence,
        due_on=due_on,
        note=note,
        **header,
    )
    _write_lines(bill, wanted, whole=True)
    _audit(bill, outcome, len(wanted), actor)
    _tell_unit(bill)
    return BillResult(bill, outcome, len(wanted))


def _tell_unit(bill: MonthlyBill) -> None:
    """Put the new bill in the unit's 站内消息 (no SMS: every unit gets one each month)."""
    inbox_message_create(
        employer_id=bill.employer_id,
        template="bill_issued",
        category=InboxCategory.BILL,
        context={
            "reference": bill.reference,
            "month": f"{bill.month:%Y-%m}",
            "kind": "核定单" if bill.kind == BillKind.REGULAR else "补缴(退费)核定单",
            "persons": bill.person_count,
            "total": f"{bill.total:,.2f}",
            "employer_total": f"{bill.employer_total:,.2f}",
            "personal_total": f"{bill.personal_total:,.2f}",
            "due_on": f"{bill.due_on:%Y-%m-%d}",
            "note": bill.note,
        },
    )


def _audit(bill: MonthlyBill, outcome: str, lines: int, actor) -> None:
    audit_log(
        action="bill.generated",
        actor=actor,
        employer_id=bill.employer_id,
        obj=bill,
        details={
            "month": f"{bill.month:%Y-%m}",
            "kind": bill.kind,
            "sequence": bill.sequence,
            "outcome": outcome,
            "persons": bill.person_count,
            "lines": lines,
        },
    )


def _account_of(employer_id: int):
    return (
        ContributionAccount.objects.filter(employer_id=employer_id)
        .values_list("risk_class", "work_injury_float")
        .first()
    )


def _generate_unit(
    employer: Employer, month: datetime.date, *, actor=None, cache=None
) -> BillResult:
    cache = cache or PolicyCache()
    return _generate(
        employer_id=employer.pk,
        month=month,
        policy=cache.policy(employer.region, month),
        rules=cache.rules(employer.region_id),
        account=_account_of(employer.pk),
        actor=actor,
    )


@transaction.atomic
def bill_generate_outcome(*, employer: Employer, month: datetime.date, actor=None) -> BillResult:
    """Generate the unit's bills of the month like bill_generate; say what was done."""
    return _generate_unit(employer, _check_month(month), actor=actor)


@transaction.atomic
def bill_generate(*, employer: Employer, month: datetime.date, actor=None) -> MonthlyBill:
    """Generate (or bring up to date) the unit's bills of the month; return the bill written.

    Returns the regular bill, or the supplement made or updated when the regular bill was already
    confirmed. Regenerating with unchanged data writes nothing. Raises ValidationError for a
    future month, a month without a published policy, or a month nobody is billed for.
    """
    month = _check_month(month)
    result = _generate_unit(employer, month, actor=actor)
    if result.bill is None:  # a withdrawn supplement: the latest remaining bill stands
        return (
            MonthlyBill.objects.filter(employer=employer, month=month)
            .exclude(kind=BillKind.BACKPAY)
            .order_by("-sequence")
            .first()
        )
    return result.bill
