"""Writes of 续保 filings: submit and resubmit, through the add-employee path (enrollment.add).

A 续保 is an AddEmployeeFiling whose new enrolment points at the unit's earlier one of the
person (Enrolment.resumed_from). It runs the add-employee checks with the person's details as
registered (start month, base bounds, 用工形式 and coupling rules), the 续保 checks
(enrollment.resume.rules), and is filed by enrollment.add.bulk.add_employee_filings_submit like
any other add filing: the same review, the same approval that makes the enrolment active.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import partial

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from enrollment.add.bulk import (
    AddEmployeeRow,
    add_employee_filings_submit,
    attachments_store,
    registration_form_enqueue,
)
from enrollment.add.services import CheckedPerson, add_employee_check, attachments_check
from enrollment.models import AddEmployeeFiling, Enrolment
from enrollment.resume.rules import PENDING_ALREADY, resume_refusal, resume_start_check
from portal.audit import audit_log
from portal.models import ReviewState
from portal.review import review_submit

# The fields of the 续保 form; a message about anything else (the person's registered details)
# is shown above the form.
FORM_FIELDS = frozenset(
    {
        "start_month",
        "employment_start",
        "employment_form",
        "insurance_codes",
        "contribution_base",
        "labour_contract",
        "id_scan",
    }
)


def _on_form(exc: ValidationError) -> ValidationError:
    """The same messages, those about fields the form lacks moved to the top."""
    if not hasattr(exc, "error_dict"):
        return exc
    errors: dict[str, list] = {}
    for key, items in exc.error_dict.items():
        errors.setdefault(key if key in FORM_FIELDS else NON_FIELD_ERRORS, []).extend(items)
    return ValidationError(errors)


def _checked(
    previous: Enrolment,
    *,
    start_month,
    employment_start,
    employment_form,
    insurance_codes,
    contribution_base,
) -> CheckedPerson:
    """Run the add-employee checks with the person's registered details, and the 续保 ones."""
    person = previous.person
    errors: dict[str, list] = {}
    checked = None
    try:
        checked = add_employee_check(
            employer=previous.employer,
            document_type=person.document_type,
            document_number=person.document_number,
            sex=person.sex,
            birth_date=person.birth_date,
            nationality=person.nationality,
            hukou_type=person.hukou_type,
            employment_form=employment_form,
            insurance_codes=insurance_codes,
            start_month=start_month,
            employment_start=employment_start,
            contribution_base=contribution_base,
            check_other_unit=False,  # resume_refusal looked at every other enrolment
        )
    except ValidationError as exc:
        errors = dict(_on_form(exc).update_error_dict({}))
    if start_month is not None:
        try:
            resume_start_check(previous, start_month)
        except ValidationError as exc:
            exc.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)
    checked.person = person
    return checked


def _previous_for_update(*, agent, enrolment_id) -> Enrolment:
    previous = (
        Enrolment.objects.select_for_update()
        .select_related("person", "employer__account", "employer__region")
        .filter(pk=enrolment_id, employer_id=agent.employer_id)
        .first()
    )
    if previous is None:
        raise ValidationError(_("该参保登记不存在。"), code="missing")
    return previous


@transaction.atomic
def resume_filing_submit(
    *,
    agent,
    enrolment_id: int,
    idempotency_key: uuid.UUID | str,
    start_month: datetime.date,
    employment_start: datetime.date | None = None,
    employment_form,
    insurance_codes: Iterable[str],
    contribution_base: Decimal,
    attachments: Sequence[tuple[str, object]] = (),
    request=None,
) -> AddEmployeeFiling:
    """Check and file a 续保 of the unit's enrolment into the add-employee review queue."""
    key = uuid.UUID(str(idempotency_key))
    existing = AddEmployeeFiling.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if existing.employer_id != agent.employer_id:
            raise ValidationError(_("提交标识无效,请刷新页面后重新填写。"), code="bad_key")
        return existing  # a double click: the first filing stands
    # The lock on the earlier enrolment makes two 续保 of it wait for each other; the
    # one-pending-per-person constraint refuses the second.
    previous = _previous_for_update(agent=agent, enrolment_id=enrolment_id)
    resume_refusal(previous)
    checked = _checked(
        previous,
        start_month=start_month,
        employment_start=employment_start,
        employment_form=employment_form,
        insurance_codes=insurance_codes,
        contribution_base=contribution_base,
    )
    person = previous.person
    row = AddEmployeeRow(
        idempotency_key=key,
        checked=checked,
        name=person.name,
        nationality=person.nationality,
        hukou_type=person.hukou_type,
        phone="",  # the registered phone stays (changed by 个人信息变更)
        employment_start=employment_start,
        contribution_base=Decimal(contribution_base),
        attachments=attachments_check(attachments),
        resumed_from=previous,
    )
    try:
        (filing,) = add_employee_filings_submit(agent=agent, rows=[row], request=request)
    except IntegrityError:
        existing = AddEmployeeFiling.objects.filter(idempotency_key=key).first()
        if existing is not None and existing.employer_id == agent.employer_id:
            return existing
        raise ValidationError(_(PENDING_ALREADY), code="pending") from None
    audit_log(
        action="enrollment.resume_submitted",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=filing,
        request=request,
        details={"reference": filing.reference, "resumed_enrolment": previous.pk},
    )
    return filing


@transaction.atomic
def resume_filing_resubmit(
    *,
    agent,
    filing: AddEmployeeFiling,
    start_month: datetime.date,
    employment_start: datetime.date | None = None,
    employment_form,
    insurance_codes: Iterable[str],
    contribution_base: Decimal,
    attachments: Sequence[tuple[str, object]] = (),
    request=None,
) -> AddEmployeeFiling:
    """Correct a rejected 续保 and put it back into the review queue (its enrolment, cancelled
    by the rejection, reopens as pending)."""
    filing = (
        AddEmployeeFiling.objects.select_for_update()
        .select_related("enrolment")
        .filter(pk=filing.pk, employer_id=agent.employer_id)
        .first()
    )
    if filing is None or not filing.enrolment.resumed_from_id:
        raise ValidationError(_("该续保申请不存在。"), code="missing")
    if filing.review_state != ReviewState.REJECTED:
        raise ValidationError(
            _("只有审核未通过的续保申请可以修改后重新提交。"), code="not_rejected"
        )
    enrolment = filing.enrolment
    previous = _previous_for_update(agent=agent, enrolment_id=enrolment.resumed_from_id)
    resume_refusal(previous, exclude_pk=enrolment.pk)
    checked = _checked(
        previous,
        start_month=start_month,
        employment_start=employment_start,
        employment_form=employment_form,
        insurance_codes=insurance_codes,
        contribution_base=contribution_base,
    )
    files = attachments_check(attachments)
    enrolment.employment_form = checked.employment_form
    enrolment.insurance_codes = checked.insurance_codes
    enrolment.start_month = checked.start_month
    enrolment.employment_start = employment_start
    enrolment.contribution_base = Decimal(contribution_base)
    enrolment.status = Enrolment.Status.PENDING
    try:
        with transaction.atomic():
            enrolment.save()
    except IntegrityError:
        raise ValidationError(_(PENDING_ALREADY), code="pending") from None
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
        action="enrollment.resume_resubmitted",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=filing,
        request=request,
        details={"reference": filing.reference, "flags": checked.flags},
    )
    transaction.on_commit(partial(registration_form_enqueue, filing.pk))
    return filing
