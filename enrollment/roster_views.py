"""The roster pages: list with search and filters, one person's enrolment, exports."""

from __future__ import annotations

from django import forms
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView, View

from employers.permissions import (
    PermissionRequiredMixin,
    agent_has_permission,
    permission_denied_response,
)
from enrollment.exports import roster_csv_chunks, roster_export_rows, roster_xlsx
from enrollment.models import Enrolment, InsuranceCode
from enrollment.roster import (
    roster_enrolment_get_for_agent,
    roster_enrolment_history,
    roster_for_agent,
    roster_page,
)
from portal.audit import audit_log

FULL_EXPORT_PERMISSION = "queries.export"  # the unit admin holds it too


class RosterFilterForm(forms.Form):
    q = forms.CharField(
        label=_("姓名或证件号码"),
        required=False,
        max_length=50,
        help_text=_("姓名可输入部分;证件号码须输入完整号码(证件号码加密保存,不能按部分号码查询)。"),
    )
    status = forms.ChoiceField(
        label=_("参保状态"), required=False, choices=[("", _("全部")), *Enrolment.Status.choices]
    )
    insurance_code = forms.ChoiceField(
        label=_("参保险种"), required=False, choices=[("", _("全部")), *InsuranceCode.choices]
    )

    def filters(self) -> dict[str, str]:
        """The valid filters; an invalid value counts as no filter."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) or "" for name in ("q", "status", "insurance_code")}


class RosterMixin(PermissionRequiredMixin):
    permission = "enrollment.roster"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="enrollment", **kwargs)


class RosterView(RosterMixin, TemplateView):
    template_name = "enrollment/roster.html"

    def get_context_data(self, **kwargs):
        form = RosterFilterForm(self.request.GET)
        filters = form.filters()
        page = roster_page(roster_for_agent(self.agent, **filters), self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(
            form=form,
            filters=filters,
            page=page,
            query=query.urlencode(),
            may_export_full=agent_has_permission(self.agent, FULL_EXPORT_PERMISSION),
            **kwargs,
        )


class RosterDetailView(RosterMixin, TemplateView):
    template_name = "enrollment/roster_detail.html"

    def get_context_data(self, **kwargs):
        enrolment = roster_enrolment_get_for_agent(
            agent=self.agent, enrolment_id=self.kwargs["enrolment_id"]
        )
        return super().get_context_data(
            enrolment=enrolment,
            person=enrolment.person,
            insurance_labels=[str(InsuranceCode(code).label) for code in enrolment.insurance_codes],
            **roster_enrolment_history(enrolment),
            **kwargs,
        )


class RosterExportView(RosterMixin, View):
    """Export the filtered roster; masked, or in full (POST with 完整导出, audited)."""

    fmt = "xlsx"
    http_method_names = ["get", "post"]

    def get(self, request, *args, **kwargs):
        return self.export(request.GET, full=False)

    def post(self, request, *args, **kwargs):
        full = request.POST.get("full") in ("1", "on", "true")
        if full and not agent_has_permission(self.agent, FULL_EXPORT_PERMISSION):
            return permission_denied_response(request, FULL_EXPORT_PERMISSION)
        return self.export(request.POST, full=full)

    def export(self, data, *, full: bool):
        filters = RosterFilterForm(data).filters()
        queryset = roster_for_agent(self.agent, **filters)
        audit_log(
            action="roster.export_full" if full else "roster.export",
            actor=self.request.user,
            employer_id=self.agent.employer_id,
            request=self.request,
            # The search term may be a document number: only whether there was one is kept.
            details={
                "format": self.fmt,
                "status": filters["status"],
                "insurance_code": filters["insurance_code"],
                "searched": bool(filters["q"]),
            },
        )
        rows = roster_export_rows(queryset, full=full)
        stamp = timezone.localtime().strftime("%Y%m%d%H%M")
        suffix = "full" if full else "masked"
        filename = f"roster-{stamp}-{suffix}.{self.fmt}"
        if self.fmt == "csv":
            response = StreamingHttpResponse(
                (chunk.encode("utf-8") for chunk in roster_csv_chunks(rows, full=full)),
                content_type="text/csv; charset=utf-8",
            )
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
        else:
            response = FileResponse(
                roster_xlsx(rows, full=full),
                as_attachment=True,
                filename=filename,
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        response["Cache-Control"] = "no-store"
        return response
