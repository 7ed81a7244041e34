"""Attachments of add-employee filings: checked by what the file is, not by what it is called.

DESIGN.md §9: labour contract and ID scan, JPG/PNG/PDF, at most 5 MB each, checked by content
(portal.uploads, the one check of every upload a clerk opens). Files are stored through Django's
storage API under random names (enrollment.models.attachment_upload_to).
"""

from __future__ import annotations

from django.conf import settings

from portal.uploads import DEFAULT_MAX_BYTES, CheckedFile, upload_check

__all__ = ["CheckedFile", "attachment_check", "max_bytes"]


def max_bytes() -> int:
    return getattr(settings, "ENROLMENT_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES)


def attachment_check(upload) -> CheckedFile:
    """Check one attachment of an add-employee filing; return it read.

    The form's clean and the service both check an upload of the page; the result is kept on the
    upload (an object of one request) with the limit it was checked against, so the file is read
    and parsed once (a PDF's parse is most of the check).
    """
    limit = max_bytes()
    kept = getattr(upload, "_attachment_checked", None)
    if kept is not None and kept[0] == limit:
        return kept[1]
    checked = upload_check(upload, max_bytes=limit)
    upload._attachment_checked = (limit, checked)
    return checked
