"""Roster exports (XLSX and CSV) for the unit's own records.

Personal data is masked (GB/T 35273 display limits) unless the caller asks for the full export,
which the view allows only to agents who may export and which is audited. ID numbers are
written as text: Excel keeps only 15 significant digits of a number.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from enrollment.models import Enrolment, InsuranceCode, Person
from portal.compiled_sql import CompiledQuery
from portal.crypto import as_stored, decrypt, masked_many
from portal.identifiers import mask_id_number, mask_phone
from portal.spreadsheets import MONEY, csv_chunks, xlsx_file

CHUNK = 2000
# Cells starting with these are formulas to a spreadsheet (CSV/formula injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ID_COLUMN = 2


def roster_headers(*, full: bool) -> list[str]:
    headers = [
        _("姓名"),
        _("证件类型"),
        _("证件号码"),
        _("性别"),
        _("手机号"),
        _("户籍类型"),
        _("用工形式"),
        _("参保险种"),
        _("参保起始年月"),
        _("月缴费工资"),
        _("参保状态"),
        _("末次缴费年月"),
    ]
    if full:
        headers.insert(4, _("出生日期"))
    return headers


def _safe(value: str) -> str:
    return "'" + value if value and value.startswith(FORMULA_PREFIXES) else value


def _labels(model, field_name: str) -> dict:
    """A field's choice labels, translated once (in the active language) for a whole export."""
    return {value: str(label) for value, label in model._meta.get_field(field_name).flatchoices}


def _month_text(month) -> str:
    return month.strftime("%Y-%m")


def _insurance_text(codes: tuple, labels: dict) -> str:
    return "、".join(str(labels.get(code, code)) for code in codes)


# The columns roster_export_rows reads, in its order (person and employment form joined); the
# last three are read as stored (STORED_AS_TEXT), without their fields' conversion.
EXPORT_COLUMNS = (
    "person__name",
    "person__document_type",
    "person__sex",
    "person__hukou_type",
    "employment_form__name",
    "start_month",
    "contribution_base",
    "status",
    "last_contribution_month",
    "person__birth_date",
    "document_envelope",
    "phone_envelope",
    "insurance_codes_json",
)
# As the roster page's rows (enrollment.roster.selectors.STORED_AS_TEXT): the document number's
# and the phone's envelopes are masked through portal.crypto.masked_many (remembered per
# ciphertext; only the masked form) or, for a full export, decrypted row by row (the plain
# value is never kept); the insurance codes' JSON text is printed once per distinct text.
STORED_AS_TEXT = {
    "document_envelope": "person__document_number",
    "phone_envelope": "person__phone",
    "insurance_codes_json": "insurance_codes",
}


def _export_values(queryset: QuerySet) -> QuerySet:
    as_text = {name: as_stored(column) for name, column in STORED_AS_TEXT.items()}
    return queryset.annotate(**as_text).order_by("pk").values_list(*EXPORT_COLUMNS)


def _masked_column(envelopes: list, mask) -> list[str]:
    """mask(decrypt(envelope)) of each envelope through crypto.masked_many; an empty one (no
    value: the field read it as is) as "", which the masks give for no value too."""
    present = iter(masked_many([envelope for envelope in envelopes if envelope], mask))
    return [next(present) if envelope else "" for envelope in envelopes]


def _plain_column(envelopes: list) -> list:
    """decrypt(envelope) of each envelope; an empty one as the field reads it (as is)."""
    return [decrypt(envelope) if envelope else envelope for envelope in envelopes]


# The whole unit's export, unfiltered (the roster page's export without a search or filter):
# compiled once per process, its rows fetched at once (the page streams at most a few thousand).
_UNIT_EXPORT = CompiledQuery(
    lambda unit: _export_values(Enrolment.objects.filter(employer_id=unit)), "unit"
)


def roster_export_rows(queryset: QuerySet, *, full: bool) -> Iterator[list[str]]:
    """Yield one list of strings per enrolment, masked unless ``full``.

    The rows are read as plain values (one values_list, the choice labels translated once per
    export) rather than as model instances with their display methods: the same cells, without
    building two model objects and translating four labels per row. The personal data and the
    insurance codes are read as stored (STORED_AS_TEXT) and converted a chunk of rows at a time.
    """
    return _export_rows(_export_values(queryset).iterator(chunk_size=CHUNK), full=full)


def roster_export_rows_of_unit(unit_id: int, *, full: bool) -> Iterator[list[str]]:
    """:func:`roster_export_rows` of all the unit's enrolments (roster_for_agent without a
    filter), through a query compiled once per process; for an export streamed at once."""
    return _export_rows(iter(_UNIT_EXPORT.rows(unit=unit_id)), full=full)


def _export_rows(rows: Iterator[tuple], *, full: bool) -> Iterator[list[str]]:
    """The export's rows of tuples of EXPORT_COLUMNS."""
    insurance = {value: str(label) for value, label in InsuranceCode.choices}
    document_types = _labels(Person, "document_type")
    sexes = _labels(Person, "sex")
    hukou_types = _labels(Person, "hukou_type")
    statuses = _labels(Enrolment, "status")
    # Few distinct months and insurance sets in a roster: each formatted once per export.
    months: dict = {None: ""}
    insurance_sets: dict = {}
    while chunk := list(islice(rows, CHUNK)):
        if full:
            numbers = _plain_column([row[10] for row in chunk])
            phones = [phone or "" for phone in _plain_column([row[11] for row in chunk])]
        else:
            numbers = _masked_column([row[10] for row in chunk], mask_id_number)
            phones = _masked_column([row[11] for row in chunk], mask_phone)
        for (
            name,
            document_type,
            sex,
            hukou_type,
            employment_form,
            start_month,
            contribution_base,
            status,
            last_month,
            birth_date,
            _document_envelope,
            _phone_envelope,
            codes_json,
        ), number, phone in zip(chunk, numbers, phones, strict=True):
            codes = insurance_sets.get(codes_json)
            if codes is None:
                codes = insurance_sets[codes_json] = _insurance_text(
                    tuple(json.loads(codes_json)), insurance
                )
            start = months.get(start_month)
            if start is None:
                start = months[start_month] = _month_text(start_month)
            last = months.get(last_month)
            if last is None:
                last = months[last_month] = _month_text(last_month)
            row = [
                _safe(name),
                document_types.get(document_type, document_type),
                number,
                sexes.get(sex, sex),
                phone,
                hukou_types.get(hukou_type, hukou_type),
                employment_form,
                codes,
                start,
                contribution_base,  # a number: Excel can sum it
                statuses[status],
                last,
            ]
            if full:
                row.insert(4, birth_date.isoformat())
            yield row


def roster_xlsx(rows: Iterable[list[str]], *, full: bool) -> tempfile.SpooledTemporaryFile:
    """Write the rows into a workbook; return the file, rewound."""
    return xlsx_file(
        title=_("参保人员花名册"),
        headers=roster_headers(full=full),
        rows=rows,
        text_columns=(ID_COLUMN,),
        widths={"A": 12, "C": 22},
        number_formats={roster_headers(full=full).index(_("月缴费工资")): MONEY},
    )


def roster_csv_chunks(rows: Iterable[list[str]], *, full: bool) -> Iterator[str]:
    """Yield CSV text with a UTF-8 byte-order mark, so that Excel opens Chinese correctly."""
    return csv_chunks(headers=roster_headers(full=full), rows=rows)


# Large exports --------------------------------------------------------------------------------
# The roster page streams a small export at once; a large one becomes a background job with
# progress. Jobs and their files belong to contributions.exports, which builds on this app: it
# registers its job starter here from its AppConfig.ready() (a registry, as portal.review's,
# instead of an import the wrong way).

_large_export_starter: Callable[..., object | None] | None = None


def large_export_register(starter: Callable[..., object | None]) -> None:
    """Register ``starter(agent=, fmt=, full=, params=, request=)``: it queues the export as a job
    and returns the job (whose get_absolute_url() shows its progress), or None to stream it."""
    global _large_export_starter
    _large_export_starter = starter


def large_export_start(*, agent, fmt: str, full: bool, params: dict, request=None):
    """Queue the roster export as a job when it is too large to stream; None: stream it."""
    if _large_export_starter is None:
        return None
    return _large_export_starter(agent=agent, fmt=fmt, full=full, params=params, request=request)
