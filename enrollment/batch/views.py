"""批量增员 pages: the template, the upload, the progress page and its JSON, the report."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, TemplateView, View

from employers.permissions import PermissionRequiredMixin
from enrollment.batch.process import batch_import_create
from enrollment.batch.selectors import batch_import_get_for_agent, batch_import_list_for_agent
from enrollment.batch.template import MAX_ROWS, MAX_UPLOAD_BYTES, batch_template_workbook
from enrollment.models import BatchImport
from portal.i18n import lazy_format

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class BatchUploadForm(forms.Form):
    error_messages = {
        "extension": _("请上传 .xlsx 格式的 Excel 文件(请使用本页下载的模板)。"),
    }

    file = forms.FileField(
        label=_("增员名单文件"),
        help_text=lazy_format(
            _("使用本页模板填写的 .xlsx 文件,最多 %(rows)d 行,不超过 %(mb)d MB。"),
            rows=MAX_ROWS,
            mb=MAX_UPLOAD_BYTES // (1024 * 1024),
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx," + XLSX}),
        error_messages={"required": _("请选择要上传的增员名单文件。")},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".xlsx"):
            raise ValidationError(self.error_messages["extension"], code="extension")
        return upload


class BatchMixin(PermissionRequiredMixin):
    permission = "enrollment.batch"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="enrollment", **kwargs)


class BatchImportMixin(BatchMixin):
    """Pages about one import of the agent's unit; another unit's import is a 404."""

    @cached_property
    def batch(self) -> BatchImport:
        return batch_import_get_for_agent(agent=self.agent, reference=self.kwargs["reference"])

    def deny(self, request):
        denied = super().deny(request)
        if denied is None:
            self.batch  # noqa: B018 — load the import (or 404) before anything else happens
        return denied


class BatchUploadView(BatchMixin, FormView):
    template_name = "enrollment/batch_upload.html"
    form_class = BatchUploadForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            imports=batch_import_list_for_agent(agent=self.agent)[:10], **kwargs
        )

    def form_valid(self, form):
        try:
            batch = batch_import_create(
                agent=self.agent, file=form.cleaned_data["file"], request=self.request
            )
        except ValidationError as exc:
            form.add_error("file", exc)
            return self.form_invalid(form)
        return redirect("enrollment:batch_detail", reference=batch.reference)


class BatchTemplateView(BatchMixin, View):
    def get(self, request, *args, **kwargs):
        response = HttpResponse(
            batch_template_workbook(self.agent.employer.region), content_type=XLSX
        )
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename="批量增员模板.xlsx"
        )
        return response


def batch_status_data(batch: BatchImport) -> dict:
    done = batch.status == BatchImport.Status.DONE
    return {
        "reference": batch.reference,
        "status": batch.status,
        "status_label": str(batch.get_status_display()),
        "total_rows": batch.total_rows,
        "processed_rows": batch.processed_rows,
        "percent": batch.progress_percent,
        "created_count": batch.created_count,
        "duplicate_count": batch.duplicate_count,
        "error_count": batch.error_count,
        "finished": batch.status in (BatchImport.Status.DONE, BatchImport.Status.FAILED),
        "failure_reason": batch.failure_reason,
        "report_url": (
            reverse("enrollment:batch_report", kwargs={"reference": batch.reference})
            if done and batch.report
            else ""
        ),
    }


class BatchDetailView(BatchImportMixin, TemplateView):
    template_name = "enrollment/batch_detail.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            batch=self.batch, status=batch_status_data(self.batch), **kwargs
        )


class BatchStatusView(BatchImportMixin, View):
    def get(self, request, *args, **kwargs):
        response = JsonResponse(batch_status_data(self.batch))
        response["Cache-Control"] = "no-store"
        return response


class BatchReportView(BatchImportMixin, View):
    def get(self, request, *args, **kwargs):
        if self.batch.status != BatchImport.Status.DONE or not self.batch.report:
            raise Http404(_("结果报告尚未生成。"))
        response = FileResponse(
            self.batch.report.open("rb"),
            as_attachment=True,
            filename=f"批量增员结果-{self.batch.reference}.xlsx",
            content_type=XLSX,
        )
        response["Cache-Control"] = "private, no-store"
        return response
