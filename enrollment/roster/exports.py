"""Roster exports (XLSX and CSV) for the unit's own records.

Personal data is masked (GB/T 35273 display limits) unless the caller asks for the full export,
which the view allows only to agents who may export and which is audited. ID numbers are
written as text: Excel keeps only 15 significant digits of a number.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from enrollment.models import Enrolment, InsuranceCode, Person
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


def _memo(cache: dict, key, make, *args):
    try:
        return cache[key]
    except KeyError:
        cache[key] = value = make(key, *args)
        return value


def _month_text(month) -> str:
    return month.strftime("%Y-%m")


def _insurance_text(codes: tuple, labels: dict) -> str:
    return "、".join(str(labels.get(code, code)) for code in codes)


def roster_export_rows(queryset: QuerySet, *, full: bool) -> Iterator[list[str]]:
    """Yield one list of strings per enrolment, masked unless ``full``.

    The rows are read as plain values (one values_list, the choice labels translated once per
    export) rather than as model instances with their display methods: the same cells, without
    building two model objects and translating four labels per row.
    """
    rows = queryset.order_by("pk").values_list(
        "person__name",
        "person__document_type",
        "person__document_number",
        "person__sex",
        "person__phone",
        "person__hukou_type",
        "employment_form__name",
        "insurance_codes",
        "start_month",
        "contribution_base",
        "status",
        "last_contribution_month",
        "person__birth_date",
    )
    insurance = {value: str(label) for value, label in InsuranceCode.choices}
    document_types = _labels(Person, "document_type")
    sexes = _labels(Person, "sex")
    hukou_types = _labels(Person, "hukou_type")
    statuses = _labels(Enrolment, "status")
    # Few distinct months and insurance sets in a roster: each formatted once per export.
    months: dict = {None: ""}
    insurance_sets: dict = {}
    for (
        name,
        document_type,
        document_number,
        sex,
        phone,
        hukou_type,
        employment_form,
        codes,
        start_month,
        contribution_base,
        status,
        last_month,
        birth_date,
    ) in rows.iterator(chunk_size=CHUNK):
        row = [
            _safe(name),
            document_types.get(document_type, document_type),
            document_number if full else mask_id_number(document_number),
            sexes.get(sex, sex),
            (phone if full else (mask_phone(phone) if phone else "")) or "",
            hukou_types.get(hukou_type, hukou_type),
            employment_form,
            _memo(insurance_sets, tuple(codes), _insurance_text, insurance),
            _memo(months, start_month, _month_text),
            contribution_base,  # a number: Excel can sum it
            statuses[status],
            _memo(months, last_month, _month_text),
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
