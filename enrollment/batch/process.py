"""批量增员 processing: an upload becomes a BatchImport; a task claims it and files its rows.

Each valid row becomes one add-employee filing through the add feature's one write path
(enrollment.add.bulk.add_employee_filings_submit): rows of persons new to the portal that pass
the batch's checks (enrollment.batch.checks) are filed together, chunk by chunk, with progress
saved after each chunk; any other row goes through add_employee_filing_submit on its own. A
failed row is reported with its reason and never stops the others. Each row's idempotency key
is derived from (unit, document number, start month): uploading the same file again creates no
second filing, and such rows are reported as duplicates.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import logging
import os
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.add.bulk import AddEmployeeRow, add_employee_filings_submit
from enrollment.add.services import CheckedPerson, add_employee_filing_submit
from enrollment.batch.checks import BatchChecks
from enrollment.batch.reader import batch_read_cells, cells_cache_store, cells_cached
from enrollment.batch.report import batch_report_workbook
from enrollment.batch.rows import BatchRow, batch_idempotency_key, batch_parse
from enrollment.batch.template import employment_forms_for
from enrollment.models import (
    AddEmployeeFiling,
    BatchImport,
)
from portal.audit import audit_log
from portal.models import AuditEvent

logger = logging.getLogger(__name__)


# Rows checked and filed together per transaction; progress is saved after each chunk.
CHUNK_ROWS = 500
# An upload whose task never started (the broker was down) is queued again after this long.
QUEUED_GRACE = datetime.timedelta(minutes=2)


def _new_reference() -> str:
    return f"PL{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


@transaction.atomic
def batch_import_create(*, agent, file, request=None) -> BatchImport:
    """Store an uploaded workbook as a queued import and start its task after commit."""
    from enrollment.tasks import import_batch_add

    cells = batch_read_cells(file)
    total_rows = len(cells)
    file.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(chunk)
    file.seek(0)
    cells_cache_store(digest.hexdigest(), cells)
    batch = BatchImport(
        reference=_new_reference(),
        employer=agent.employer,
        submitted_by=agent,
        original_name=os.path.basename(getattr(file, "name", "") or "upload.xlsx")[:200],
        file_sha256=digest.hexdigest(),
        total_rows=total_rows,
    )
    batch.file.save("upload.xlsx", file, save=False)
    batch.full_clean()
    batch.save()
    audit_log(
        action="enrollment.batch_uploaded",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=batch,
        request=request,
        details={"reference": batch.reference, "rows": total_rows},
    )
    batch_id = batch.pk
    transaction.on_commit(lambda: import_batch_add.delay(batch_id))
    return batch


@dataclass
class _Outcome:
    created: int = 0
    duplicate: int = 0
    error: int = 0

    @property
    def processed(self) -> int:
        return self.created + self.duplicate + self.error


def _save_progress(batch: BatchImport, outcome: _Outcome) -> None:
    BatchImport.objects.filter(pk=batch.pk).update(
        processed_rows=outcome.processed,
        created_count=outcome.created,
        duplicate_count=outcome.duplicate,
        error_count=outcome.error,
        heartbeat_at=timezone.now(),
    )


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.BATCH_IMPORT_LEASE_SECONDS)


def _claim(batch_import_id: int) -> BatchImport | None:
    """Mark the import running and return it, or None when it is finished or being run.

    A running import whose heartbeat is fresh belongs to a live worker (a redelivered or
    re-queued message must not run it twice); one whose heartbeat is older than the lease lost
    its worker and is taken over.
    """
    now = timezone.now()
    with transaction.atomic():
        batch = (
            BatchImport.objects.select_for_update()
            .select_related("employer__region", "employer__account", "submitted_by__user")
            .get(pk=batch_import_id)
        )
        if batch.status in (BatchImport.Status.DONE, BatchImport.Status.FAILED):
            return None
        if (
            batch.status == BatchImport.Status.RUNNING
            and batch.heartbeat_at is not None
            and batch.heartbeat_at > now - _lease()
        ):
            return None
        # A crashed run restarts from the first row: rows it filed already are found by their
        # idempotency keys and are counted as filed by this import again, not as duplicates.
        batch.status = BatchImport.Status.RUNNING
        batch.processed_rows = batch.created_count = 0
        batch.duplicate_count = batch.error_count = 0
        batch.heartbeat_at = now
        batch.save(
            update_fields=[
                "status",
                "processed_rows",
                "created_count",
                "duplicate_count",
                "error_count",
                "heartbeat_at",
            ]
        )
    return batch


def batch_imports_stuck_q(*, now: datetime.datetime | None = None) -> Q:
    """The imports no worker is running: running past the lease, or queued and never started."""
    now = now or timezone.now()
    stale = now - _lease()
    return (
        Q(status=BatchImport.Status.RUNNING, heartbeat_at__lt=stale)
        | Q(status=BatchImport.Status.RUNNING, heartbeat_at__isnull=True, created_at__lt=stale)
        | Q(status=BatchImport.Status.QUEUED, created_at__lt=now - QUEUED_GRACE)
    )


def batch_imports_requeue_stuck(
    *, now: datetime.datetime | None = None, pks: list[int] | None = None, actor=None
) -> int:
    """Queue again the imports no worker is running (all of them, or those of ``pks``).

    A worker killed mid-import leaves it "running" with an old heartbeat; an upload made while
    the broker was down leaves it "queued" with no message. Both are queued again (by beat, or
    by an operator in the admin, audited as ``actor``); the claim lets one worker run it, and
    rows filed already are found by their idempotency keys. Imports not stuck are left alone.
    """
    from enrollment.tasks import import_batch_add

    imports = BatchImport.objects.filter(batch_imports_stuck_q(now=now))
    if pks is not None:
        imports = imports.filter(pk__in=pks)
    stuck = imports.values_list("pk", flat=True)[:100]
    requeued = 0
    for pk in stuck:
        try:
            import_batch_add.delay(pk)
        except Exception:  # noqa: BLE001 — broker still down: the next beat tries again
            logger.warning("batch import %s not re-queued", pk)
            continue
        requeued += 1
    if actor is not None:
        audit_log(action="enrollment.batch_requeued", actor=actor, details={"count": requeued})
    return requeued


def _fail(batch: BatchImport, reason: str) -> BatchImport:
    with transaction.atomic():
        batch.status = BatchImport.Status.FAILED
        batch.failure_reason = str(reason)[:200]
        batch.finished_at = timezone.now()
        batch.save(update_fields=["status", "failure_reason", "finished_at"])
        audit_log(
            action="enrollment.batch_failed",
            actor=batch.submitted_by.user,
            employer_id=batch.employer_id,
            obj=batch,
            outcome=AuditEvent.Outcome.FAILURE,
            details={"reference": batch.reference},
        )
    return batch


def _existing_filings(employer_id: int, keys: list[uuid.UUID]) -> dict[uuid.UUID, tuple]:
    """Map the keys already used by filings to (reference, created_at)."""
    found = {}
    for start in range(0, len(keys), 2000):
        chunk = keys[start : start + 2000]
        for key, reference, created_at in AddEmployeeFiling.objects.filter(
            employer_id=employer_id, idempotency_key__in=chunk
        ).values_list("idempotency_key", "reference", "created_at"):
            found[key] = (reference, created_at)
    return found


def batch_process(batch_import_id: int, *, bulk: bool = True) -> BatchImport:
    """Turn each valid row of an import into a filing, then write the row-by-row report.

    With ``bulk`` (the default) the rows that pass every check with data loaded once are
    filed a chunk at a time (add_employee_filings_submit); any other row goes through
    add_employee_filing_submit on its own, in its own transaction, so that a bad row never
    undoes a good one. Without it every row goes on its own (the tests compare the two).
    """
    batch = _claim(batch_import_id)
    if batch is None:
        return BatchImport.objects.get(pk=batch_import_id)
    employer = batch.employer
    try:
        forms = employment_forms_for(employer.region)
        cells = cells_cached(batch.file_sha256)
        if cells is not None:
            rows = batch_parse(None, forms=forms, cells_read=cells)
        else:
            with batch.file.open("rb") as handle:
                rows = batch_parse(io.BytesIO(handle.read()), forms=forms)
    except ValidationError as exc:
        return _fail(batch, " ".join(exc.messages))
    if batch.total_rows != len(rows):
        batch.total_rows = len(rows)
        batch.save(update_fields=["total_rows"])

    keys: dict[int, uuid.UUID] = {}
    for index, row in enumerate(rows):
        if not row.errors:
            keys[index] = batch_idempotency_key(
                employer_id=employer.pk,
                document_number=row.fields["document_number"],
                start_month=row.fields["start_month"],
            )
    existing = _existing_filings(employer.pk, list(set(keys.values())))
    checks = BatchChecks.load(batch, rows) if bulk else None
    agent = batch.submitted_by
    submit = _submitter(batch)
    results: dict[int, str | tuple[str, str]] = {}
    first_row_of_key: dict[uuid.UUID, int] = {}
    outcome = _Outcome()
    for start in range(0, len(rows), CHUNK_ROWS):
        to_file: list[int] = []
        for index in range(start, min(start + CHUNK_ROWS, len(rows))):
            row, key = rows[index], keys.get(index)
            if row.errors:
                outcome.error += 1
            elif key in first_row_of_key:
                outcome.duplicate += 1
                results[index] = (
                    _("未导入(重复)"),
                    _("与第%d行为同一人员同一参保起始年月,未重复增员") % (first_row_of_key[key]),
                )
            elif key in existing and existing[key][1] < batch.created_at:
                outcome.duplicate += 1
                reference = existing[key][0]
                results[index] = (
                    _("未导入(重复)"),
                    _("该人员已于此前增员(业务编号 %s),未重复增员") % reference,
                )
            else:
                first_row_of_key[key] = row.number
                to_file.append(index)
        singles = to_file
        if checks is not None:
            singles, together = [], []
            for index in to_file:
                checked = None if keys[index] in existing else checks.check(rows[index])
                if checked is None:
                    singles.append(index)
                else:
                    together.append((index, checked))
            try:
                filings = add_employee_filings_submit(
                    agent=agent,
                    rows=[_filing_row(rows[i], keys[i], checked) for i, checked in together],
                    generate_form=False,
                    batch_import=batch,
                )
            except (IntegrityError, ValidationError):
                # A concurrent filing took a key or a person first (or a row slipped past the
                # checks): file the chunk row by row, so that each row gets its own outcome.
                singles = to_file
            else:
                for (index, _checked), filing in zip(together, filings, strict=True):
                    outcome.created += 1
                    results[index] = _("成功:已提交增员申请,业务编号 %s") % filing.reference
        for index in sorted(singles):
            row = rows[index]
            try:
                filing = submit(row, keys[index])
            except ValidationError as exc:
                row.add_validation_error(exc)
                outcome.error += 1
            else:
                outcome.created += 1
                results[index] = _("成功:已提交增员申请,业务编号 %s") % filing.reference
        _save_progress(batch, outcome)

    report = batch_report_workbook(rows, results)
    with transaction.atomic():
        batch.report.save(f"{batch.reference}-report.xlsx", ContentFile(report), save=False)
        batch.status = BatchImport.Status.DONE
        batch.processed_rows = outcome.processed
        batch.created_count = outcome.created
        batch.duplicate_count = outcome.duplicate
        batch.error_count = outcome.error
        batch.finished_at = timezone.now()
        batch.save(
            update_fields=[
                "report",
                "status",
                "processed_rows",
                "created_count",
                "duplicate_count",
                "error_count",
                "finished_at",
            ]
        )
        audit_log(
            action="enrollment.batch_processed",
            actor=batch.submitted_by.user,
            employer_id=employer.pk,
            obj=batch,
            details={
                "reference": batch.reference,
                "rows": len(rows),
                "created": outcome.created,
                "duplicates": outcome.duplicate,
                "errors": outcome.error,
            },
        )
    return batch


def _filing_row(row: BatchRow, key: uuid.UUID, checked: CheckedPerson) -> AddEmployeeRow:
    """The add feature's row input of a batch row that passed the batch's checks."""
    fields = row.fields
    return AddEmployeeRow(
        idempotency_key=key,
        checked=checked,
        name=fields["name"],
        nationality=fields["nationality"],
        hukou_type=fields["hukou_type"],
        phone=fields["phone"],
        employment_start=fields["employment_start"],
        contribution_base=fields["contribution_base"],
    )


def _submitter(batch: BatchImport):
    """Return a function filing one valid row through the add-employee service."""
    agent = batch.submitted_by

    def submit(row: BatchRow, key: uuid.UUID) -> AddEmployeeFiling:
        fields = row.fields
        return add_employee_filing_submit(
            agent=agent,
            idempotency_key=key,
            name=fields["name"],
            document_type=fields["document_type"],
            document_number=fields["document_number"],
            sex=fields["sex"],
            birth_date=fields["birth_date"],
            nationality=fields["nationality"],
            hukou_type=fields["hukou_type"],
            phone=fields["phone"],
            employment_form=fields["employment_form"],
            insurance_codes=fields["insurance_codes"],
            start_month=fields["start_month"],
            employment_start=fields["employment_start"],
            contribution_base=fields["contribution_base"],
            generate_form=False,
            batch_import=batch,
        )

    return submit
