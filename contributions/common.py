"""Small helpers the contribution features share: references, months, insurance types."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.utils import timezone

from contributions.models import InsuranceType
from enrollment.models import Person
from portal import crypto
from portal.identifiers import mask_id_number

# The order insurance types are shown and billed in.
TYPE_ORDER = (
    InsuranceType.PENSION.value,
    InsuranceType.MEDICAL.value,
    InsuranceType.UNEMPLOYMENT.value,
    InsuranceType.WORK_INJURY.value,
)

# Enrolment insurance codes (enrollment.models.InsuranceCode) to contribution insurance types:
# 生育 (510) has been collected together with medical insurance (310) since 2019.
CODE_TO_TYPE = {
    "110": InsuranceType.PENSION.value,
    "210": InsuranceType.UNEMPLOYMENT.value,
    "310": InsuranceType.MEDICAL.value,
    "410": InsuranceType.WORK_INJURY.value,
    "510": InsuranceType.MEDICAL.value,
}


def type_totals(items: Iterable[tuple[str, Decimal, Decimal]]) -> dict[str, list]:
    """Per insurance type [lines, "employer sum", "personal sum"] of (type, employer, personal)
    amounts: what MonthlyBill.type_totals holds (sums as text, JSON has no decimals)."""
    sums: dict[str, list] = {}
    for insurance_type, employer, personal in items:
        entry = sums.setdefault(str(insurance_type), [0, Decimal("0"), Decimal("0")])
        entry[0] += 1
        entry[1] += employer
        entry[2] += personal
    return {
        kind: [rows, f"{employer:.2f}", f"{personal:.2f}"]
        for kind, (rows, employer, personal) in sums.items()
    }


def line_sums(
    items: Iterable[tuple[datetime.date, str, Decimal, Decimal, Decimal]],
) -> dict[str, dict[str, list]]:
    """Per line month (ISO date) and insurance type [lines, "base sum", "employer sum",
    "personal sum"] of (month, type, base, employer, personal): what MonthlyBill.line_sums holds
    (sums as text, JSON has no decimals)."""
    sums: dict[str, dict[str, list]] = {}
    for month, insurance_type, base, employer, personal in items:
        entry = sums.setdefault(month.isoformat(), {}).setdefault(
            str(insurance_type), [0, Decimal("0"), Decimal("0"), Decimal("0")]
        )
        entry[0] += 1
        entry[1] += base
        entry[2] += employer
        entry[3] += personal
    return {
        month: {
            kind: [rows, f"{base:.2f}", f"{employer:.2f}", f"{personal:.2f}"]
            for kind, (rows, base, employer, personal) in types.items()
        }
        for month, types in sums.items()
    }


def new_reference(prefix: str) -> str:
    """A business number: the prefix, today's date, 8 random hex digits (unique index backs it)."""
    return f"{prefix}{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


def contribution_types(insurance_codes: Iterable[str]) -> list[str]:
    """The contribution insurance types an enrolment's codes give, in TYPE_ORDER, no repeats."""
    wanted = {CODE_TO_TYPE[code] for code in insurance_codes if code in CODE_TO_TYPE}
    return [kind for kind in TYPE_ORDER if kind in wanted]


def month_start(value: datetime.date) -> datetime.date:
    return value.replace(day=1)


def add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def months_between(first: datetime.date, last: datetime.date) -> Iterator[datetime.date]:
    """Each month from first to last inclusive (both given as any day of the month)."""
    month, last = month_start(first), month_start(last)
    while month <= last:
        yield month
        month = add_months(month, 1)


def parse_month(text: str) -> datetime.date:
    """Parse "2026-07" or "2026-07-01" (or "202607") into the first day of that month.

    Raises ValueError for anything else.
    """
    text = (text or "").strip()
    for fmt in ("%Y-%m", "%Y-%m-%d", "%Y%m", "%Y/%m"):
        try:
            return month_start(datetime.datetime.strptime(text, fmt).date())  # noqa: DTZ007
        except ValueError:
            continue
    raise ValueError(f"not a month: {text!r}")


# Masked document numbers of list pages -------------------------------------------------------


class MaskedDocuments:
    """A page's masked document numbers from the envelopes of Person.document_number, each
    looked up once a page (a person's four lines of a bill or month share it).

    ``masked(envelope)`` is what ``mask_id_number`` gives for the value the field reads the
    envelope as; an envelope goes through portal.crypto.masked (the masked form remembered
    per process, as the roster's rows do), so no plain number is kept.
    """

    def __init__(self):
        self._read = Person._meta.get_field("document_number").from_db_value
        self._masked: dict = {}

    def __call__(self, envelope) -> str:
        masked = self._masked.get(envelope)
        if masked is None:
            if envelope:
                masked = crypto.masked(envelope, mask_id_number)
            else:  # NULL or empty: read as the field reads it
                masked = mask_id_number(self._read(envelope, None, None))
            self._masked[envelope] = masked
        return masked
