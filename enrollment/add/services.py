"""Writes of add-employee filings (增员): submit, resubmit after rejection, the registration form.

Every check lives in enrollment.rules; ``add_employee_check`` runs them all for one person and
collects every message by field, so the screen, the batch import and these services refuse the
same things with the same words. What a new filing writes is decided in enrollment.add.bulk
(add_employee_filings_submit), which add_employee_filing_submit calls with its one row.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from employers.models import OpenedAccount
from enrollment import rules
from enrollment.add.attachments import CheckedFile, attachment_check
from enrollment.add.bulk import (
    AddEmployeeRow,
    add_employee_filings_submit,
    attachments_store,
    person_prepare,
    registration_form_enqueue,
)
from enrollment.models import (
    AddEmployeeFiling,
    Attachment,
    EmploymentForm,
    Enrolment,
    Person,
)
from portal.audit import audit_log
from portal.compiled_sql import CompiledQuery
from portal.identifiers import validate_person_name
from portal.models import ReviewState
from portal.review import review_submit

ATTACHMENT_KINDS = tuple(Attachment.Kind.values)
EMPLOYMENT_FORM_UNKNOWN = gettext_noop("所选用工形式不适用于本单位所在统筹区,请重新选择。")
NOT_REJECTED = gettext_noop("只有审核未通过的增员申请可以修改后重新提交。")


@dataclass
class CheckedPerson:
    """The result of the per-person checks: normalised values, flags, the known person."""

    document_type: str
    document_number: str
    sex: str
    birth_date: datetime.date
    start_month: datetime.date
    employment_form: EmploymentForm
    insurance_codes: list[str]
    flags: list[str] = field(default_factory=list)
    person: Person | None = None


def _merge(errors: dict[str, list], exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for key, items in exc.error_dict.items():
            errors.setdefault(key, []).extend(items)
    else:
        errors.setdefault(NON_FIELD_ERRORS, []).extend(exc.error_list)


def employment_form_resolve(*, region, value) -> EmploymentForm:
    """Return the active 用工形式 (an instance or its code) that applies in the region."""
    if isinstance(value, EmploymentForm):
        # An instance is a form's choice, read from the region's active forms in this request
        # (employment_forms_for_region): checked as it was read, not read again.
        region_id = getattr(region, "pk", region)
        applies = value.is_active and value.region_id in (region_id, None)
        found = value if applies else None
    else:
        forms = EmploymentForm.objects.filter(is_active=True).filter(
            Q(region=region) | Q(region__isnull=True)
        )
        # A region's own row wins over the nationwide one with the same code.
        code = str(value or "").strip()
        found = (
            forms.filter(code=code, region=region).first()
            or forms.filter(code=code, region__isnull=True).first()
        )
    if found is None:
        raise ValidationError({"employment_form": _(EMPLOYMENT_FORM_UNKNOWN)}, code="form")
    return found


def person_name_check(name) -> str:
    """The name as stored (spaces collapsed), refused when empty or not a person's name."""
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationError({"name": _("请填写姓名。")}, code="required")
    try:
        validate_person_name(name)
    except ValidationError as exc:
        raise ValidationError({"name": exc.messages}, code="name_chars") from None
    return name


def _loaded_or_id(obj, name: str):
    """The related object when it was loaded with ``obj``, else its id (no query)."""
    field = obj._meta.get_field(name)
    return getattr(obj, name) if field.is_cached(obj) else getattr(obj, field.attname)


# Read on every add-employee filing: the unit's opening date, its SQL compiled once per process.
_OPENED_ON = CompiledQuery(
    lambda account: OpenedAccount.objects.filter(pk=account).values_list("opened_on"), "account"
)


def _unit_opened_on(employer) -> datetime.date:
    account = _loaded_or_id(employer, "account")
    if isinstance(account, OpenedAccount):
        return account.opened_on
    (row,) = _OPENED_ON.rows(account=account)
    return row[0]


def add_employee_check(
    *,
    employer,
    document_type: str,
    document_number: str,
    sex: str = "",
    birth_date: datetime.date | None = None,
    nationality: str = "中国",
    hukou_type: str,
    employment_form,
    insurance_codes: Iterable[str],
    start_month: datetime.date,
    employment_start: datetime.date | None = None,
    contribution_base: Decimal,
    today: datetime.date | None = None,
    check_other_unit: bool = True,
) -> CheckedPerson:
    """Run every rule for one person to be added; raise one ValidationError with all messages.

    ``check_other_unit=False`` leaves out the database look-up of open enrolments, for a caller
    (the batch import) that checks a whole file's persons in one query.
    """
    today = today or timezone.localdate()
    # The region's id, unless its row is at hand: the checks read it only to name it in a refusal.
    region = _loaded_or_id(employer, "region")
    codes = sorted({str(code) for code in insurance_codes or ()})
    errors: dict[str, list] = {}
    facts = None
    try:
        facts = rules.person_facts(
            document_type=document_type,
            document_number=document_number,
            sex=sex,
            birth_date=birth_date,
            today=today,
        )
    except ValidationError as exc:
        _merge(errors, exc)
    try:
        rules.hukou_check(
            document_type=document_type, nationality=nationality or "", hukou_type=hukou_type
        )
    except ValidationError as exc:
        _merge(errors, exc)
    flags: list[str] = []
    start = None
    if start_month is None:
        errors.setdefault("start_month", []).append(ValidationError(_("请填写参保起始年月。")))
    else:
        backdate_months, deadline_days = rules.region_settings(region)
        try:
            flags += rules.start_month_check(
                start_month=start_month,
                unit_opened_on=_unit_opened_on(employer),
                today=today,
                backdate_months=backdate_months,
            )
            start = rules.first_of_month(start_month)
        except ValidationError as exc:
            _merge(errors, exc)
        try:
            flags += rules.late_filing_flags(
                employment_start=employment_start, today=today, deadline_days=deadline_days
            )
        except ValidationError as exc:
            _merge(errors, exc)
    if start is not None:
        if contribution_base is None:
            errors.setdefault("contribution_base", []).append(
                ValidationError(_("请填写月缴费工资。"))
            )
        else:
            try:
                rules.base_check(region=region, start_month=start, base=Decimal(contribution_base))
            except ValidationError as exc:
                _merge(errors, exc)
    form = None
    try:
        form = employment_form_resolve(region=region, value=employment_form)
    except ValidationError as exc:
        _merge(errors, exc)
    if form is not None:
        try:
            rules.insurance_coupling_check(
                region=region,
                hukou_type=hukou_type,
                employment_form_code=form.code,
                insurance_codes=codes,
            )
        except ValidationError as exc:
            _merge(errors, exc)
    person = None
    if facts is not None and check_other_unit:
        try:
            person = rules.other_unit_check(
                document_type=document_type, document_number=facts[0], employer=employer
            )
        except ValidationError as exc:
            _merge(errors, exc)
    if errors:
        raise ValidationError(errors)
    number, sex, birth_date = facts
    return CheckedPerson(
        document_type=document_type,
        document_number=number,
        sex=sex,
        birth_date=birth_date,
        start_month=start,
        employment_form=form,
        insurance_codes=codes,
        flags=sorted(set(flags)),
        person=person,
    )


def attachments_check(attachments: Sequence[tuple[str, object]]) -> list[tuple[str, CheckedFile]]:
    """Check each (kind, file) by content; raise the messages keyed by kind (the form field)."""
    checked, errors = [], {}
    for kind, upload in attachments:
        if kind not in ATTACHMENT_KINDS:
            raise ValueError(f"unknown attachment kind: {kind!r}")
        if upload is None:
            continue
        try:
            checked.append((kind, attachment_check(upload)))
        except ValidationError as exc:
            errors.setdefault(kind, []).extend(exc.error_list)
    if errors:
        raise ValidationError(errors)
    return checked


def _refusal_for_race(checked: CheckedPerson, employer) -> ValidationError:
    """The message for an open enrolment that a concurrent filing created first."""
    try:
        rules.other_unit_check(
            document_type=checked.document_type,
            document_number=checked.document_number,
            employer=employer,
        )
    except ValidationError as exc:
        return exc
    return ValidationError({"document_number": rules.OTHER_UNIT_MESSAGE}, code="other_unit")


# Read on every submission: the filing of a key, as .first() reads it (whole rows, by id).
_FILING_OF_KEY = CompiledQuery(
    lambda key: AddEmployeeFiling.objects.filter(idempotency_key=key).order_by("pk")[:1],
    key=uuid.UUID,
)


def _filing_of_key(key: uuid.UUID) -> AddEmployeeFiling | None:
    found = _FILING_OF_KEY.instances(key=key)
    return found[0] if found else None


@transaction.atomic
def add_employee_filing_submit(
    *,
    agent,
    idempotency_key: uuid.UUID | str,
    name: str,
    document_type: str,
    document_number: str,
    sex: str = "",
    birth_date: datetime.date | None = None,
    nationality: str = "中国",
    hukou_type: str,
    phone: str = "",
    employment_form,
    insurance_codes: Iterable[str],
    start_month: datetime.date,
    employment_start: datetime.date | None = None,
    contribution_base: Decimal,
    attachments: Sequence[tuple[str, object]] = (),
    generate_form: bool = True,
    batch_import=None,
    request=None,
) -> AddEmployeeFiling:
    """Check and file an add-employee request into the review queue; one filing per key."""
    key = uuid.UUID(str(idempotency_key))
    existing = _filing_of_key(key)
    if existing is not None:
        if existing.employer_id != agent.employer_id:
            raise ValidationError(_("提交标识无效,请刷新页面后重新填写。"), code="bad_key")
        return existing  # a double click or back-and-resubmit: the first filing stands
    employer = agent.employer
    name = person_name_check(name)
    checked = add_employee_check(
        employer=employer,
        document_type=document_type,
        document_number=document_number,
        sex=sex,
        birth_date=birth_date,
        nationality=nationality,
        hukou_type=hukou_type,
        employment_form=employment_form,
        insurance_codes=insurance_codes,
        start_month=start_month,
        employment_start=employment_start,
        contribution_base=contribution_base,
    )
    row = AddEmployeeRow(
        idempotency_key=key,
        checked=checked,
        name=name,
        nationality=nationality,
        hukou_type=hukou_type,
        phone=phone,
        employment_start=employment_start,
        contribution_base=Decimal(contribution_base),
        attachments=attachments_check(attachments),
    )
    try:
        (filing,) = add_employee_filings_submit(
            agent=agent,
            rows=[row],
            generate_form=generate_form,
            batch_import=batch_import,
            request=request,
        )
    except IntegrityError:
        # A concurrent request won: the same key (a double click), or the same person's open
        # enrolment (enrolment_one_open_per_person).
        existing = _filing_of_key(key)
        if existing is not None and existing.employer_id == employer.pk:
            return existing
        raise _refusal_for_race(checked, employer) from None
    return filing


@transaction.atomic
def add_employee_filing_resubmit(
    *,
    agent,
    filing: AddEmployeeFiling,
    name: str,
    document_type: str,
    document_number: str,
    sex: str = "",
    birth_date: datetime.date | None = None,
    nationality: str = "中国",
    hukou_type: str,
    phone: str = "",
    employment_form,
    insurance_codes: Iterable[str],
    start_month: datetime.date,
    employment_start: datetime.date | None = None,
    contribution_base: Decimal,
    attachments: Sequence[tuple[str, object]] = (),
    request=None,
) -> AddEmployeeFiling:
    """Correct a rejected filing and put it back into the review queue.

    A rejection cancelled the enrolment (enrollment.add.review), so the checks run again as
    for a new filing, including the other-unit check; the enrolment reopens as pending.
    """
    filing = (
        AddEmployeeFiling.objects.select_for_update()
        .select_related("enrolment", "employer__account", "employer__region")
        .filter(pk=filing.pk, employer_id=agent.employer_id)
        .first()
    )
    if filing is None:
        raise ValidationError(_("该增员申请不存在。"), code="missing")
    if filing.review_state != ReviewState.REJECTED:
        raise ValidationError(_(NOT_REJECTED), code="not_rejected")
    employer = filing.employer
    name = person_name_check(name)
    checked = add_employee_check(
        employer=employer,
        document_type=document_type,
        document_number=document_number,
        sex=sex,
        birth_date=birth_date,
        nationality=nationality,
        hukou_type=hukou_type,
        employment_form=employment_form,
        insurance_codes=insurance_codes,
        start_month=start_month,
        employment_start=employment_start,
        contribution_base=contribution_base,
    )
    files = attachments_check(attachments)
    enrolment = filing.enrolment
    try:
        with transaction.atomic():
            person = person_prepare(
                checked, name=name, nationality=nationality, hukou_type=hukou_type, phone=phone
            )
            if person.pk is None:
                person.save()
            enrolment.person = person
            enrolment.employment_form = checked.employment_form
            enrolment.insurance_codes = checked.insurance_codes
            enrolment.start_month = checked.start_month
            enrolment.employment_start = employment_start
            enrolment.contribution_base = Decimal(contribution_base)
            enrolment.status = Enrolment.Status.PENDING
            enrolment.save()
    except IntegrityError:
        raise _refusal_for_race(checked, employer) from None
    old_form = filing.registration_form.name if filing.registration_form else ""
    filing.flags = checked.flags
    filing.registration_form = ""
    filing.save(update_fields=["flags", "registration_form", "updated_at"])
    if old_form:
        storage = filing.registration_form.storage
        transaction.on_commit(lambda: storage.delete(old_form))
    attachments_store(filing, files)
    review_submit(item=filing, actor=agent.user, request=request)
    audit_log(
        action="enrollment.add_resubmitted",
        actor=agent.user,
        employer_id=employer.pk,
        obj=filing,
        request=request,
        details={"reference": filing.reference, "flags": checked.flags},
    )
    transaction.on_commit(partial(registration_form_enqueue, filing.pk))
    return filing


# Read by every filing's form (a task per filing): the filing and what the form prints, as
# .first() reads them, its SQL compiled once per process (inside a transaction, as a lock must
# be). Only the filing's row is locked, not its unit, region and person with it.
_FILING_FOR_FORM = CompiledQuery(
    lambda filing: (
        AddEmployeeFiling.objects.select_for_update(of=("self",))
        .select_related(
            "employer__region",
            "enrolment__person",
            "enrolment__employment_form",
            "submitted_by",
        )
        .filter(pk=filing)[:1]  # the model's ordering kept, as .first() keeps it
    ),
    "filing",
)


def registration_form_generate(*, filing_id: int) -> AddEmployeeFiling | None:
    """Render and store the filing's registration form once (idempotent; a task and views)."""
    from enrollment.add.pdf import registration_form_pdf

    with transaction.atomic():
        found = _FILING_FOR_FORM.related_instances(filing=filing_id)
        filing = found[0] if found else None
        if filing is None or filing.registration_form:
            return filing
        data = registration_form_pdf(filing)
        filing.registration_form.save(f"{filing.reference}.pdf", ContentFile(data), save=False)
        filing.save(update_fields=["registration_form", "updated_at"])
        return filing
