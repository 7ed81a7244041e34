"""The roster pages: list with search and filters, one person's enrolment, exports."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView, View

from employers.permissions import (
    PermissionRequiredMixin,
    agent_has_permission,
    permission_denied_response,
)
from enrollment.models import Enrolment, InsuranceCode
from enrollment.roster.exports import roster_csv_chunks, roster_export_rows, roster_xlsx
from enrollment.roster.selectors import (
    is_name_search,
    roster_enrolment_get_for_agent,
    roster_enrolment_history,
    roster_for_agent,
    roster_page,
)
from portal import ratelimit
from portal.audit import audit_log
from portal.models import AuditEvent

FULL_EXPORT_PERMISSION = "queries.export"  # the unit admin holds it too
# Wrong passwords on the full-export form: at most RATE_LIMITS["password_failures_per_agent"]
# per agent in this window (the login lockout counts login attempts only).
PASSWORD_WINDOW_SECONDS = 15 * 60


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


class FullExportPasswordForm(forms.Form):
    """The agent's own password, typed again before a full (unmasked) export."""

    password = forms.CharField(
        label=_("登录密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
        error_messages={"required": _("请输入您的登录密码。")},
        help_text=_("完整导出包含完整的证件号码、手机号和出生日期,须再次输入登录密码确认。"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self._reason = "missing"

    def clean_password(self):
        password = self.cleaned_data["password"]
        key = f"roster-export-password:{self.user.pk}"
        limit = settings.RATE_LIMITS["password_failures_per_agent"]
        try:
            tried = ratelimit.peek(key, window=PASSWORD_WINDOW_SECONDS)
        except ratelimit.RateLimitUnavailable:
            tried = limit  # fail closed
        if tried >= limit:
            self._reason = "too_many"
            raise forms.ValidationError(
                _("密码输错次数过多,请%(minutes)d分钟后再试。")
                % {"minutes": PASSWORD_WINDOW_SECONDS // 60},
                code="too_many",
            )
        if not self.user.check_password(password):
            self._reason = "password"
            try:
                ratelimit.hit(key, limit=limit, window=PASSWORD_WINDOW_SECONDS)
            except ratelimit.RateLimitUnavailable:
                pass
            raise forms.ValidationError(_("密码不正确,未导出任何数据。"), code="password_incorrect")
        return password

    def failure_reason(self) -> str:
        return self._reason


class RosterMixin(PermissionRequiredMixin):
    permission = "enrollment.roster"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="enrollment", **kwargs)


class RosterView(RosterMixin, TemplateView):
    template_name = "enrollment/roster.html"

    def get_context_data(self, **kwargs):
        form = RosterFilterForm(self.request.GET)
        filters = form.filters()
        page = roster_page(
            roster_for_agent(self.agent, **filters),
            self.request.GET.get("page"),
            name_search=is_name_search(filters["q"]),
        )
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
        if full:
            # DESIGN.md §11: sensitive actions need the password again. The roster page's
            # checkbox leads to this small form; only the right password exports anything.
            form = FullExportPasswordForm(
                request.POST if "password" in request.POST else None, user=request.user
            )
            if not form.is_bound or not form.is_valid():
                if form.is_bound:
                    audit_log(
                        action="roster.export_full",
                        actor=request.user,
                        employer_id=self.agent.employer_id,
                        request=request,
                        outcome=AuditEvent.Outcome.FAILURE,
                        details={"format": self.fmt, "reason": form.failure_reason()},
                    )
                return self.password_page(form)
        return self.export(request.POST, full=full)

    def password_page(self, form):
        filters = RosterFilterForm(self.request.POST).filters()
        return TemplateResponse(
            self.request,
            "enrollment/roster_export_full.html",
            {
                "form": form,
                "filters": filters,
                "fmt": self.fmt,
                "current_module": "enrollment",
            },
        )

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
