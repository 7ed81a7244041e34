"""Shared setup of the review queue tests: submitted 增员 filings made quickly."""

from __future__ import annotations

import uuid

from enrollment.add.bulk import AddEmployeeRow, add_employee_filings_submit
from enrollment.add.services import add_employee_check
from enrollment.models import AddEmployeeFiling
from tests.enrollment.add_helpers import service_fields
from tests.enrollment.enrolment_helpers import unique_resident_id

CHECKED_FIELDS = (
    "document_type",
    "document_number",
    "nationality",
    "hukou_type",
    "employment_form",
    "insurance_codes",
    "start_month",
    "employment_start",
    "contribution_base",
)


def add_filings(agent, count: int, **overrides) -> list[AddEmployeeFiling]:
    """``count`` submitted 增员 filings of new persons, filed together as a batch chunk is."""
    rows = []
    for _ in range(count):
        fields = service_fields(attachments=(), document_number=unique_resident_id(), **overrides)
        checked = add_employee_check(
            employer=agent.employer, **{name: fields[name] for name in CHECKED_FIELDS}
        )
        rows.append(
            AddEmployeeRow(
                idempotency_key=uuid.uuid4(),
                checked=checked,
                name=fields["name"],
                nationality=fields["nationality"],
                hukou_type=fields["hukou_type"],
                phone=fields["phone"],
                employment_start=fields["employment_start"],
                contribution_base=fields["contribution_base"],
            )
        )
    return add_employee_filings_submit(agent=agent, rows=rows, generate_form=False)
