"""Files of enrolment filings left in storage without a row (a transaction rolled back).

Attachments, generated registration forms and batch-import uploads and reports are written to
storage before the transaction that records them commits; when it rolls back, the file stays
with no row pointing at it. cleanup_orphan_files walks the storage prefixes of
enrollment.models' upload_to functions through the storage API (so it works on the file system
and on S3-compatible storage alike), and deletes a file only when no row refers to it and it is
older than the threshold: a younger file may belong to a transaction still open.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.utils import timezone

from enrollment.models import AddEmployeeFiling, Attachment, BatchImport

logger = logging.getLogger(__name__)

# Each prefix (the first folder of an upload_to function) and the file fields stored under it.
PREFIXES = {
    "attachments": [(Attachment, "file")],  # attachment_upload_to
    "forms": [(AddEmployeeFiling, "registration_form")],  # generated_upload_to
    "imports": [(BatchImport, "file"), (BatchImport, "report")],  # import_upload_to
}
MIN_AGE_HOURS = 1  # never less: an upload's transaction may still be open
LOOKUP_CHUNK = 500


@dataclass
class CleanupResult:
    scanned: int = 0
    referenced: int = 0
    too_recent: int = 0
    orphaned: int = 0
    deleted: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _walk(storage, folder: str) -> Iterator[str]:
    """Every file name under ``folder``, depth first (listdir works on S3 prefixes too)."""
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{folder}/{name}"
    for directory in sorted(directories):
        yield from _walk(storage, f"{folder}/{directory}")


def _referenced(prefix: str, names: list[str]) -> set[str]:
    found: set[str] = set()
    for model, field_name in PREFIXES[prefix]:
        found.update(
            model.objects.filter(**{f"{field_name}__in": names}).values_list(field_name, flat=True)
        )
    return found


def cleanup_orphan_files(
    *, older_than_hours: float = 24, dry_run: bool = False, storage=None, now=None
) -> CleanupResult:
    """Delete (or with ``dry_run`` only count) unreferenced files older than the threshold."""
    if older_than_hours < MIN_AGE_HOURS:
        raise ValueError(f"older_than_hours must be at least {MIN_AGE_HOURS}")
    storage = storage or default_storage
    cutoff = (now or timezone.now()) - datetime.timedelta(hours=older_than_hours)
    result = CleanupResult()
    for prefix in PREFIXES:
        batch: list[str] = []
        for name in _walk(storage, prefix):
            result.scanned += 1
            batch.append(name)
            if len(batch) >= LOOKUP_CHUNK:
                _sweep(storage, prefix, batch, cutoff, dry_run, result)
                batch = []
        if batch:
            _sweep(storage, prefix, batch, cutoff, dry_run, result)
    return result


def _sweep(storage, prefix, names, cutoff, dry_run, result: CleanupResult) -> None:
    referenced = _referenced(prefix, names)
    for name in names:
        if name in referenced:
            result.referenced += 1
            continue
        try:
            modified = storage.get_modified_time(name)
        except (FileNotFoundError, NotImplementedError):
            result.too_recent += 1  # gone meanwhile, or no age known: never delete blindly
            continue
        if timezone.is_naive(modified):
            modified = timezone.make_aware(modified, datetime.UTC)
        if modified > cutoff:
            result.too_recent += 1
            continue
        result.orphaned += 1
        if dry_run:
            continue
        # Checked again just before deleting: a row may have been committed since the look-up.
        if _referenced(prefix, [name]):
            result.orphaned -= 1
            result.referenced += 1
            continue
        try:
            storage.delete(name)
        except OSError:
            result.failed += 1
            logger.warning("could not delete an orphaned file under %s/", prefix)
        else:
            result.deleted += 1
