"""参保人员查询's one write: printing a person's 个人权益记录, audited."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from contributions.persons.pdf import person_rights_pdf
from contributions.persons.selectors import person_rights_get_for_agent
from portal.audit import audit_log
from portal.pdf import in_form_language


@in_form_language
def person_rights_print(*, agent, person_id: int, year: int | None = None, request=None) -> bytes:
    """Render the person's 个人权益记录 with the agent's unit as a signed PDF and audit the print
    (the person's id and the year only: no personal data in the log). 404 as the page.

    The PDF is built and signed outside the transaction of the audit row (CPU work only)."""
    rights = person_rights_get_for_agent(agent=agent, person_id=person_id, year=year)
    employer = agent.employer
    data = person_rights_pdf(
        rights,
        employer=employer,
        printed_at=timezone.localtime(),
        region_code=employer.region.code,
    )
    with transaction.atomic():
        audit_log(
            action="contributions.person_rights_printed",
            actor=agent.user,
            employer_id=agent.employer_id,
            obj=rights.person,
            request=request,
            details={"year": rights.year},
        )
    return data
