"""Writes of the contribution policy: periods, rates, rounding rules, imports, demo data."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from contributions.models import (
    MONEY_DECIMAL_PLACES,
    RATE_DECIMAL_PLACES,
    InsuranceType,
    PolicyPeriod,
    PolicyRate,
    RiskClass,
    RoundingMethod,
    RoundingRule,
    Side,
)
from portal.audit import audit_log
from portal.models import AuditEvent, Region

DEMO_NOTE = "演示数据:仿照北京市口径编制,非官方公布数字"


@dataclass(frozen=True)
class RateInput:
    insurance_type: str
    risk_class: int | None
    employer_rate: Decimal
    personal_rate: Decimal


@dataclass(frozen=True)
class RoundingInput:
    insurance_type: str
    side: str
    method: str


@dataclass
class PolicySaveResult:
    period: PolicyPeriod
    period_outcome: str  # created, updated or unchanged
    rates_created: int = 0
    rates_updated: int = 0
    rates_deleted: int = 0
    rates_unchanged: int = 0
    rounding_created: int = 0
    rounding_updated: int = 0
    rounding_unchanged: int = 0

    def counts(self) -> dict[str, Any]:
        return {
            "period": self.period_outcome,
            "rates_created": self.rates_created,
            "rates_updated": self.rates_updated,
            "rates_deleted": self.rates_deleted,
            "rates_unchanged": self.rates_unchanged,
            "rounding_created": self.rounding_created,
            "rounding_updated": self.rounding_updated,
            "rounding_unchanged": self.rounding_unchanged,
        }

    @property
    def changed(self) -> bool:
        return bool(
            self.period_outcome != "unchanged"
            or self.rates_created
            or self.rates_updated
            or self.rates_deleted
            or self.rounding_created
            or self.rounding_updated
        )


@transaction.atomic
def policy_period_save(
    *,
    region: Region,
    starts_on: datetime.date,
    ends_on: datetime.date,
    base_lower: Decimal,
    base_upper: Decimal,
    is_published: bool,
    note: str = "",
    rates: Sequence[RateInput],
    rounding: Sequence[RoundingInput] = (),
    actor=None,
    audit_action: str = "policy.saved",
    audit_unchanged: bool = False,
    audit_details: Mapping[str, Any] | None = None,
) -> PolicySaveResult:
    """Create or update the region's period starting on the date, with exactly these rates.

    A period is keyed by region and start date. Rates of the period not in ``rates`` are
    deleted; rounding rules are set for the region (insurance types and sides not given keep
    their rule). Overlapping another period is refused (ValidationError). Rows that already hold
    the given values are not written, so a repeated call changes nothing (and is audited only
    with ``audit_unchanged``, as an operator's import is).
    """
    # Serialise writers of one region's periods before the overlap check in clean().
    Region.objects.select_for_update().filter(pk=region.pk).first()
    period = PolicyPeriod.objects.filter(region=region, starts_on=starts_on).first()
    values = {
        "ends_on": ends_on,
        "base_lower": base_lower,
        "base_upper": base_upper,
        "is_published": is_published,
        "note": note,
    }
    if period is None:
        period = PolicyPeriod(region=region, starts_on=starts_on, **values)
        period.full_clean()
        period.save()
        outcome = "created"
    else:
        changed = [key for key, value in values.items() if getattr(period, key) != value]
        if changed:
            for key in changed:
                setattr(period, key, values[key])
            period.full_clean()
            if "is_published" in changed:
                changed.append("published_at")
            period.save(update_fields=[*changed, "updated_at"])
            outcome = "updated"
            _bills_recompute_if_bounds_changed(period, changed)
        else:
            outcome = "unchanged"
    result = PolicySaveResult(period=period, period_outcome=outcome)
    _rates_replace(period, rates, result)
    _rounding_set(region, rounding, result)
    if not (result.changed or audit_unchanged):
        return result
    audit_log(
        action=audit_action,
        actor=actor,
        obj=period,
        details={
            "region": region.code,
            "starts_on": f"{starts_on:%Y-%m-%d}",
            "ends_on": f"{ends_on:%Y-%m-%d}",
            **result.counts(),
            **(audit_details or {}),
        },
    )
    return result


def _bills_recompute_if_bounds_changed(period: PolicyPeriod, changed: Iterable[str]) -> None:
    if period.is_published and {"base_lower", "base_upper"} & set(changed):
        # Bills computed with the old bounds are recomputed (补缴/退费) after commit.
        from contributions.billing.runs import bills_recompute_on_commit

        bills_recompute_on_commit(period=period)


@transaction.atomic
def policy_period_admin_save(
    *, period: PolicyPeriod, changed: Iterable[str], created: bool
) -> PolicyPeriod:
    """Save a period a clerk edited in the admin (whose form has validated it); when the bounds
    of a published period changed, queue the recomputation of its bills after commit."""
    period.save()
    if not created:
        _bills_recompute_if_bounds_changed(period, changed)
    return period


def _rates_replace(
    period: PolicyPeriod, rates: Sequence[RateInput], result: PolicySaveResult
) -> None:
    existing = {(rate.insurance_type, rate.risk_class): rate for rate in period.rates.all()}
    wanted = set()
    for item in rates:
        key = (item.insurance_type, item.risk_class)
        wanted.add(key)
        rate = existing.get(key)
        if rate is None:
            rate = PolicyRate(
                period=period,
                insurance_type=item.insurance_type,
                risk_class=item.risk_class,
                employer_rate=item.employer_rate,
                personal_rate=item.personal_rate,
            )
            rate.full_clean()
            rate.save()
            result.rates_created += 1
        elif (rate.employer_rate, rate.personal_rate) != (item.employer_rate, item.personal_rate):
            rate.employer_rate = item.employer_rate
            rate.personal_rate = item.personal_rate
            rate.full_clean()
            rate.save(update_fields=["employer_rate", "personal_rate"])
            result.rates_updated += 1
        else:
            result.rates_unchanged += 1
    for key, rate in existing.items():
        if key not in wanted:
            rate.delete()
            result.rates_deleted += 1


def _rounding_set(
    region: Region, rounding: Sequence[RoundingInput], result: PolicySaveResult
) -> None:
    existing = {(rule.insurance_type, rule.side): rule for rule in region.rounding_rules.all()}
    for item in rounding:
        rule = existing.get((item.insurance_type, item.side))
        if rule is None:
            rule = RoundingRule(
                region=region,
                insurance_type=item.insurance_type,
                side=item.side,
                method=item.method,
            )
            rule.full_clean()
            rule.save()
            existing[(item.insurance_type, item.side)] = rule
            result.rounding_created += 1
        elif rule.method != item.method:
            rule.method = item.method
            rule.full_clean()
            rule.save(update_fields=["method"])
            result.rounding_updated += 1
        else:
            result.rounding_unchanged += 1


@transaction.atomic
def policy_admin_change_record(*, period: PolicyPeriod, request, action: str) -> None:
    """Record in the audit log a clerk's change of a policy period in the admin."""
    audit_log(
        action=action,
        request=request,
        obj=period,
        details={
            "region": period.region.code,
            "starts_on": f"{period.starts_on:%Y-%m-%d}",
            "ends_on": f"{period.ends_on:%Y-%m-%d}",
        },
    )


# ---------------------------------------------------------------------------------------------
# import_policy: one region's period per file, JSON or CSV (see the command's help).

PERIOD_FIELDS = ("region", "starts_on", "ends_on", "base_lower", "base_upper", "published", "note")
REQUIRED_PERIOD_FIELDS = ("region", "starts_on", "ends_on", "base_lower", "base_upper")
RATE_FIELDS = (
    "insurance_type",
    "risk_class",
    "employer_rate",
    "personal_rate",
    "employer_rounding",
    "personal_rounding",
)

_INSURANCE_TYPE_NAMES = {
    **{value: value for value in InsuranceType.values},
    **{str(label): value for value, label in InsuranceType.choices},
    "养老": InsuranceType.PENSION,
    "医疗": InsuranceType.MEDICAL,
    "医疗保险": InsuranceType.MEDICAL,
    "失业": InsuranceType.UNEMPLOYMENT,
    "工伤": InsuranceType.WORK_INJURY,
}
_RISK_CLASS_NAMES = {
    **{str(value): value for value in RiskClass.values},
    **{str(label): value for value, label in RiskClass.choices},
}
_ROUNDING_NAMES = {
    **{value: value for value in RoundingMethod.values},
    **{str(label): value for value, label in RoundingMethod.choices},
}
_TRUE = {"true", "1", "yes", "y", "是"}
_FALSE = {"false", "0", "no", "n", "否"}


@dataclass
class PolicyImportReport:
    errors: list[tuple[str, str]] = field(default_factory=list)
    result: PolicySaveResult | None = None

    def error(self, where: str, message: str) -> None:
        self.errors.append((where, message))


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _decimal(value: Any, places: int, what: str) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        # json.load with parse_float=Decimal never yields a float; a caller that passes one would
        # lose the exact published figure.
        raise ValidationError(f"{what}应写成十进制数字")
    try:
        number = value if isinstance(value, Decimal) else Decimal(_text(value))
    except InvalidOperation:
        raise ValidationError(f"{what}“{_text(value)}”不是数字") from None
    if not number.is_finite():
        raise ValidationError(f"{what}“{_text(value)}”不是数字")
    if number.as_tuple().exponent < -places:
        raise ValidationError(f"{what} {number} 最多 {places} 位小数")
    return number


def _date(value: Any, what: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(_text(value))
    except ValueError:
        raise ValidationError(f"{what}“{_text(value)}”应为 YYYY-MM-DD 格式") from None


def _parse_period(raw: Mapping[str, Any], regions: Mapping[str, Region]) -> dict[str, Any]:
    problems = []
    missing = [key for key in REQUIRED_PERIOD_FIELDS if not _text(raw.get(key))]
    if missing:
        raise ValidationError(f"缺少期间字段 {', '.join(missing)}")
    values: dict[str, Any] = {}
    code = _text(raw["region"])
    values["region"] = regions.get(code)
    if values["region"] is None:
        problems.append(f"统筹区代码 {code} 不存在,请先在后台添加统筹区")
    for key, what in (("starts_on", "起始日期"), ("ends_on", "截止日期")):
        try:
            values[key] = _date(raw[key], what)
        except ValidationError as exc:
            problems.extend(exc.messages)
    for key, what in (("base_lower", "缴费基数下限"), ("base_upper", "缴费基数上限")):
        try:
            values[key] = _decimal(raw[key], MONEY_DECIMAL_PLACES, what)
            if values[key] <= 0:
                problems.append(f"{what}应大于 0")
        except ValidationError as exc:
            problems.extend(exc.messages)
    published = raw.get("published", True)
    if isinstance(published, bool):
        values["is_published"] = published
    elif _text(published).lower() in _TRUE or _text(published) == "":
        values["is_published"] = True
    elif _text(published).lower() in _FALSE:
        values["is_published"] = False
    else:
        problems.append(f"published“{_text(published)}”应为 true 或 false")
    values["note"] = _text(raw.get("note"))
    if len(values["note"]) > 200:
        problems.append("备注不能超过 200 字")
    if "starts_on" in values and "ends_on" in values and values["ends_on"] < values["starts_on"]:
        problems.append("截止日期不能早于起始日期")
    lower, upper = values.get("base_lower"), values.get("base_upper")
    if lower is not None and upper is not None and lower > upper:
        problems.append(f"缴费基数下限 {lower} 高于上限 {upper}")
    if problems:
        raise ValidationError(problems)
    return values


def _parse_rate(raw: Mapping[str, Any]) -> tuple[RateInput, list[RoundingInput]]:
    problems = []
    name = _text(raw.get("insurance_type"))
    insurance_type = _INSURANCE_TYPE_NAMES.get(name)
    if insurance_type is None:
        allowed = "、".join(InsuranceType.values)
        raise ValidationError(f"未知险种“{name}”(可用 {allowed} 或其中文名称)")
    label = str(InsuranceType(insurance_type).label)
    risk_text = _text(raw.get("risk_class"))
    risk_class = None
    if insurance_type == InsuranceType.WORK_INJURY:
        if not risk_text:
            problems.append("工伤保险须填写行业风险类别 risk_class(1–8)")
        else:
            risk_class = _RISK_CLASS_NAMES.get(risk_text)
            if risk_class is None:
                problems.append(f"行业风险类别“{risk_text}”应为 1–8(一类至八类)")
    elif risk_text:
        problems.append(f"{label}不分行业风险类别,risk_class 应留空")
    rates = {}
    for key, what in (("employer_rate", "单位费率"), ("personal_rate", "个人费率")):
        raw_value = raw.get(key)
        if _text(raw_value) == "":
            if key == "employer_rate":
                problems.append(f"{label}缺少单位费率 employer_rate")
            rates[key] = Decimal("0")
            continue
        try:
            rate = _decimal(raw_value, RATE_DECIMAL_PLACES, f"{label}{what}")
        except ValidationError as exc:
            problems.extend(exc.messages)
            continue
        if rate < 0:
            problems.append(f"{label}{what} {rate} 不能为负数")
        elif rate > 1:
            problems.append(f"{label}{what} {rate} 大于 1:费率应写成小数形式,如 0.16 表示 16%")
        rates[key] = rate
    if insurance_type == InsuranceType.WORK_INJURY and rates.get("personal_rate"):
        problems.append("工伤保险无个人缴费,personal_rate 应为 0 或留空")
    rounding = []
    for side, key in ((Side.EMPLOYER, "employer_rounding"), (Side.PERSONAL, "personal_rounding")):
        text = _text(raw.get(key))
        if not text:
            continue
        method = _ROUNDING_NAMES.get(text)
        if method is None:
            allowed = "、".join(f"{value}({label})" for value, label in RoundingMethod.choices)
            problems.append(f"未知舍入规则“{text}”(可用 {allowed})")
        else:
            rounding.append(RoundingInput(insurance_type, str(side), method))
    if problems:
        raise ValidationError(problems)
    rate = RateInput(
        insurance_type=insurance_type,
        risk_class=risk_class,
        employer_rate=rates["employer_rate"],
        personal_rate=rates["personal_rate"],
    )
    return rate, rounding


def _check_rate_set(
    parsed: list[tuple[str, RateInput, list[RoundingInput]]], report: PolicyImportReport
) -> None:
    seen: dict[tuple[str, int | None], str] = {}
    for where, rate, _rounding in parsed:
        key = (rate.insurance_type, rate.risk_class)
        if key in seen:
            label = str(InsuranceType(rate.insurance_type).label)
            if rate.risk_class is not None:
                label += f"({RiskClass(rate.risk_class).label})"
            report.error(where, f"{label}的费率重复(已在{seen[key]}给出)")
        else:
            seen[key] = where
    types = {insurance_type for insurance_type, _class in seen}
    missing_types = [str(label) for value, label in InsuranceType.choices if value not in types]
    if missing_types:
        report.error("费率", f"缺少险种:{'、'.join(missing_types)}(每个期间须给出全部险种)")
    if InsuranceType.WORK_INJURY in types:
        classes = {risk for insurance_type, risk in seen if insurance_type == "work_injury"}
        missing_classes = [str(label) for value, label in RiskClass.choices if value not in classes]
        if missing_classes:
            report.error(
                "费率",
                f"工伤保险缺少行业风险类别:{'、'.join(missing_classes)}(须给出一类至八类)",
            )
    chosen: dict[tuple[str, str], tuple[str, str]] = {}
    for where, _rate, rounding in parsed:
        for item in rounding:
            key = (item.insurance_type, item.side)
            earlier = chosen.get(key)
            if earlier is not None and earlier[1] != item.method:
                report.error(where, f"同一险种和缴费方的舍入规则与{earlier[0]}不一致")
            chosen.setdefault(key, (where, item.method))


def policy_period_import(
    *,
    period: Mapping[str, Any],
    rates: Iterable[tuple[str, Mapping[str, Any]]],
    period_where: str = "期间",
    source: str = "",
    actor=None,
) -> PolicyImportReport:
    """Check and load one region's period with its rates and rounding rules, all or nothing.

    ``period`` holds the period fields, ``rates`` the (where, entry) pairs of the rate entries;
    ``where`` names the line or entry in the messages. Any error leaves the database as it was.
    Idempotent: loading the same file again changes nothing.
    """
    report = PolicyImportReport()
    regions = {region.code: region for region in Region.objects.all()}
    period_values = None
    try:
        period_values = _parse_period(period, regions)
    except ValidationError as exc:
        for message in exc.messages:
            report.error(period_where, message)
    parsed = []
    for where, raw in rates:
        try:
            rate, rounding = _parse_rate(raw)
        except ValidationError as exc:
            for message in exc.messages:
                report.error(where, message)
            continue
        parsed.append((where, rate, rounding))
    if not parsed and not report.errors:
        report.error("费率", "文件中没有费率")
    elif not report.errors:
        _check_rate_set(parsed, report)
    if not report.errors:
        rounding_rules = {}
        for _where, _rate, rounding in parsed:
            for item in rounding:
                rounding_rules.setdefault((item.insurance_type, item.side), item)
        try:
            report.result = policy_period_save(
                **period_values,
                rates=[rate for _where, rate, _rounding in parsed],
                rounding=list(rounding_rules.values()),
                actor=actor,
                audit_action="policy.imported",
                audit_unchanged=True,
                audit_details={"source": source},
            )
        except ValidationError as exc:
            for message in exc.messages:
                report.error(period_where, message)
    if report.errors:
        with transaction.atomic():
            audit_log(
                action="policy.imported",
                actor=actor,
                outcome=AuditEvent.Outcome.FAILURE,
                details={"source": source, "errors": len(report.errors)},
            )
    return report


# ---------------------------------------------------------------------------------------------
# Demo data (manage.py seed_demo): Beijing-like figures, labelled as demo data everywhere.

DEMO_WORK_INJURY_RATES = ["0.002", "0.004", "0.007", "0.009", "0.011", "0.013", "0.016", "0.019"]
DEMO_PERIODS = [
    # starts_on, ends_on, base_lower, base_upper
    (datetime.date(2025, 7, 1), datetime.date(2026, 6, 30), "7162.00", "35811.00"),
    (datetime.date(2026, 7, 1), datetime.date(2027, 6, 30), "7520.00", "37600.00"),
]


def _demo_rates() -> list[RateInput]:
    rates = [
        RateInput(InsuranceType.PENSION, None, Decimal("0.16"), Decimal("0.08")),
        RateInput(InsuranceType.MEDICAL, None, Decimal("0.098"), Decimal("0.02")),
        RateInput(InsuranceType.UNEMPLOYMENT, None, Decimal("0.005"), Decimal("0.005")),
    ]
    rates += [
        RateInput(InsuranceType.WORK_INJURY, risk_class, Decimal(rate), Decimal("0"))
        for risk_class, rate in zip(RiskClass.values, DEMO_WORK_INJURY_RATES, strict=True)
    ]
    return rates


def policy_seed_demo(*, region: Region, actor=None) -> list[PolicySaveResult]:
    """Load demo policy figures for the region (idempotent); they are not official figures."""
    rounding = [
        RoundingInput(insurance_type, side, RoundingMethod.HALF_UP_CENT)
        for insurance_type in InsuranceType.values
        for side in Side.values
        if not (insurance_type == InsuranceType.WORK_INJURY and side == Side.PERSONAL)
    ]
    results = []
    with transaction.atomic():
        for starts_on, ends_on, lower, upper in DEMO_PERIODS:
            results.append(
                policy_period_save(
                    region=region,
                    starts_on=starts_on,
                    ends_on=ends_on,
                    base_lower=Decimal(lower),
                    base_upper=Decimal(upper),
                    is_published=True,
                    note=DEMO_NOTE,
                    rates=_demo_rates(),
                    rounding=rounding,
                    actor=actor,
                    audit_action="policy.demo_seeded",
                )
            )
    return results
