"""The exports page of 查询统计: export the roster or the records, and download finished jobs."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.generic import TemplateView, View

from contributions.exports.forms import ExportForm
from contributions.exports.selectors import (
    export_job_expired,
    export_job_get_for_agent,
    export_jobs_recent_for_agent,
    export_kinds_for_agent,
)
from contributions.exports.services import (
    CSV_TYPE,
    XLSX_TYPE,
    export_csv_chunks,
    export_filename,
    export_job_download,
    export_rows,
    export_start,
    export_xlsx,
    stream_max_rows,
)
from contributions.models import ExportJob
from contributions.records.forms import RECORD_PLAIN_FILTERS, RecordFilterForm
from employers.permissions import (
    AgentRequiredMixin,
    PermissionRequiredMixin,
    agent_has_permission,
    permission_denied_response,
)
from enrollment.models import Enrolment, InsuranceCode
from portal.search_tokens import search_read

JOBS_SHOWN = 20
REFRESH_SECONDS = 3  # a page showing a queued or running job reloads itself this often


class ExportMixin(PermissionRequiredMixin):
    permission = "queries.export"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="queries", **kwargs)


class ExportView(ExportMixin, TemplateView):
    """The exports page: the form (filters from the query string, and the search term behind
    its ``?s=`` token: portal.search_tokens) and the unit's jobs."""

    template_name = "contributions/export_list.html"
    http_method_names = ["get", "post"]

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", ExportForm(initial=self._initial()))
        if "filter_form" not in kwargs:
            search = search_read(
                self.request, self.request.GET.get("s"), filters=RECORD_PLAIN_FILTERS
            )
            kwargs["filter_form"] = RecordFilterForm(search.data or None)
        return super().get_context_data(
            jobs=export_jobs_recent_for_agent(agent=self.agent, limit=JOBS_SHOWN),
            stream_max=stream_max_rows(),
            status_choices=Enrolment.Status.choices,
            insurance_code_choices=InsuranceCode.choices,
            **kwargs,
        )

    def _initial(self) -> dict:
        get = self.request.GET
        return {
            "kind": get.get("kind") or ExportJob.Kind.RECORDS,
            "format": get.get("format") or ExportJob.Format.XLSX,
            "status": get.get("status", ""),
            "insurance_code": get.get("insurance_code", ""),
        }

    def post(self, request, *args, **kwargs):
        form = ExportForm(request.POST)
        filter_form = RecordFilterForm(request.POST)
        kind = request.POST.get("kind")
        filters_ok = kind != ExportJob.Kind.RECORDS or filter_form.is_valid()
        if not form.is_valid() or not filters_ok:
            return self.render_to_response(
                self.get_context_data(form=form, filter_form=filter_form), status=200
            )
        data = form.cleaned_data
        kind, fmt, full = data["kind"], data["format"], data["full"]
        if kind == ExportJob.Kind.RECORDS:
            filters = filter_form.filters()
            params = {
                "q": filters["q"],
                "month_from": filters["month_from"].isoformat(),
                "month_to": filters["month_to"].isoformat(),
                "insurance_type": filters["insurance_type"],
            }
        else:
            params = {
                "q": " ".join((request.POST.get("q") or "").split())[:50],
                "status": data["status"],
                "insurance_code": data["insurance_code"],
            }
        try:
            plan = export_start(
                agent=self.agent,
                kind=kind,
                fmt=fmt,
                full=full,
                password=data["password"],
                params=params,
                request=request,
            )
        except ValidationError as exc:  # a full export refused (employers.accounts.reauth)
            form.add_error("password", exc)
            return self.render_to_response(
                self.get_context_data(form=form, filter_form=filter_form), status=200
            )
        if plan.job is not None:
            messages.success(
                request,
                _(
                    "共 %(rows)s 行,已在后台生成导出文件(导出编号 %(reference)s),"
                    "完成后可在本页下载。"
                )
                % {"rows": plan.rows, "reference": plan.job.reference},
            )
            return redirect(plan.job)
        return _stream(plan.queryset, kind, fmt, full=full)


def _stream(queryset, kind: str, fmt: str, *, full: bool):
    rows = export_rows(queryset, kind, full=full)
    filename = export_filename(kind, fmt, full=full)
    if fmt == ExportJob.Format.CSV:
        response = StreamingHttpResponse(
            (chunk.encode("utf-8") for chunk in export_csv_chunks(rows, kind, full=full)),
            content_type=CSV_TYPE,
        )
        response["Content-Disposition"] = content_disposition_header(True, filename)
    else:
        response = FileResponse(
            export_xlsx(rows, kind, full=full),
            as_attachment=True,
            filename=filename,
            content_type=XLSX_TYPE,
        )
    response["Cache-Control"] = "private, no-store"
    return response


class ExportJobMixin(AgentRequiredMixin):
    """A job's pages: for the export permission, or the roster permission for roster jobs
    (export_jobs_for_agent scopes which jobs each may see; another's is a 404)."""

    def deny(self, request):
        if not export_kinds_for_agent(self.agent):
            return permission_denied_response(request, "queries.export")
        return None


class ExportJobView(ExportJobMixin, TemplateView):
    """One job: its progress while it runs (the page refreshes itself), then the download."""

    template_name = "contributions/export_detail.html"

    def get_context_data(self, **kwargs):
        job = export_job_get_for_agent(agent=self.agent, reference=self.kwargs["export_reference"])
        job.expired = export_job_expired(job)
        module = "queries" if agent_has_permission(self.agent, "queries.export") else "enrollment"
        return super().get_context_data(
            job=job, current_module=module, refresh_seconds=REFRESH_SECONDS, **kwargs
        )


class ExportDownloadView(ExportJobMixin, View):
    """Download a finished job's file: the unit's own, not expired."""

    def get(self, request, export_reference, *args, **kwargs):
        try:
            job, handle = export_job_download(
                agent=self.agent, reference=export_reference, request=request
            )
        except ValidationError as exc:
            level = messages.INFO if exc.code == "not_ready" else messages.WARNING
            messages.add_message(request, level, exc.message)
            return redirect("contributions:export_detail", export_reference=export_reference)
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=export_filename(job.kind, job.format, full=job.full),
            content_type=CSV_TYPE if job.format == ExportJob.Format.CSV else XLSX_TYPE,
        )
        response["Cache-Control"] = "private, no-store"
        return response
