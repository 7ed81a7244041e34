"""The checks an add-employee filing must pass, as pure functions (DESIGN.md §9).

Each raises ValidationError with a dict keyed by the form field it concerns, so a form shows
the message next to that field; the screen, the batch import and the services all call these.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contributions.policy.reference import validate_base
from enrollment.models import (
    AddEmployeeFiling,
    CouplingRule,
    DocumentType,
    Enrolment,
    HukouType,
    InsuranceCode,
    Person,
    RegionEnrolmentSettings,
)
from portal.compiled_sql import CompiledQuery
from portal.crypto import blind_index
from portal.identifiers import (
    normalise_resident_id,
    validate_resident_id,
)

MIN_WORKING_AGE = 16  # 《劳动法》第十五条: no employment under 16
MAX_WORKING_AGE = 70  # beyond this an enrolment is almost certainly a typing error
OTHER_UNIT_MESSAGE = gettext_lazy("该人员在其他单位参保中,需原单位办理减员后再增员")
DEFAULT_BACKDATE_MONTHS = 3
DEFAULT_FILING_DEADLINE_DAYS = 30


def first_of_month(value: datetime.date) -> datetime.date:
    return value.replace(day=1)


def add_months(value: datetime.date, months: int) -> datetime.date:
    index = value.year * 12 + value.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def age_on(birth_date: datetime.date, on: datetime.date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def person_facts(
    *,
    document_type: str,
    document_number: str,
    sex: str = "",
    birth_date: datetime.date | None = None,
    today: datetime.date,
) -> tuple[str, str, datetime.date]:
    """Return (normalised number, sex, birth date); a resident ID supplies sex and birth date."""
    number = "".join(str(document_number).split()).upper()
    if not number:
        raise ValidationError({"document_number": _("请填写证件号码。")}, code="required")
    if document_type == DocumentType.RESIDENT_ID:
        try:
            validate_resident_id(number)
        except ValidationError as exc:
            raise ValidationError({"document_number": exc.messages}) from None
        number = normalise_resident_id(number)
        # The number is valid: read sex and birth date straight from it (resident_id_sex and
        # resident_id_birth_date would each validate it again; the batch import does 10,000).
        sex = "male" if int(number[16]) % 2 else "female"
        birth_date = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    else:
        errors = {}
        if len(number) < 5 or len(number) > 30 or not number.isalnum():
            errors["document_number"] = _("证件号码应为5至30位字母或数字。")
        if sex not in ("male", "female"):
            errors["sex"] = _("非居民身份证须选择性别。")
        if birth_date is None:
            errors["birth_date"] = _("非居民身份证须填写出生日期。")
        if errors:
            raise ValidationError(errors, code="document")
    age = age_on(birth_date, today)
    if not MIN_WORKING_AGE <= age <= MAX_WORKING_AGE:
        field = "document_number" if document_type == DocumentType.RESIDENT_ID else "birth_date"
        raise ValidationError(
            {
                field: _(
                    "按出生日期该人员现年 %(age)d 岁,"
                    "不在 %(low)d 至 %(high)d 岁的劳动年龄内,请核对。"
                )
                % {"age": age, "low": MIN_WORKING_AGE, "high": MAX_WORKING_AGE}
            },
            code="working_age",
        )
    return number, sex, birth_date


def hukou_check(*, document_type: str, nationality: str, hukou_type: str) -> None:
    """港澳台 residents and foreigners have no 户籍; a resident ID holder has one."""
    without_hukou = document_type != DocumentType.RESIDENT_ID
    if without_hukou and hukou_type != HukouType.NONE:
        raise ValidationError(
            {"hukou_type": _("港澳台居民和外籍人员的户籍类型应选“无”。")}, code="hukou"
        )
    if not without_hukou and hukou_type == HukouType.NONE:
        raise ValidationError(
            {"hukou_type": _("持居民身份证人员请选择本市或外埠、城镇或农村户籍。")}, code="hukou"
        )
    if document_type == DocumentType.PASSPORT and nationality.strip() in ("", "中国"):
        raise ValidationError(
            {"nationality": _("持护照参保的外籍人员请填写国籍。")}, code="nationality"
        )


# Read on every add-employee filing: its SQL compiled once per process (one row per region).
_REGION_SETTINGS = CompiledQuery(
    lambda region: RegionEnrolmentSettings.objects.filter(region_id=region).values_list(
        "backdate_months", "filing_deadline_days"
    ),
    "region",
)


def region_settings(region) -> tuple[int, int]:
    """(back-dating months, filing deadline days) for the region (an instance or its id)."""
    rows = _REGION_SETTINGS.rows(region=getattr(region, "pk", region))
    if not rows:
        return DEFAULT_BACKDATE_MONTHS, DEFAULT_FILING_DEADLINE_DAYS
    return rows[0]


def start_month_check(
    *,
    start_month: datetime.date,
    unit_opened_on: datetime.date,
    today: datetime.date,
    backdate_months: int,
) -> list[str]:
    """Refuse impossible start months; return flags for the clerk (back-dated)."""
    start = first_of_month(start_month)
    current = first_of_month(today)
    if start < first_of_month(unit_opened_on):
        raise ValidationError(
            {
                "start_month": _("参保起始年月不能早于单位开户年月(%s)。")
                % unit_opened_on.strftime("%Y-%m")
            },
            code="before_unit",
        )
    if start > add_months(current, 1):
        raise ValidationError(
            {
                "start_month": _("参保起始年月最晚为下月(%s)。")
                % add_months(current, 1).strftime("%Y-%m")
            },
            code="too_late",
        )
    if start < current:
        earliest = add_months(current, -backdate_months)
        if start < earliest:
            raise ValidationError(
                {
                    "start_month": _(
                        "本统筹区网上最多可补登记 %(n)d 个月(最早 %(earliest)s);"
                        "更早的请到经办窗口办理补缴。"
                    )
                    % {"n": backdate_months, "earliest": earliest.strftime("%Y-%m")}
                },
                code="backdate_limit",
            )
        return [AddEmployeeFiling.Flag.BACKDATED]
    return []


def late_filing_flags(
    *, employment_start: datetime.date | None, today: datetime.date, deadline_days: int
) -> list[str]:
    """Flag filings made later than the deadline after employment began (社会保险法第五十八条)."""
    if employment_start is None:
        return []
    if employment_start > today:
        raise ValidationError({"employment_start": _("用工日期不能晚于今天。")}, code="future")
    if (today - employment_start).days > deadline_days:
        return [AddEmployeeFiling.Flag.LATE]
    return []


def base_check(*, region, start_month: datetime.date, base: Decimal) -> None:
    """The declared monthly wage must lie within the region's published bounds for that month."""
    try:
        validate_base(region, first_of_month(start_month), base)
    except ValidationError as exc:  # out of bounds, or PolicyError: no published bounds
        raise ValidationError({"contribution_base": exc.messages}, code="base") from None


# Read on every add-employee filing: the SQL of both compiled once per process.
_COUPLING_RULES = CompiledQuery(
    lambda region, hukou_type, employment_form_code: (
        CouplingRule.objects.filter(Q(region=region) | Q(region__isnull=True))
        .filter(
            Q(hukou_type="") | Q(hukou_type=hukou_type),
            Q(employment_form_code="") | Q(employment_form_code=employment_form_code),
        )
        .values_list("allowed_codes", "required_codes", "message")
    ),
    "region",
    hukou_type=str,
    employment_form_code=str,
)
# The person of a document, as .first() reads it (by id): whole rows, built as the ORM builds them.
_PERSON_OF_DOCUMENT = CompiledQuery(
    lambda document_type, document_index: Person.objects.filter(
        document_type=document_type, document_index=document_index
    ).order_by("pk")[:1],
    document_type=str,
    document_index=str,
)


def insurance_coupling_check(
    *, region, hukou_type: str, employment_form_code: str, insurance_codes: list[str]
) -> None:
    """Apply the region's coupling rules (and the national ones) to the chosen insurance types."""
    codes = set(insurance_codes)
    unknown = codes - set(InsuranceCode.values)
    if not codes or unknown:
        raise ValidationError({"insurance_codes": _("请至少选择一个险种。")}, code="codes")
    rules = _COUPLING_RULES.rows(
        region=getattr(region, "pk", region),
        hukou_type=str(hukou_type),
        employment_form_code=str(employment_form_code),
    )
    for allowed_codes, required_codes, message in rules:
        allowed = set(allowed_codes)
        if allowed and not codes <= allowed:
            raise ValidationError({"insurance_codes": message}, code="coupling")
        if not set(required_codes) <= codes:
            raise ValidationError({"insurance_codes": message}, code="coupling")


def other_unit_check(*, document_type: str, document_number: str, employer) -> Person | None:
    """Return the known person (or None); refuse one with an open enrolment anywhere."""
    found = _PERSON_OF_DOCUMENT.instances(
        document_type=str(document_type),
        document_index=blind_index("document_number", document_number),
    )
    person = found[0] if found else None
    if person is None:
        return None
    open_enrolment = (
        Enrolment.objects.filter(person=person, status__in=Enrolment.OPEN_STATUSES)
        .only("employer_id", "status")
        .first()
    )
    if open_enrolment is None:
        return person
    if open_enrolment.employer_id == employer.pk:
        raise ValidationError(
            {"document_number": _("该人员已在本单位参保(或增员申请正在审核中),无需重复增员。")},
            code="already_here",
        )
    raise ValidationError({"document_number": OTHER_UNIT_MESSAGE}, code="other_unit")
