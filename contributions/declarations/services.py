"""缴费基数申报: reads and writes of base declarations, always scoped to the agent's unit.

A declaration holds one line per employee: the monthly wage the agent typed and the base
declared from it. A wage outside the period's bounds is refused, unless the agent asked to
adjust it to the nearest bound; then the line keeps the wage, declares the bound and is marked
``adjusted_to_bound``. Where the region requires it (RegionContributionSettings, review when no
row exists) the declaration goes through the review workflow (portal.review); otherwise, and on
approval, it is applied: each line becomes the ContributionBase of its enrolment and period.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from contributions.common import new_reference
from contributions.models import (
    MONEY_MAX_DIGITS,
    BaseDeclaration,
    BaseDeclarationLine,
    ContributionBase,
    PolicyPeriod,
    RegionContributionSettings,
)
from employers.models import Employer
from enrollment.models import Enrolment
from portal.audit import audit_log
from portal.models import OPEN_REVIEW_STATES, Notification, ReviewState
from portal.review import review_submit

REFERENCE_PREFIX = "JS"  # 缴费基数申报
CENT = Decimal("0.01")
# DecimalField(max_digits=12, decimal_places=2): ten digits before the point.
MONEY_LIMIT = Decimal(10) ** (MONEY_MAX_DIGITS - 2)
BULK_BATCH = 1000


# ---------------------------------------------------------------------------------------------
# Amounts and bounds (shared by the screen form, the Excel upload and the service)


def parse_amount(value) -> Decimal:
    """Parse a typed monthly wage in yuan; raise ValidationError with a message for the user."""
    if isinstance(value, float):
        value = repr(value)
    text = str(value if value is not None else "").strip().replace(",", "").replace("元", "")
    text = text.replace("\uff0c", "").replace(" ", "")
    if not text:
        raise ValidationError(_("请填写月平均工资(缴费基数)。"), code="required")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValidationError(
            _("“%(value)s”不是有效的金额,请填写数字,如 8000 或 8000.50。") % {"value": text[:20]},
            code="invalid",
        )
    if amount < 0:
        raise ValidationError(_("金额不能为负数。"), code="negative")
    if amount == 0:
        raise ValidationError(_("金额应大于 0。"), code="zero")
    if amount >= MONEY_LIMIT:
        raise ValidationError(_("金额过大,请检查是否多输了数字。"), code="too_large")
    if amount != amount.quantize(CENT):
        raise ValidationError(_("金额最多保留两位小数(到分)。"), code="decimals")
    return amount.quantize(CENT)


def bounds_message(period: PolicyPeriod) -> str:
    return _(
        "缴费基数应在 %(lower)s 元至 %(upper)s 元之间(本期缴费基数下限 %(lower)s 元,"
        "上限 %(upper)s 元)。可修改,或点击“一键调整到上下限”。"
    ) % {"lower": period.base_lower, "upper": period.base_upper}


def in_bounds(period: PolicyPeriod, amount: Decimal) -> bool:
    return period.base_lower <= amount <= period.base_upper


def clamp(period: PolicyPeriod, amount: Decimal) -> Decimal:
    """The nearest bound for an amount outside them; the amount itself otherwise."""
    return min(max(amount, period.base_lower), period.base_upper)


# ---------------------------------------------------------------------------------------------
# Selectors


def declaration_periods(region) -> list[PolicyPeriod]:
    """The region's published periods, newest first (what a declaration may be for)."""
    return list(
        PolicyPeriod.objects.filter(region=region, is_published=True).order_by("-starts_on")
    )


def default_period(periods: Sequence[PolicyPeriod], today: datetime.date | None = None):
    """The next period when it is published already (declaring ahead), else the current one,
    else the newest."""
    today = today or timezone.localdate()
    upcoming = [p for p in periods if p.starts_on > today]
    if upcoming:
        return min(upcoming, key=lambda p: p.starts_on)
    current = [p for p in periods if p.starts_on <= today <= p.ends_on]
    if current:
        return current[0]
    return periods[0] if periods else None


def period_get_for_agent(*, agent, period_id) -> PolicyPeriod:
    """A published period of the agent's region; 404 otherwise."""
    try:
        period_id = int(period_id)
    except (TypeError, ValueError):
        period_id = 0
    return get_object_or_404(
        PolicyPeriod.objects.select_related("region"),
        pk=period_id,
        region_id=agent.employer.region_id,
        is_published=True,
    )


def previous_period(period: PolicyPeriod) -> PolicyPeriod | None:
    return (
        PolicyPeriod.objects.filter(region_id=period.region_id, starts_on__lt=period.starts_on)
        .order_by("-starts_on")
        .first()
    )


def active_enrolments(employer_id: int) -> QuerySet[Enrolment]:
    """The unit's enrolments a declaration covers: 正常 (active) ones."""
    return Enrolment.objects.filter(employer_id=employer_id, status=Enrolment.Status.ACTIVE)


def active_enrolment_count(*, agent) -> int:
    return active_enrolments(agent.employer_id).count()


@dataclass
class DeclarationRow:
    enrolment: Enrolment
    previous_base: Decimal
    current: Decimal  # the value the input starts with

    @property
    def person(self):
        return self.enrolment.person


def declaration_rows(*, agent, period: PolicyPeriod) -> list[DeclarationRow]:
    """Each active employee with the previous period's base (else the enrolment's wage) and
    what this period already has (else the previous base): three queries in all."""
    enrolments = list(
        active_enrolments(agent.employer_id)
        .select_related("person")
        .only(
            "pk",
            "contribution_base",
            "person__name",
            "person__document_type",
            "person__document_number",
            "person__document_index",
        )
        .order_by("pk")
    )
    before = previous_period(period)
    previous = {}
    if before is not None:
        previous = dict(
            ContributionBase.objects.filter(
                period=before, enrolment__in=active_enrolments(agent.employer_id)
            ).values_list("enrolment_id", "base")
        )
    current = dict(
        ContributionBase.objects.filter(
            period=period, enrolment__in=active_enrolments(agent.employer_id)
        ).values_list("enrolment_id", "base")
    )
    rows = []
    for enrolment in enrolments:
        prev = previous.get(enrolment.pk, enrolment.contribution_base)
        rows.append(DeclarationRow(enrolment, prev, current.get(enrolment.pk, prev)))
    return rows


def open_declaration(*, employer_id: int, period_id: int) -> BaseDeclaration | None:
    return (
        BaseDeclaration.objects.filter(
            employer_id=employer_id, period_id=period_id, review_state__in=OPEN_REVIEW_STATES
        )
        .order_by("-created_at")
        .first()
    )


def latest_declaration(*, agent, period: PolicyPeriod) -> BaseDeclaration | None:
    return (
        BaseDeclaration.objects.filter(employer_id=agent.employer_id, period=period)
        .order_by("-created_at", "-pk")
        .first()
    )


def declaration_list_for_agent(*, agent) -> QuerySet[BaseDeclaration]:
    """The unit's declarations, newest first, with their period and line count (one query)."""
    return (
        BaseDeclaration.objects.filter(employer_id=agent.employer_id)
        .select_related("period", "submitted_by")
        .annotate(line_count=Count("lines"))
        .order_by("-created_at", "-pk")
    )


def declaration_get_for_agent(*, agent, reference: str) -> BaseDeclaration:
    """One declaration of the agent's unit; 404 whether it is missing or another unit's."""
    return get_object_or_404(
        BaseDeclaration.objects.select_related("period__region", "submitted_by"),
        reference=reference,
        employer_id=agent.employer_id,
    )


def declaration_lines(declaration: BaseDeclaration) -> QuerySet[BaseDeclarationLine]:
    return (
        BaseDeclarationLine.objects.filter(declaration=declaration)
        .select_related("enrolment__person")
        .order_by("pk")
    )


def declaration_state_label(declaration: BaseDeclaration) -> str:
    if declaration.applied_at:
        return _("已生效")
    if declaration.review_state:
        return str(ReviewState(declaration.review_state).label)
    return _("未提交")


# ---------------------------------------------------------------------------------------------
# Services


@dataclass(frozen=True)
class LineInput:
    """One employee's declared wage; ``adjust`` asks for the nearest bound when outside."""

    enrolment_id: int
    wage: Decimal
    adjust: bool = False


def region_requires_review(region) -> bool:
    settings_row = RegionContributionSettings.objects.filter(region=region).first()
    return True if settings_row is None else settings_row.declaration_requires_review


def _lines_check(*, employer: Employer, period: PolicyPeriod, lines: Sequence[LineInput]):
    """Check each line; return BaseDeclarationLine objects (unsaved) or raise all messages."""
    if not lines:
        raise ValidationError(_("没有需要申报的人员。"), code="empty")
    active = dict(active_enrolments(employer.pk).values_list("pk", "contribution_base"))
    before = previous_period(period)
    previous = {}
    if before is not None:
        previous = dict(
            ContributionBase.objects.filter(
                period=before, enrolment__in=active_enrolments(employer.pk)
            ).values_list("enrolment_id", "base")
        )
    errors, built, seen = [], [], set()
    for line in lines:
        if line.enrolment_id not in active:
            errors.append(_("人员编号 %s 不是本单位正常参保的职工。") % line.enrolment_id)
            continue
        if line.enrolment_id in seen:
            errors.append(_("人员编号 %s 重复申报。") % line.enrolment_id)
            continue
        seen.add(line.enrolment_id)
        try:
            wage = parse_amount(line.wage)
        except ValidationError as exc:
            errors.append(
                _("人员编号 %(id)s:%(message)s")
                % {"id": line.enrolment_id, "message": exc.messages[0]}
            )
            continue
        adjusted = False
        declared = wage
        if not in_bounds(period, wage):
            if not line.adjust:
                errors.append(
                    _("人员编号 %(id)s:%(message)s")
                    % {"id": line.enrolment_id, "message": bounds_message(period)}
                )
                continue
            declared, adjusted = clamp(period, wage), True
        built.append(
            BaseDeclarationLine(
                enrolment_id=line.enrolment_id,
                previous_base=previous.get(line.enrolment_id, active[line.enrolment_id]),
                declared_base=declared,
                wage=wage,
                adjusted_to_bound=adjusted,
            )
        )
    if errors:
        raise ValidationError(errors[:50])
    return built


def _refuse_open(employer_id: int, period: PolicyPeriod) -> None:
    pending = open_declaration(employer_id=employer_id, period_id=period.pk)
    if pending is not None:
        raise ValidationError(
            _(
                "本单位该期间的缴费基数申报(业务编号 %(reference)s)正在审核中,"
                "审核结束后才能再次申报。"
            )
            % {"reference": pending.reference},
            code="open_declaration",
        )


@transaction.atomic
def base_declaration_submit(
    *,
    agent,
    period: PolicyPeriod,
    lines: Sequence[LineInput],
    source: str,
    idempotency_key: uuid.UUID | str,
    request=None,
) -> BaseDeclaration:
    """Check and file a declaration: into review where the region asks, else applied at once.

    One declaration per key (a double submission returns the first); one open declaration per
    unit and period.
    """
    try:
        key = uuid.UUID(str(idempotency_key))
    except ValueError:
        raise ValidationError(_("提交标识无效,请刷新页面后重新填写。"), code="bad_key") from None
    existing = BaseDeclaration.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if existing.employer_id != agent.employer_id:
            raise ValidationError(_("提交标识无效,请刷新页面后重新填写。"), code="bad_key")
        return existing
    if source not in BaseDeclaration.Source.values:
        raise ValueError(f"unknown source: {source!r}")
    # Serialise the unit's declarations: of two concurrent submissions one sees the other.
    employer = (
        Employer.objects.select_for_update().select_related("region").get(pk=agent.employer_id)
    )
    if period.region_id != employer.region_id or not period.is_published:
        raise ValidationError(_("所选政策期间不适用于本单位,请重新选择。"), code="period")
    existing = BaseDeclaration.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    _refuse_open(employer.pk, period)
    built = _lines_check(employer=employer, period=period, lines=lines)
    try:
        with transaction.atomic():
            declaration = BaseDeclaration.objects.create(
                reference=new_reference(REFERENCE_PREFIX),
                employer=employer,
                period=period,
                submitted_by=agent,
                source=source,
                idempotency_key=key,
                review_region=employer.region,
            )
    except IntegrityError:
        existing = BaseDeclaration.objects.filter(idempotency_key=key).first()
        if existing is not None and existing.employer_id == employer.pk:
            return existing
        raise
    for line in built:
        line.declaration = declaration
    BaseDeclarationLine.objects.bulk_create(built, batch_size=BULK_BATCH)
    audit_log(
        action="contributions.declaration_submitted",
        actor=agent.user,
        employer_id=employer.pk,
        obj=declaration,
        request=request,
        details={
            "reference": declaration.reference,
            "period": period.pk,
            "lines": len(built),
            "adjusted": sum(1 for line in built if line.adjusted_to_bound),
            "source": source,
        },
    )
    if region_requires_review(employer.region):
        review_submit(item=declaration, actor=agent.user, request=request)
    else:
        declaration_apply(declaration=declaration, actor=agent.user, request=request)
    return declaration


def _bases_update(rows: list[ContributionBase]) -> None:
    """Write base, declaration and updated_at of existing rows: one UPDATE ... FROM (VALUES)
    per chunk (PostgreSQL, SQLite 3.33+). Django's bulk_update builds a CASE per row, which
    took over a minute for 10,000 rows."""
    opts = ContributionBase._meta
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    columns = {name: quote(opts.get_field(name).column) for name in ("base", "declaration")}
    for start in range(0, len(rows), BULK_BATCH):
        chunk = rows[start : start + BULK_BATCH]
        params = [
            chunk[0].declaration_id,
            connection.ops.adapt_datetimefield_value(chunk[0].updated_at),
        ]
        for row in chunk:
            params += [row.pk, connection.ops.adapt_decimalfield_value(row.base, 12, 2)]
        values = ", ".join(["(%s, %s)"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {columns['base']} = v.column2, "  # noqa: S608 — names quoted
                f"{columns['declaration']} = %s, {quote('updated_at')} = %s "
                f"FROM (VALUES {values}) AS v WHERE {table}.{quote('id')} = v.column1",
                params,
            )


def declaration_apply(*, declaration: BaseDeclaration, actor=None, request=None) -> int:
    """Make each line the ContributionBase of its enrolment and period (once); return count."""
    if declaration.applied_at is not None:
        return 0
    lines = list(
        BaseDeclarationLine.objects.filter(declaration=declaration).values_list(
            "enrolment_id", "declared_base"
        )
    )
    existing = {
        row.enrolment_id: row
        for row in ContributionBase.objects.filter(
            period_id=declaration.period_id, enrolment_id__in=[e for e, _b in lines]
        )
    }
    to_create, to_update = [], []
    now = timezone.now()
    for enrolment_id, base in lines:
        row = existing.get(enrolment_id)
        if row is None:
            to_create.append(
                ContributionBase(
                    enrolment_id=enrolment_id,
                    period_id=declaration.period_id,
                    base=base,
                    declaration=declaration,
                )
            )
        else:
            row.base, row.declaration, row.updated_at = base, declaration, now
            to_update.append(row)
    user = actor if actor is not None and getattr(actor, "pk", None) else None
    if to_create:
        bulk_create_with_history(
            to_create, ContributionBase, batch_size=BULK_BATCH, default_user=user
        )
    if to_update:
        _bases_update(to_update)
        # The rows are written above; this records their new versions in the history.
        bulk_update_with_history(
            to_update, ContributionBase, [], batch_size=BULK_BATCH, default_user=user
        )
    declaration.applied_at = timezone.now()
    declaration.save(update_fields=["applied_at", "updated_at"])
    audit_log(
        action="contributions.declaration_applied",
        actor=actor,
        employer_id=declaration.employer_id,
        obj=declaration,
        request=request,
        details={
            "reference": declaration.reference,
            "created": len(to_create),
            "updated": len(to_update),
        },
    )
    return len(lines)


# ---------------------------------------------------------------------------------------------
# Review hooks (called from BaseDeclaration's methods)


def _check(key: str, label: str, passed: bool, detail: str = "") -> dict:
    return {"key": key, "label": label, "passed": bool(passed), "detail": detail}


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
        _check(
            "bases_in_bounds",
            _("缴费基数均在上下限内"),
            outside == 0,
            _("%(count)d 人超出 %(lower)s 至 %(upper)s 元")
            % {"count": outside, "lower": period.base_lower, "upper": period.base_upper}
            if outside
            else "",
        ),
        _check(
            "persons_active",
            _("申报人员均为本单位正常参保职工"),
            gone == 0,
            _("%d 人已不是本单位正常参保职工") % gone if gone else "",
        ),
        _check(
            "no_adjustment",
            _("无按上下限调整的人员"),
            adjusted == 0,
            _("%d 人的工资超出上下限,已按上下限申报") % adjusted if adjusted else "",
        ),
    ]


def declaration_on_decided(declaration: BaseDeclaration, *, actor, decision: str) -> None:
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


def declaration_summary(declaration: BaseDeclaration) -> str:
    period = declaration.period
    return _("%(unit)s %(start)s至%(end)s 缴费基数申报") % {
        "unit": declaration.employer.name,
        "start": f"{period.starts_on:%Y-%m}",
        "end": f"{period.ends_on:%Y-%m}",
    }


def lines_from_pairs(pairs: Iterable[tuple[int, Decimal, bool]]) -> list[LineInput]:
    return [LineInput(int(e), Decimal(w), bool(a)) for e, w, a in pairs]
