"""Exports of the unit's own data (roster and contribution records) as XLSX and CSV.

Small exports are streamed by the view; larger ones become an ExportJob that the task
contributions.tasks.export_run writes to default_storage; the file is kept EXPORT_KEEP_DAYS.
Personal data is masked unless employers.accounts.reauth allows a full export (the export
permission and the password again, audited as export.full), the one rule the roster's full
export follows too; a queued full job is written and downloaded only while the rule still holds.
The roster's columns and rows come from enrollment.roster.exports; the records' are defined here.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import tempfile
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contributions.common import new_reference
from contributions.exports.selectors import (
    export_job_expired,
    export_job_get_for_agent,
    export_kinds_for_agent,
    export_queryset,
    export_record_filters,
)
from contributions.models import BillKind, BillStatus, ExportJob, InsuranceType
from contributions.records.selectors import records_totals_of
from employers.accounts.reauth import full_export_allowed, full_export_authorise
from enrollment.roster.exports import (
    _safe,
    roster_csv_chunks,
    roster_export_rows,
    roster_headers,
    roster_xlsx,
)
from enrollment.roster.selectors import UnitRosterPaginator
from portal.audit import audit_log
from portal.spreadsheets import MONEY, PERCENT, csv_chunks, xlsx_file

logger = logging.getLogger(__name__)

CHUNK = 2000
PROGRESS_EVERY = 500  # rows between two progress updates of a job (one short UPDATE each)
EXPORT_KEEP_DAYS = 7
RECORD_ID_COLUMN = 2
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
NOT_READY = gettext_lazy("导出文件尚未生成完毕,请稍后刷新本页。")
EXPIRED = gettext_lazy("导出文件已超过保存期限并已删除,请重新导出。")
FULL_NO_LONGER_ALLOWED = gettext_lazy(
    "您已无完整导出的权限,完整导出的文件不再提供;可重新脱敏导出。"
)


def stream_max_rows() -> int:
    """Exports up to this many rows are streamed at once; larger ones go to a task.

    No request should do more than about a second of work: writing 5,000 record rows into a
    workbook alone took 0.9 s of CPU on the 2-core machine, before reading them; 2,000 rows
    stay well within the second, and every path that exports (the exports page, the roster
    page) sends more than that to a job.
    """
    return getattr(settings, "CONTRIBUTIONS_EXPORT_STREAM_MAX_ROWS", 2000)


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


def record_export_rows(queryset: QuerySet, *, full: bool) -> Iterator[list]:
    """Yield one row per record, the ID number masked unless ``full``; amounts and rates as
    Decimals (numbers in the workbook, plain digits in CSV)."""
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
            line.base,
            line.employer_rate,
            line.personal_rate,
            line.employer_amount,
            line.personal_amount,
            line.employer_amount + line.personal_amount,
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
        number_formats={4: MONEY, 5: PERCENT, 6: PERCENT, 7: MONEY, 8: MONEY, 9: MONEY},
    )


def records_csv_chunks(rows: Iterable[list[str]], *, full: bool) -> Iterator[str]:
    """Yield CSV text with a UTF-8 byte-order mark, so that Excel opens Chinese correctly."""
    return csv_chunks(headers=record_headers(full=full), rows=rows)


# What an export contains --------------------------------------------------------------------


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


EXPORT_FILE_NAMES = {"roster": "参保人员花名册", "records": "缴费记录"}


def export_filename(kind: str, fmt: str, *, full: bool) -> str:
    """A Chinese file name like the other downloads, stamped with the local (Beijing) time."""
    stamp = timezone.localtime().strftime("%Y%m%d%H%M")
    name = EXPORT_FILE_NAMES.get(kind, kind)
    return f"{name}-{stamp}-{'完整' if full else '脱敏'}.{fmt}"


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


# Stream now or queue a job ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ExportPlan:
    queryset: QuerySet
    rows: int
    stream: bool  # True: the response streams the rows now; False: a background job writes them
    job: ExportJob | None = None  # the queued job, once export_start made it


def export_plan(*, agent, kind: str, params: dict) -> ExportPlan:
    """Count an export's rows and decide how it is delivered: up to stream_max_rows() rows are
    streamed at once, more become a job. Records are counted as the record page counts them."""
    queryset = export_queryset(agent=agent, kind=kind, params=params)
    if kind == ExportJob.Kind.RECORDS:
        filters = export_record_filters(params)
        rows = records_totals_of(agent=agent, queryset=queryset, filters=filters).rows
    else:
        rows = queryset.count()
    return ExportPlan(queryset=queryset, rows=rows, stream=rows <= stream_max_rows())


def export_start(
    *, agent, kind: str, fmt: str, full: bool, params: dict, password: str = "", request=None
) -> ExportPlan:
    """Start an export of the agent's unit: queue a large one as a job; audit a small one,
    whose rows (plan.queryset) the caller streams. A full export needs full_export_authorise
    (the ValidationError it raises says why not)."""
    if full:
        full_export_authorise(
            agent=agent,
            password=password,
            action="export.full",
            request=request,
            details={"kind": kind, "format": fmt},
        )
    plan = export_plan(agent=agent, kind=kind, params=params)
    if not plan.stream:
        job = export_job_create(
            agent=agent,
            kind=kind,
            fmt=fmt,
            full=full,
            params=params,
            rows=plan.rows,
            request=request,
        )
        return dataclasses.replace(plan, job=job)
    export_audit(
        agent=agent, request=request, kind=kind, fmt=fmt, full=full, params=params, rows=plan.rows
    )
    return plan


def roster_export_job_start(*, agent, fmt: str, full: bool, params: dict, request=None):
    """The roster page's hook (enrollment.roster.exports.large_export_register): queue the
    roster export of the agent's unit as a job when it is too large to stream, else None.
    A full export is authorised by the roster page before it calls this."""
    if " ".join((params.get("q") or "").split()):
        rows = export_queryset(agent=agent, kind=ExportJob.Kind.ROSTER, params=params).count()
    else:  # without a search: the roster page's COUNT of the unit, compiled once per process
        rows = UnitRosterPaginator(
            agent.employer_id,
            1,
            status=params.get("status") or "",
            insurance_code=params.get("insurance_code") or "",
        ).count
    if rows <= stream_max_rows():
        return None
    return export_job_create(
        agent=agent,
        kind=ExportJob.Kind.ROSTER,
        fmt=fmt,
        full=full,
        params=params,
        rows=rows,
        request=request,
    )


# Jobs -----------------------------------------------------------------------------------------


@transaction.atomic
def export_job_create(
    *, agent, kind: str, fmt: str, full: bool, params: dict, rows: int, request=None
) -> ExportJob:
    """Queue a large export of the agent's unit (a full one authorised by export_start); the
    task starts after commit."""
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


def export_job_download(*, agent, reference: str, request=None):
    """Open a finished job's file for the agent and audit the download; return (job, file).

    Refused with a ValidationError (code not_ready or expired) while there is no file to give;
    404 for a job the agent may not see, or a file the storage cannot open.
    """
    job = export_job_get_for_agent(agent=agent, reference=reference, any_kind=True)
    if job.full and not full_export_allowed(agent):
        raise ValidationError(FULL_NO_LONGER_ALLOWED, code="no_permission")
    if job.kind not in export_kinds_for_agent(agent):
        raise Http404
    if job.status != ExportJob.Status.DONE:
        raise ValidationError(NOT_READY, code="not_ready")
    if export_job_expired(job):
        raise ValidationError(EXPIRED, code="expired")
    try:
        handle = job.file.open("rb")
    except OSError:
        raise Http404 from None
    audit_log(
        action="export.downloaded",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=job,
        request=request,
        details={"job": job.reference, "full": job.full},
    )
    return job, handle


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
    if job.full and not full_export_allowed(agent):  # the role was taken away since
        _job_failed(job, error=str(FULL_NO_LONGER_ALLOWED), reason="no_permission")
        return job
    try:
        queryset = export_queryset(agent=agent, kind=job.kind, params=job.params)
        counter = _Counter(
            export_rows(queryset, job.kind, full=job.full),
            on_chunk=lambda done: ExportJob.objects.filter(pk=job.pk).update(rows_done=done),
        )
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
            job.row_count = job.rows_done = counter.count
            job.finished_at = timezone.now()
            job.expires_at = job.finished_at + datetime.timedelta(days=EXPORT_KEEP_DAYS)
            job.save(
                update_fields=[
                    "file",
                    "status",
                    "row_count",
                    "rows_done",
                    "finished_at",
                    "expires_at",
                ]
            )
            audit_log(
                action="export.job_done",
                employer_id=job.employer_id,
                obj=job,
                details={"job": job.reference, "rows": counter.count},
            )
    except Exception as exc:  # noqa: BLE001 — the job records the failure for the agent
        logger.exception("export job %s failed", job.reference)
        _job_failed(
            job,
            error=_("导出失败,请稍后重新导出;如仍失败请拨打 12333 咨询"),
            reason=type(exc).__name__,
        )
    return job


@transaction.atomic
def _job_failed(job: ExportJob, *, error: str, reason: str) -> None:
    job.status = ExportJob.Status.FAILED
    job.error = error[:200]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])
    audit_log(
        action="export.job_failed",
        employer_id=job.employer_id,
        obj=job,
        outcome="failure",
        details={"job": job.reference, "error": reason},
    )


class _Counter:
    """Count the rows an iterator yields; report the count after every PROGRESS_EVERY rows."""

    def __init__(self, rows, *, on_chunk=None):
        self.rows = iter(rows)
        self.count = 0
        self.on_chunk = on_chunk

    def __iter__(self):
        for row in self.rows:
            self.count += 1
            if self.on_chunk is not None and self.count % PROGRESS_EVERY == 0:
                self.on_chunk(self.count)
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
