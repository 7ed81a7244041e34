"""The one write path of add-employee filings (增员): checked rows filed together, one or many.

add_employee_filing_submit (the form, and batch rows that need the full checks) files its one
row here, and the batch import files its rows of new persons here a chunk at a time, so what a
filing writes is decided in this module only: the person, the enrolment with its history row,
the filing with its review submission (portal.review.review_submit_many inserts it submitted,
with a transition and an audit event per filing, and queues the pre-checks after commit), its
attachments and the ``enrollment.add_submitted`` audit event. Rows go in a table at a time through
portal.bulk_insert (COPY on PostgreSQL), which keeps 10,000 rows of a batch import within
seconds.
"""

from __future__ import annotations

import datetime
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from enrollment.add.attachments import CheckedFile
from enrollment.models import AddEmployeeFiling, Attachment, Enrolment, Person
from enrollment.renames import person_renamed
from enrollment.tasks import (
    filings_precheck,
    filings_precheck_and_forms,
    registration_form_generate_task,
)
from portal.audit import audit_event, audit_log_many
from portal.bulk_insert import insert_many, insert_many_with_history
from portal.review import review_submit_many

if TYPE_CHECKING:
    from enrollment.add.services import CheckedPerson

logger = logging.getLogger(__name__)


@dataclass
class AddEmployeeRow:
    """One person to file, checked by add_employee_check or the batch import's checks."""

    idempotency_key: uuid.UUID
    checked: CheckedPerson
    name: str
    nationality: str
    hukou_type: str
    phone: str
    employment_start: datetime.date | None
    contribution_base: Decimal
    attachments: Sequence[tuple[str, CheckedFile]] = ()
    # 续保: the unit's ended or suspended enrolment of the person that the new one resumes.
    resumed_from: Enrolment | None = None


def new_filing_reference() -> str:
    """A filing number: ZY, the date, 8 random hex digits (unique constraint backs it)."""
    return f"ZY{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


@transaction.atomic
def add_employee_filings_submit(
    *,
    agent,
    rows: Sequence[AddEmployeeRow],
    generate_form: bool = True,
    batch_import=None,
    request=None,
) -> list[AddEmployeeFiling]:
    """File checked rows into the review queue together; return their filings in row order.

    Raises IntegrityError, with nothing written, when a row's key or its person's open
    enrolment is taken (by a concurrent filing, or by another of the rows); ValidationError
    when a new person's values fail Person.full_clean.
    """
    if not rows:
        return []
    employer = agent.employer
    user = agent.user
    persons = [
        person_prepare(
            row.checked,
            name=row.name,
            nationality=row.nationality,
            hukou_type=row.hukou_type,
            phone=row.phone,
        )
        for row in rows
    ]
    insert_many(Person, [person for person in persons if person.pk is None])
    enrolments = [
        Enrolment(
            person=person,
            employer=employer,
            employment_form=row.checked.employment_form,
            insurance_codes=row.checked.insurance_codes,
            start_month=row.checked.start_month,
            employment_start=row.employment_start,
            contribution_base=Decimal(row.contribution_base),
            resumed_from=row.resumed_from,
        )
        for row, person in zip(rows, persons, strict=True)
    ]
    insert_many_with_history(Enrolment, enrolments)
    filings = [
        AddEmployeeFiling(
            reference=new_filing_reference(),
            employer=employer,
            enrolment=enrolment,
            submitted_by=agent,
            idempotency_key=row.idempotency_key,
            flags=row.checked.flags,
            review_region_id=employer.region_id,
            batch_import=batch_import,
        )
        for row, enrolment in zip(rows, enrolments, strict=True)
    ]
    # The filings are inserted already submitted. A batch chunk's pre-checks go as one message:
    # 10,000 messages cost an import more time than all its writes. The registration forms go
    # in the pre-checks' message (one task where there were two per filing); should it not be
    # sent, the pre-checks are re-queued by the beat and the download view renders the forms.
    # The submission's audit events (review.submit) are written with this module's own
    # (enrollment.add_submitted), in that order, in one INSERT.
    events: list = []
    review_submit_many(
        items=filings,
        actor=user,
        request=request,
        precheck_task=filings_precheck_and_forms if generate_form else filings_precheck,
        audit_events=events,
    )
    for row, filing in zip(rows, filings, strict=True):
        attachments_store(filing, row.attachments)
    audit_log_many(
        [
            *events,
            *(
                audit_event(
                    action="enrollment.add_submitted",
                    actor=user,
                    employer_id=employer.pk,
                    obj=filing,
                    request=request,
                    details={"reference": filing.reference, "flags": filing.flags},
                )
                for filing in filings
            ),
        ]
    )
    return filings


def person_prepare(checked: CheckedPerson, *, name, nationality, hukou_type, phone) -> Person:
    """A new person, cleaned but not saved; or the known person, its details brought up to date."""
    name = " ".join(str(name or "").split())
    person = checked.person
    if person is None:
        person = Person(
            name=name,
            document_type=checked.document_type,
            document_number=checked.document_number,
            sex=checked.sex,
            birth_date=checked.birth_date,
            nationality=nationality,
            hukou_type=hukou_type,
            phone=phone,
        )
        person.full_clean(validate_unique=False, validate_constraints=False)
        return person
    changes = {
        "name": name,
        "nationality": nationality,
        "hukou_type": hukou_type,
        "sex": checked.sex,
        "birth_date": checked.birth_date,
    }
    if phone:
        changes["phone"] = phone
    changed = [key for key, value in changes.items() if getattr(person, key) != value]
    for key in changed:
        setattr(person, key, changes[key])
    if changed:
        person.save(update_fields=[*changed, "updated_at"])
    if "name" in changed:
        person_renamed(person.pk)
    return person


def attachments_store(
    filing: AddEmployeeFiling, checked: Sequence[tuple[str, CheckedFile]]
) -> None:
    """Store a filing's checked attachments under random names (the rows in one statement)."""
    attachments = []
    for kind, item in checked:
        attachment = Attachment(
            filing=filing,
            employer_id=filing.employer_id,
            kind=kind,
            original_name=item.original_name,
            content_type=item.content_type,
            size=item.size,
            sha256=item.sha256,
        )
        # The name passed here is ignored: attachment_upload_to gives a random one.
        attachment.file.save(item.original_name, ContentFile(item.data), save=False)
        attachments.append(attachment)
    insert_many(Attachment, attachments)
    # Should the transaction roll back after this, the stored files stay behind unreferenced
    # under random names; they hold nothing anyone can reach through the portal.


def registration_form_enqueue(filing_id: int) -> None:
    """Queue the rendering of a filing's registration form (call after commit)."""
    try:
        registration_form_generate_task.delay(filing_id)
    except Exception:  # noqa: BLE001 — broker down: the download view renders it on demand
        logger.exception("registration form of filing %s not queued", filing_id)
