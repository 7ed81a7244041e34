"""缴费基数申报: reads and writes of base declarations, always scoped to the agent's unit.

A declaration holds one line per employee: the monthly wage the agent typed and the base
declared from it. A wage outside the period's bounds is refused, unless the agent asked to
adjust it to the nearest bound; then the line keeps the wage, declares the bound and is marked
``adjusted_to_bound``. Where the region requires it (RegionContributionSettings, review when no
row exists) the declaration goes through the review workflow (portal.review); otherwise, and on
approval, it is applied: each line becomes the ContributionBase of its enrolment and period.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from contributions.common import new_reference
from contributions.declarations.rules import bounds_message, clamp, in_bounds, parse_amount
from contributions.declarations.selectors import (
    active_enrolments,
    open_declaration,
    previous_period,
    region_requires_review,
)
from contributions.models import (
    BaseDeclaration,
    BaseDeclarationLine,
    ContributionBase,
    PolicyPeriod,
)
from employers.models import Employer
from portal.audit import audit_log
from portal.review import review_submit

REFERENCE_PREFIX = "JS"  # 缴费基数申报


BULK_BATCH = 1000


@dataclass(frozen=True)
class LineInput:
    """One employee's declared wage; ``adjust`` asks for the nearest bound when outside."""

    enrolment_id: int
    wage: Decimal
    adjust: bool = False


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


def _existing_for(key: uuid.UUID, employer_id: int) -> BaseDeclaration | None:
    """The declaration this submission key already made for the unit; another unit's key is
    refused, never returned."""
    existing = BaseDeclaration.objects.filter(idempotency_key=key).first()
    if existing is not None and existing.employer_id != employer_id:
        raise ValidationError(_("提交标识无效,请刷新页面后重新填写。"), code="bad_key")
    return existing


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
    existing = _existing_for(key, agent.employer_id)
    if existing is not None:
        return existing
    if source not in BaseDeclaration.Source.values:
        raise ValueError(f"unknown source: {source!r}")
    # Serialise the unit's declarations: of two concurrent submissions one sees the other.
    employer = (
        Employer.objects.select_for_update().select_related("region").get(pk=agent.employer_id)
    )
    if period.region_id != employer.region_id or not period.is_published:
        raise ValidationError(_("所选政策期间不适用于本单位,请重新选择。"), code="period")
    existing = _existing_for(key, employer.pk)
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
        existing = _existing_for(key, employer.pk)
        if existing is not None:
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


def lines_from_pairs(pairs: Iterable[tuple[int, Decimal, bool]]) -> list[LineInput]:
    return [LineInput(int(e), Decimal(w), bool(a)) for e, w, a in pairs]
