"""查询统计 pages: contribution records with totals, why a record is missing, and exports."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView, View

from contributions.exports.services import (
    CSV_TYPE,
    XLSX_TYPE,
    export_audit,
    export_csv_chunks,
    export_filename,
    export_job_create,
    export_job_get_for_agent,
    export_jobs_for_agent,
    export_queryset,
    export_rows,
    export_xlsx,
    stream_max_rows,
)
from contributions.models import ExportJob
from contributions.records.causes import (
    CAUSE_SETTLED,
    missing_record_cause,
    missing_record_cause_unknown_person,
)
from contributions.records.forms import ExportForm, MissingCauseForm, RecordFilterForm
from contributions.records.selectors import (
    records_for_agent,
    records_page,
    records_person_find,
    records_person_get_for_agent,
    records_totals,
    records_totals_for_agent,
)
from employers.permissions import PermissionRequiredMixin, agent_has_permission
from enrollment.models import Enrolment, InsuranceCode
from enrollment.roster.selectors import looks_like_document_number
from portal.audit import audit_log

JOBS_SHOWN = 20


class QueriesMixin(PermissionRequiredMixin):
    permission = "queries.view"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="queries", **kwargs)


def records_totals_of(agent, queryset, filters):
    """Per-person filters sum their lines; the whole unit's months come from per-bill totals."""
    if filters["q"]:
        return records_totals(queryset)
    return records_totals_for_agent(
        agent,
        month_from=filters["month_from"],
        month_to=filters["month_to"],
        insurance_type=filters["insurance_type"],
    )


class RecordListView(QueriesMixin, TemplateView):
    """The unit's records by person, month range and insurance type, with totals."""

    template_name = "contributions/record_list.html"

    def get_context_data(self, **kwargs):
        form = RecordFilterForm(self.request.GET)
        filters = form.filters()
        context = {
            "form": form,
            "typed": form.query_params(),
            "may_export": agent_has_permission(self.agent, "queries.export"),
        }
        if filters is not None:
            queryset = records_for_agent(self.agent, **filters)
            totals = records_totals_of(self.agent, queryset, filters)
            query = self.request.GET.copy()
            query.pop("page", None)
            context.update(
                filters=filters,
                totals=totals,
                page=records_page(queryset, self.request.GET.get("page"), totals=totals),
                query=query.urlencode(),
            )
            # One person and one month: say why the record is missing or not yet settled.
            if filters["q"] and filters["month_from"] == filters["month_to"]:
                person, matches = records_person_find(agent=self.agent, q=filters["q"])
                if person is not None or (
                    matches == 0 and looks_like_document_number(filters["q"])
                ):
                    context["cause"] = self._cause(person, filters["month_from"])
                    context["cause_person"] = person
        return super().get_context_data(**context, **kwargs)

    def _cause(self, person, month):
        if person is None:
            return missing_record_cause_unknown_person()
        cause = missing_record_cause(agent=self.agent, person=person, month=month)
        return None if cause.code == CAUSE_SETTLED else cause


class MissingCauseView(QueriesMixin, TemplateView):
    """查询某人某月无记录原因."""

    template_name = "contributions/record_missing_cause.html"

    def get_context_data(self, **kwargs):
        data = self.request.GET if self.request.GET else None
        form = MissingCauseForm(data)
        context = {"form": form}
        if data is not None and form.is_valid():
            month = form.cleaned_data["month"]
            person_id = form.cleaned_data.get("person")
            if person_id:
                person = records_person_get_for_agent(agent=self.agent, person_id=person_id)
                matches = 1
            else:
                person, matches = records_person_find(agent=self.agent, q=form.cleaned_data["q"])
            if person is not None:
                context["cause"] = missing_record_cause(
                    agent=self.agent, person=person, month=month
                )
                context["person"] = person
            elif matches > 1:
                form.add_error("q", _("本单位有多位人员符合该姓名,请输入完整证件号码"))
            elif not looks_like_document_number(form.cleaned_data["q"]):
                form.add_error("q", _("本单位没有这个姓名的参保人员,请核对或输入完整证件号码"))
            else:
                context["cause"] = missing_record_cause_unknown_person()
            context["month"] = month
        return super().get_context_data(**context, **kwargs)


# Exports ----------------------------------------------------------------------------------------


class ExportMixin(PermissionRequiredMixin):
    permission = "queries.export"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="queries", **kwargs)


class ExportView(ExportMixin, TemplateView):
    """The exports page: the form (filters from the query string) and the unit's jobs."""

    template_name = "contributions/export_list.html"
    http_method_names = ["get", "post"]

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", ExportForm(initial=self._initial(), user=self.request.user))
        kwargs.setdefault("filter_form", RecordFilterForm(self.request.GET or None))
        jobs = list(export_jobs_for_agent(self.agent)[:JOBS_SHOWN])
        now = timezone.now()
        for job in jobs:
            job.expired = bool(job.expires_at and job.expires_at <= now) or (
                job.status == ExportJob.Status.DONE and not job.file
            )
        return super().get_context_data(
            jobs=jobs,
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
        form = ExportForm(request.POST, user=request.user)
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
        queryset = export_queryset(agent=self.agent, kind=kind, params=params)
        if kind == ExportJob.Kind.RECORDS:
            rows = records_totals_of(self.agent, queryset, filters).rows
        else:
            rows = queryset.count()
        if rows > stream_max_rows():
            job = export_job_create(
                agent=self.agent,
                kind=kind,
                fmt=fmt,
                full=full,
                params=params,
                rows=rows,
                request=request,
            )
            messages.success(
                request,
                _(
                    "共 %(rows)s 行,已在后台生成导出文件(导出编号 %(reference)s),"
                    "完成后可在下方下载。"
                )
                % {"rows": rows, "reference": job.reference},
            )
            return redirect("contributions:export_list")
        export_audit(
            agent=self.agent,
            request=request,
            kind=kind,
            fmt=fmt,
            full=full,
            params=params,
            rows=rows,
        )
        return _stream(queryset, kind, fmt, full=full)


def _stream(queryset, kind: str, fmt: str, *, full: bool):
    rows = export_rows(queryset, kind, full=full)
    filename = export_filename(kind, fmt, full=full)
    if fmt == ExportJob.Format.CSV:
        response = StreamingHttpResponse(
            (chunk.encode("utf-8") for chunk in export_csv_chunks(rows, kind, full=full)),
            content_type=CSV_TYPE,
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    else:
        response = FileResponse(
            export_xlsx(rows, kind, full=full),
            as_attachment=True,
            filename=filename,
            content_type=XLSX_TYPE,
        )
    response["Cache-Control"] = "private, no-store"
    return response


class ExportDownloadView(ExportMixin, View):
    """Download a finished job's file: the unit's own, not expired."""

    def get(self, request, export_reference, *args, **kwargs):
        job = export_job_get_for_agent(agent=self.agent, reference=export_reference)
        now = timezone.now()
        if job.status != ExportJob.Status.DONE:
            messages.info(request, _("导出文件尚未生成完毕,请稍后刷新本页。"))
            return redirect("contributions:export_list")
        if not job.file or (job.expires_at and job.expires_at <= now):
            messages.warning(request, _("导出文件已超过保存期限并已删除,请重新导出。"))
            return redirect("contributions:export_list")
        try:
            handle = job.file.open("rb")
        except OSError:
            raise Http404 from None
        audit_log(
            action="export.downloaded",
            actor=request.user,
            employer_id=self.agent.employer_id,
            obj=job,
            request=request,
            details={"job": job.reference, "full": job.full},
        )
        filename = export_filename(job.kind, job.format, full=job.full)
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=filename,
            content_type=CSV_TYPE if job.format == ExportJob.Format.CSV else XLSX_TYPE,
        )
        response["Cache-Control"] = "private, no-store"
        return response
