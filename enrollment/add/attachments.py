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
    """Check one attachment of an add-employee filing; return it read."""
    return upload_check(upload, max_bytes=max_bytes())
