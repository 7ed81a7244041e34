"""Files on the clerk's review pages: attachments and generated forms, served only after the
admin's view permission (and a clerk's regions, through get_queryset), audited, opened inline for
the page's preview when they are images or PDFs (checked by content on upload) and otherwise, or
with ?download=1, as a download."""

from __future__ import annotations

from csp.constants import SELF
from csp.decorators import csp_replace
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path

from portal.audit import audit_log

PREVIEW_KINDS = {"image/jpeg": "image", "image/png": "image", "application/pdf": "pdf"}
# The PDFs are framed by the admin's own review page, and by no other page.
FRAMED_BY_ADMIN = csp_replace({"frame-ancestors": [SELF]})
FRAMED_BY_ADMIN_REPORT_ONLY = csp_replace({"frame-ancestors": [SELF]}, REPORT_ONLY=True)


def clerk_file_response(request, field_file, *, filename: str, content_type: str) -> FileResponse:
    """The file for the clerk: inline for the preview (images, PDFs) unless ?download=1."""
    inline = content_type in PREVIEW_KINDS and "download" not in request.GET
    response = FileResponse(
        field_file.open("rb"),
        as_attachment=not inline,
        filename=filename,
        content_type=content_type,
    )
    response["Cache-Control"] = "private, no-store"
    if inline:
        # The review page frames the PDF; no other page may (CSP frame-ancestors).
        response["X-Frame-Options"] = "SAMEORIGIN"
    return response


class AttachmentsAdminMixin:
    """The attachment URL of a review admin whose model has ``attachments`` (each with
    ``file``, ``original_name`` and ``content_type``): ``<object>/attachments/<id>/``, named
    ``<app>_<model>_attachment``; each opening is audited as ``attachment_audit_action``."""

    attachment_audit_action = ""

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/attachments/<int:attachment_id>/",
                self.admin_site.admin_view(self.attachment_view),
                name=f"{opts.app_label}_{opts.model_name}_attachment",
            ),
            *super().get_urls(),
        ]

    @FRAMED_BY_ADMIN
    @FRAMED_BY_ADMIN_REPORT_ONLY
    def attachment_view(self, request, object_id, attachment_id):
        # get_queryset limits a clerk to the regions assigned to them.
        item = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_permission(request, item):
            raise PermissionDenied
        attachment = item.attachments.filter(pk=attachment_id).first()
        if attachment is None or not attachment.file:
            raise Http404
        audit_log(
            action=self.attachment_audit_action,
            actor=request.user,
            employer_id=item.employer_id,
            obj=attachment,
            request=request,
        )
        return clerk_file_response(
            request,
            attachment.file,
            filename=attachment.original_name,
            content_type=attachment.content_type,
        )
