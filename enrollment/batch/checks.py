"""批量增员 row checks: which rows of new persons may be filed a chunk at a time.

The rules are enrollment.rules', as in add_employee_check, but what they need (the region's
settings, base bounds, coupling results, which persons the portal knows) is loaded once per
import rather than once per row. A row these checks do not pass outright goes through
add_employee_filing_submit on its own, which words the messages; the rows they pass are filed
together by enrollment.add.bulk.add_employee_filings_submit.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from contributions.policy.reference import PolicyError, base_bounds
from enrollment import rules
from enrollment.add.services import CheckedPerson
from enrollment.batch.rows import BatchRow
from enrollment.models import BatchImport, DocumentType, HukouType, Person
from portal.crypto import blind_index


@dataclass
class BatchChecks:
    """The checks of rows of new persons, with what they need loaded once per import."""

    employer: object
    today: datetime.date
    backdate_months: int
    deadline_days: int
    known_documents: set[tuple[str, str]]
    bounds: dict[datetime.date, tuple[Decimal, Decimal] | None] = field(default_factory=dict)
    coupling: dict[tuple, bool] = field(default_factory=dict)
    seen_documents: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def load(cls, batch: BatchImport, rows: list[BatchRow]) -> BatchChecks:
        employer = batch.employer
        backdate_months, deadline_days = rules.region_settings(employer.region)
        return cls(
            employer=employer,
            today=timezone.localdate(),
            backdate_months=backdate_months,
            deadline_days=deadline_days,
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
        """Return the checked person of a row that may be filed with its chunk, else None.

        None sends the row to add_employee_filing_submit on its own: a row that fails a check
        (so that the service words the messages), a person already known to the portal, a
        person met earlier in the file.
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

    A row that fails goes through the service on its own, whose full_clean words the message;
    one that passes cannot make its chunk's full_clean (in add_employee_filings_submit) fail.
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
