"""批量增员 bulk path: new persons' filings written for many rows at once."""

from __future__ import annotations

import datetime
import logging
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contributions.policy.reference import PolicyError, base_bounds
from enrollment import rules
from enrollment.add.services import CheckedPerson
from enrollment.add.services import _new_reference as new_filing_reference
from enrollment.batch.rows import BatchRow
from enrollment.bulk_insert import insert_many, insert_many_with_history
from enrollment.models import (
    AddEmployeeFiling,
    BatchImport,
    DocumentType,
    Enrolment,
    HukouType,
    Person,
)
from portal.crypto import blind_index
from portal.models import AuditEvent, ReviewState, ReviewTransition
from portal.review import review_due_at, review_policy_for

logger = logging.getLogger(__name__)


@dataclass
class _BulkContext:
    """What every row's checks need, loaded once per import instead of once per row."""

    agent: object
    employer: object
    today: datetime.date
    backdate_months: int
    deadline_days: int
    review_terms: object
    known_documents: set[tuple[str, str]]
    bounds: dict[datetime.date, tuple[Decimal, Decimal] | None] = field(default_factory=dict)
    coupling: dict[tuple, bool] = field(default_factory=dict)
    seen_documents: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def load(cls, batch: BatchImport, rows: list[BatchRow]) -> _BulkContext:
        employer = batch.employer
        backdate_months, deadline_days = rules.region_settings(employer.region)
        return cls(
            agent=batch.submitted_by,
            employer=employer,
            today=timezone.localdate(),
            backdate_months=backdate_months,
            deadline_days=deadline_days,
            review_terms=review_policy_for(model=AddEmployeeFiling, region_id=employer.region_id),
            known_documents=_known_documents(rows),
        )

    def base_bounds(self, month: datetime.date) -> tuple[Decimal, Decimal] | None:
        if month not in self.bounds:
            try:
                self.bounds[month] = base_bounds(self.employer.region, month)
            except PolicyError:
                self.bounds[month] = None
        return self.bounds[month]

    def coupling_passes(self, hukou_type: str, form_code: str, codes: list[str]) -> bool:
        key = (hukou_type, form_code, tuple(codes))
        if key not in self.coupling:
            try:
                rules.insurance_coupling_check(
                    region=self.employer.region,
                    hukou_type=hukou_type,
                    employment_form_code=form_code,
                    insurance_codes=codes,
                )
            except ValidationError:
                self.coupling[key] = False
            else:
                self.coupling[key] = True
        return self.coupling[key]

    def check(self, row: BatchRow) -> CheckedPerson | None:
        """Return the checked person of a row the bulk path may file, else None.

        None sends the row to add_employee_filing_submit: a row that fails a check (so that
        the service words the messages), a person already known to the portal, a person met
        earlier in the file.
        """
        data = row.fields
        required = ("start_month", "contribution_base", "employment_form")
        if not _person_fields_valid(data) or any(data[name] is None for name in required):
            return None
        try:
            number, sex, birth_date = rules.person_facts(
                document_type=data["document_type"],
                document_number=data["document_number"],
                sex=data["sex"],
                birth_date=data["birth_date"],
                today=self.today,
            )
            rules.hukou_check(
                document_type=data["document_type"],
                nationality=data["nationality"] or "",
                hukou_type=data["hukou_type"],
            )
            flags = rules.start_month_check(
                start_month=data["start_month"],
                unit_opened_on=self.employer.account.opened_on,
                today=self.today,
                backdate_months=self.backdate_months,
            )
            flags += rules.late_filing_flags(
                employment_start=data["employment_start"],
                today=self.today,
                deadline_days=self.deadline_days,
            )
        except ValidationError:
            return None
        document = (data["document_type"], blind_index("document_number", number))
        if document in self.known_documents or document in self.seen_documents:
            return None
        start = rules.first_of_month(data["start_month"])
        bounds = self.base_bounds(start)
        base = Decimal(data["contribution_base"])
        if bounds is None or not bounds[0] <= base <= bounds[1]:
            return None
        form = data["employment_form"]
        codes = sorted({str(code) for code in data["insurance_codes"] or ()})
        if form is None or not self.coupling_passes(data["hukou_type"], form.code, codes):
            return None
        if sex not in PERSON_SEXES or not isinstance(birth_date, datetime.date):
            return None
        self.seen_documents.add(document)
        return CheckedPerson(
            document_type=data["document_type"],
            document_number=number,
            sex=sex,
            birth_date=birth_date,
            start_month=start,
            employment_form=form,
            insurance_codes=codes,
            flags=sorted(set(flags)),
            person=None,
        )


PERSON_SEXES = frozenset(Person.Sex.values)


PERSON_DOCUMENT_TYPES = frozenset(DocumentType.values)


PERSON_HUKOU_TYPES = frozenset(HukouType.values)


NAME_MAX = Person._meta.get_field("name").max_length


NATIONALITY_MAX = Person._meta.get_field("nationality").max_length


def _person_fields_valid(data: dict) -> bool:
    """What Person.full_clean checks of a row's own values, without building a model per row.

    A row that fails goes through the service, whose full_clean words the message.
    """
    name = " ".join(data["name"].split())
    nationality = data["nationality"] or ""
    return (
        0 < len(name) <= NAME_MAX
        and 0 < len(nationality) <= NATIONALITY_MAX
        and data["document_type"] in PERSON_DOCUMENT_TYPES
        and data["hukou_type"] in PERSON_HUKOU_TYPES
        and bool(data["document_number"])
    )


def _known_documents(rows: list[BatchRow]) -> set[tuple[str, str]]:
    """The (document type, blind index) of the file's persons the portal already knows."""
    indexes = sorted(
        {
            blind_index("document_number", "".join(str(row.fields["document_number"]).split()))
            for row in rows
            if not row.errors
        }
    )
    known = set()
    for start in range(0, len(indexes), 2000):
        known.update(
            Person.objects.filter(document_index__in=indexes[start : start + 2000]).values_list(
                "document_type", "document_index"
            )
        )
    return known


@transaction.atomic
def _bulk_file(
    context: _BulkContext, rows: list[BatchRow], candidates: list[tuple[int, uuid.UUID, object]]
) -> dict[int, AddEmployeeFiling]:
    """Write what add_employee_filing_submit writes for new persons, for many rows at once.

    The same rows as the service and portal.review.review_submit: the person, the enrolment
    with its history row, the filing in the submitted state, its review transition, the two
    audit events, and the review pre-checks queued after commit (one message for the chunk:
    10,000 messages cost the import more time than all its writes). tests/enrollment/
    test_batch.py compares what both paths write.
    """
    if not candidates:
        return {}
    agent, employer = context.agent, context.employer
    user = agent.user
    persons, enrolments = [], []
    for index, _key, checked in candidates:
        data = rows[index].fields
        person = Person(
            name=" ".join(data["name"].split()),
            document_type=checked.document_type,
            document_number=checked.document_number,
            sex=checked.sex,
            birth_date=checked.birth_date,
            nationality=data["nationality"],
            hukou_type=data["hukou_type"],
            phone=data["phone"],
        )
        # No full_clean per row: _BulkContext.check passed only rows whose values it allows.
        persons.append(person)
    insert_many(Person, persons)
    for (index, _key, checked), person in zip(candidates, persons, strict=True):
        data = rows[index].fields
        enrolments.append(
            Enrolment(
                person=person,
                employer=employer,
                employment_form=checked.employment_form,
                insurance_codes=checked.insurance_codes,
                start_month=checked.start_month,
                employment_start=data["employment_start"],
                contribution_base=Decimal(data["contribution_base"]),
            )
        )
    insert_many_with_history(Enrolment, enrolments)
    now = timezone.now()
    due_at = review_due_at(now, context.review_terms.due_working_days)
    filings = [
        AddEmployeeFiling(
            reference=new_filing_reference(),
            employer=employer,
            enrolment=enrolment,
            submitted_by=agent,
            idempotency_key=key,
            flags=checked.flags,
            review_region=employer.region,
            # portal.review.review_submit of a new item: submitted, due by the region's terms.
            review_state=ReviewState.SUBMITTED,
            submitted_at=now,
            due_at=due_at,
        )
        for (_index, key, checked), enrolment in zip(candidates, enrolments, strict=True)
    ]
    insert_many(AddEmployeeFiling, filings)
    content_type = ContentType.objects.get_for_model(AddEmployeeFiling)
    insert_many(
        ReviewTransition,
        [
            ReviewTransition(
                content_type=content_type,
                object_id=filing.pk,
                action="submit",
                from_state="",
                to_state=ReviewState.SUBMITTED,
                actor=user,
                actor_label=user.get_username(),
                comment="",
            )
            for filing in filings
        ],
    )
    events = []
    for filing in filings:
        common = {
            "actor": user,
            "actor_label": user.get_username(),
            "employer_id": employer.pk,
            "object_type": AddEmployeeFiling._meta.label,
            "object_id": str(filing.pk),
        }
        events.append(
            AuditEvent(
                action="review.submit",
                details={"from": "", "to": ReviewState.SUBMITTED.value},
                **common,
            )
        )
        events.append(
            AuditEvent(
                action="enrollment.add_submitted",
                details={"reference": filing.reference, "flags": filing.flags},
                **common,
            )
        )
    insert_many(AuditEvent, events)
    label = AddEmployeeFiling._meta.label
    pks = [filing.pk for filing in filings]
    transaction.on_commit(lambda: _enqueue_prechecks(label, pks))
    return {
        index: filing for (index, _key, _checked), filing in zip(candidates, filings, strict=True)
    }


def _enqueue_prechecks(label: str, pks: list[int]) -> None:
    """Queue the chunk's review pre-checks as one message rather than one per filing."""
    from enrollment.tasks import filings_precheck

    try:
        filings_precheck.delay(label, pks)
    except Exception:  # noqa: BLE001 — broker down: the deadline watcher re-queues each one
        logger.warning("pre-checks of %d batch-import filings not queued", len(pks))
