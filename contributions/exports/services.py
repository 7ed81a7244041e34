"""Exports of the unit's own data (roster and contribution records) as XLSX and CSV.

Small exports are streamed by the view; larger ones become an ExportJob that the task
contributions.tasks.export_run writes to default_storage; the file is kept EXPORT_KEEP_DAYS.
Personal data is masked unless the agent re-entered the password (audited as export.full).
The roster's columns and rows come from enrollment.roster.exports; the records' are defined here.
"""

from __future__ import annotations

import datetime
import logging
import tempfile
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from contributions.common import new_reference
from contributions.models import BillKind, BillStatus, ExportJob, InsuranceType
from contributions.records.selectors import records_for_agent
from enrollment.roster.exports import (
    _safe,
    roster_csv_chunks,
    roster_export_rows,
    roster_headers,
    roster_xlsx,
)
from enrollment.roster.selectors import roster_for_agent
from portal.audit import audit_log
from portal.spreadsheets import csv_chunks, xlsx_file

logger = logging.getLogger(__name__)

CHUNK = 2000
EXPORT_KEEP_DAYS = 7
RECORD_ID_COLUMN = 2
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


def stream_max_rows() -> int:
    """Exports up to this many rows are streamed at once; larger ones go to a task."""
    return getattr(settings, "CONTRIBUTIONS_EXPORT_STREAM_MAX_ROWS", 5000)


# Records ------------------------------------------------------------------------------------


def record_headers(*, full: bool = False) -> list[str]:
    return [
        _("费款所属期"),
        _("姓名"),
        _("证件号码"),
        _("险种"),
        _("缴费基数"),
        _("单位费率"),
        _("个人费率"),
        _("单位缴费"),
        _("个人缴费"),
        _("合计"),
        _("核定类型"),
        _("核定单号"),
        _("状态"),
    ]


def record_export_rows(queryset: QuerySet, *, full: bool) -> Iterator[list[str]]:
    """Yield one list of strings per record, the ID number masked unless ``full``."""
    rows = (
        queryset.select_related("person", "bill")
        .only(
            "month",
            "insurance_type",
            "base",
            "employer_rate",
            "personal_rate",
            "employer_amount",
            "personal_amount",
            "person__name",
            "person__document_number",
            "bill__reference",
            "bill__kind",
            "bill__status",
        )
        .order_by("month", "person_id", "pk")
    )
    types = dict(InsuranceType.choices)
    kinds = dict(BillKind.choices)
    statuses = dict(BillStatus.choices)
    for line in rows.iterator(chunk_size=CHUNK):
        person = line.person
        yield [
            f"{line.month:%Y-%m}",
            _safe(person.name),
            person.document_number if full else person.masked_document_number,
            str(types.get(line.insurance_type, line.insurance_type)),
            f"{line.base:.2f}",
            f"{line.employer_rate.normalize():f}",
            f"{line.personal_rate.normalize():f}",
            f"{line.employer_amount:.2f}",
            f"{line.personal_amount:.2f}",
            f"{line.employer_amount + line.personal_amount:.2f}",
            str(kinds.get(line.bill.kind, line.bill.kind)),
            line.bill.reference,
            str(statuses.get(line.bill.status, line.bill.status)),
        ]


def records_xlsx(rows: Iterable[list[str]], *, full: bool) -> tempfile.SpooledTemporaryFile:
    """Write record rows into a workbook; ID numbers as text. Return it rewound."""
    return xlsx_file(
        title=_("缴费记录"),
        headers=record_headers(full=full),
        rows=rows,
        text_columns=(RECORD_ID_COLUMN,),
        widths={"B": 12, "C": 22, "D": 16, "L": 22},
    )


def records_csv_chunks(rows: Iterable[list[str]], *, full: bool) -> Iterator[str]:
    """Yield CSV text with a UTF-8 byte-order mark, so that Excel opens Chinese correctly."""
    return csv_chunks(headers=record_headers(full=full), rows=rows)


# What an export contains --------------------------------------------------------------------


def export_queryset(*, agent, kind: str, params: dict) -> QuerySet:
    """The rows of an export of the agent's unit, from the (already validated) filters."""
    if kind == ExportJob.Kind.ROSTER:
        return roster_for_agent(
            agent,
            q=params.get("q", ""),
            status=params.get("status", ""),
            insurance_code=params.get("insurance_code", ""),
        )
    return records_for_agent(
        agent,
        q=params.get("q", ""),
        month_from=datetime.date.fromisoformat(params["month_from"]),
        month_to=datetime.date.fromisoformat(params["month_to"]),
        insurance_type=params.get("insurance_type", ""),
    )


def export_headers(kind: str, *, full: bool) -> list[str]:
    return roster_headers(full=full) if kind == ExportJob.Kind.ROSTER else record_headers()


def export_rows(queryset: QuerySet, kind: str, *, full: bool) -> Iterator[list[str]]:
    if kind == ExportJob.Kind.ROSTER:
        return roster_export_rows(queryset, full=full)
    return record_export_rows(queryset, full=full)


def export_xlsx(rows, kind: str, *, full: bool):
    if kind == ExportJob.Kind.ROSTER:
        return roster_xlsx(rows, full=full)
    return records_xlsx(rows, full=full)


def export_csv_chunks(rows, kind: str, *, full: bool) -> Iterator[str]:
    if kind == ExportJob.Kind.ROSTER:
        return roster_csv_chunks(rows, full=full)
    return records_csv_chunks(rows, full=full)


def export_filename(kind: str, fmt: str, *, full: bool) -> str:
    stamp = timezone.localtime().strftime("%Y%m%d%H%M")
    return f"{kind}-{stamp}-{'full' if full else 'masked'}.{fmt}"


def export_audit_details(*, kind: str, fmt: str, params: dict, rows: int) -> dict:
    """What the audit row keeps: never the search term (it may be a name or ID number)."""
    details = {"kind": kind, "format": fmt, "rows": rows, "searched": bool(params.get("q"))}
    for name in ("month_from", "month_to", "insurance_type", "status", "insurance_code"):
        if params.get(name):
            details[name] = params[name]
    return details


def export_audit(*, agent, request, kind: str, fmt: str, full: bool, params: dict, rows: int):
    """Audit a streamed export (a full one as export.full)."""
    audit_log(
        action="export.full" if full else f"export.{kind}",
        actor=agent.user,
        employer_id=agent.employer_id,
        request=request,
        details=export_audit_details(kind=kind, fmt=fmt, params=params, rows=rows),
    )


# Jobs -----------------------------------------------------------------------------------------


@transaction.atomic
def export_job_create(
    *, agent, kind: str, fmt: str, full: bool, params: dict, rows: int, request=None
) -> ExportJob:
    """Queue a large export of the agent's unit; the task starts after commit."""
    job = ExportJob(
        reference=new_reference("DC"),
        employer_id=agent.employer_id,
        requested_by=agent,
        kind=kind,
        format=fmt,
        params=params,
        full=full,
        row_count=rows,
    )
    job.full_clean(exclude=["file"])
    job.save()
    audit_log(
        action="export.full" if full else "export.job_created",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=job,
        request=request,
        details={
            "job": job.reference,
            "queued": True,
            **export_audit_details(kind=kind, fmt=fmt, params=params, rows=rows),
        },
    )
    from contributions.exports.tasks import export_run

    transaction.on_commit(lambda: export_run.delay(job.pk))
    return job


def export_jobs_for_agent(agent) -> QuerySet:
    """The unit's export jobs, newest first (a full export only for the agent who asked)."""
    from django.db.models import Q

    return (
        ExportJob.objects.filter(employer_id=agent.employer_id)
        .filter(Q(full=False) | Q(requested_by_id=agent.pk))
        .select_related("requested_by")
        .order_by("-created_at", "-pk")
    )


def export_job_get_for_agent(*, agent, reference: str) -> ExportJob:
    """One job of the unit; 404 whether missing, another unit's, or another agent's full export."""
    return get_object_or_404(export_jobs_for_agent(agent), reference=reference)


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Write a queued job's file; a job already started or finished is left alone."""
    with transaction.atomic():
        job = (
            ExportJob.objects.select_for_update()
            .filter(pk=job_id, status=ExportJob.Status.QUEUED)
            .first()
        )
        if job is None:
            return None
        job.status = ExportJob.Status.RUNNING
        job.save(update_fields=["status"])
    agent = job.requested_by
    try:
        queryset = export_queryset(agent=agent, kind=job.kind, params=job.params)
        counter = _Counter(export_rows(queryset, job.kind, full=job.full))
        name = f"{job.reference}.{job.format}"
        if job.format == ExportJob.Format.CSV:
            out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
            for chunk in export_csv_chunks(counter, job.kind, full=job.full):
                out.write(chunk.encode("utf-8"))
            out.seek(0)
        else:
            out = export_xlsx(counter, job.kind, full=job.full)
        with transaction.atomic():
            job.file.save(name, File(out, name=name), save=False)
            job.status = ExportJob.Status.DONE
            job.row_count = counter.count
            job.finished_at = timezone.now()
            job.expires_at = job.finished_at + datetime.timedelta(days=EXPORT_KEEP_DAYS)
            job.save(update_fields=["file", "status", "row_count", "finished_at", "expires_at"])
            audit_log(
                action="export.job_done",
                employer_id=job.employer_id,
                obj=job,
                details={"job": job.reference, "rows": counter.count},
            )
    except Exception as exc:  # noqa: BLE001 — the job records the failure for the agent
        logger.exception("export job %s failed", job.reference)
        with transaction.atomic():
            job.status = ExportJob.Status.FAILED
            job.error = _("导出失败,请稍后重新导出;如仍失败请拨打 12333 咨询")[:200]
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "error", "finished_at"])
            audit_log(
                action="export.job_failed",
                employer_id=job.employer_id,
                obj=job,
                outcome="failure",
                details={"job": job.reference, "error": type(exc).__name__},
            )
    return job


class _Counter:
    """Count the rows an iterator yields."""

    def __init__(self, rows):
        self.rows = iter(rows)
        self.count = 0

    def __iter__(self):
        for row in self.rows:
            self.count += 1
            yield row


def export_jobs_cleanup(*, now: datetime.datetime | None = None) -> int:
    """Delete the files of expired jobs (the job rows stay, without a file); return how many."""
    now = now or timezone.now()
    count = 0
    for job in ExportJob.objects.filter(expires_at__lte=now).exclude(file="").iterator():
        name = job.file.name
        with transaction.atomic():
            job.file = ""
            job.save(update_fields=["file"])
            audit_log(
                action="export.file_expired",
                employer_id=job.employer_id,
                obj=job,
                details={"job": job.reference},
            )
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete expired export file of job %s", job.reference)
        count += 1
    return count
