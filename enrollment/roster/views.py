"""The roster pages: list with search and filters, one person's enrolment, exports."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView, View

from employers.accounts.reauth import (
    FULL_EXPORT_PERMISSION,
    full_export_allowed,
    full_export_authorise,
)
from employers.permissions import PermissionRequiredMixin, permission_denied_response
from enrollment.models import Enrolment, InsuranceCode
from enrollment.roster.exports import (
    large_export_start,
    roster_csv_chunks,
    roster_export_rows,
    roster_export_rows_of_unit,
    roster_xlsx,
)
from enrollment.roster.selectors import (
    roster_enrolment_get_for_agent,
    roster_enrolment_history,
    roster_for_agent,
    roster_page,
)
from portal.audit import audit_log
from portal.search_tokens import search_read, search_redirect

# The filters that name no one: they stay in the address; the search term goes by a token.
PLAIN_FILTERS = ("status", "insurance_code")
FILTER_NAMES = ("q", *PLAIN_FILTERS)


class RosterFilterForm(forms.Form):
    q = forms.CharField(
        label=_("姓名或证件号码"),
        required=False,
        max_length=50,
        help_text=_("姓名可输入部分;证件号码须输入完整号码(证件号码加密保存,不能按部分号码查询)。"),
    )
    # The choices as callables: a form's fields are deep-copied for each form, and copying the
    # lists of lazy labels was a third of the search POST's form (~35 us).
    status = forms.ChoiceField(
        label=_("参保状态"),
        required=False,
        choices=lambda: [("", _("全部")), *Enrolment.Status.choices],
    )
    insurance_code = forms.ChoiceField(
        label=_("参保险种"),
        required=False,
        choices=lambda: [("", _("全部")), *InsuranceCode.choices],
    )

    def filters(self) -> dict[str, str]:
        """The valid filters; an invalid value counts as no filter."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) or "" for name in FILTER_NAMES}


# The filters of the searches that name no one (a status, an insurance type, or none: every
# first page of the roster), validated once a process: (data's items) -> form.filters().
_PLAIN_SEARCHES: dict[tuple, dict[str, str]] = {}
PLAIN_SEARCHES_MAX = 256  # a bound, not a size to reach: statuses x insurance types
_PLAIN_VALUE_MAX = 32  # a longer value (typed into the address) is validated each time


def roster_filters(data: dict[str, str]) -> dict[str, str]:
    """``RosterFilterForm(data).filters()``; remembered per process when ``data`` has no search
    term, only the plain filters with short values (the form's validation reads nothing but
    ``data``: its choices are the model's)."""
    if (
        data.get("q")
        or not set(data) <= {"q", *PLAIN_FILTERS}
        or any(type(value) is not str or len(value) > _PLAIN_VALUE_MAX for value in data.values())
    ):
        return RosterFilterForm(data).filters()
    key = tuple(sorted(data.items()))
    found = _PLAIN_SEARCHES.get(key)
    if found is None:
        found = RosterFilterForm(data).filters()
        if len(_PLAIN_SEARCHES) >= PLAIN_SEARCHES_MAX:
            _PLAIN_SEARCHES.clear()
        _PLAIN_SEARCHES[key] = found
    return dict(found)


class FullExportPasswordForm(forms.Form):
    """The agent's own password, typed again before a full (unmasked) export; checked by
    employers.accounts.reauth.full_export_authorise."""

    password = forms.CharField(
        label=_("登录密码"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
        help_text=_("完整导出包含完整的证件号码、手机号和出生日期,须再次输入登录密码确认。"),
    )


class RosterMixin(PermissionRequiredMixin):
    permission = "enrollment.roster"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="enrollment", **kwargs)


class RosterView(RosterMixin, TemplateView):
    """The roster; the search form POSTs, the results are at ``?s=<token>`` (a name or a
    document number never goes into an address: portal.search_tokens)."""

    template_name = "enrollment/roster.html"

    def post(self, request, *args, **kwargs):
        filters = RosterFilterForm(request.POST).filters()
        return search_redirect(
            request, {"q": filters.pop("q")}, **{name: filters[name] for name in PLAIN_FILTERS}
        )

    def get_context_data(self, **kwargs):
        search = search_read(self.request, self.request.GET.get("s"), filters=PLAIN_FILTERS)
        if search.data:
            filters = roster_filters(search.data)
            # The template reads the form only to make its stored search form (the "roster
            # forms" fragment, keyed by the plain filters): built when it does.
            form = SimpleLazyObject(lambda: RosterFilterForm(search.data))
        else:
            # Nothing to filter by (the roster's own pages): every filter is empty, as the form
            # bound to nothing cleans them; the form itself (its labels and choices) is printed
            # only when the page's stored fragment is rendered, so it is built only then.
            form = SimpleLazyObject(lambda: RosterFilterForm({}))
            filters = dict.fromkeys(FILTER_NAMES, "")
        page = roster_page(self.agent, self.request.GET.get("page"), **filters)
        return super().get_context_data(
            form=form,
            filters=filters,
            page=page,
            rows=page.object_list,
            search=search,
            query=search.query,
            may_export_full=full_export_allowed(self.agent),
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
        search = search_read(request, request.GET.get("s"), filters=PLAIN_FILTERS)
        if search.expired:
            return redirect("enrollment:roster")
        return self.export(search.data, full=False)

    def post(self, request, *args, **kwargs):
        if request.POST.get("full") not in ("1", "on", "true"):
            return self.export(request.POST, full=False)
        # The roster page's checkbox leads to a small form for the password (DESIGN.md §11).
        if "password" not in request.POST and full_export_allowed(self.agent):
            return self.password_page(FullExportPasswordForm())
        try:
            full_export_authorise(
                agent=self.agent,
                password=request.POST.get("password", ""),
                action="roster.export_full",
                request=request,
                details={"format": self.fmt},
            )
        except ValidationError as exc:
            if exc.code == "no_permission":
                return permission_denied_response(request, FULL_EXPORT_PERMISSION)
            form = FullExportPasswordForm(request.POST)
            form.is_valid()
            form.add_error("password", exc)
            return self.password_page(form)
        return self.export(request.POST, full=True)

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
        job = large_export_start(
            agent=self.agent, fmt=self.fmt, full=full, params=filters, request=self.request
        )
        if job is not None:  # too large to write within the request: a job with progress
            messages.success(
                self.request,
                _("共 %(rows)s 人,已在后台生成导出文件(导出编号 %(reference)s),完成后即可下载。")
                % {"rows": job.row_count, "reference": job.reference},
            )
            return redirect(job.get_absolute_url())
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
        if any(filters.values()):
            rows = roster_export_rows(roster_for_agent(self.agent, **filters), full=full)
        else:  # the whole unit's (roster_for_agent without a filter), its query compiled once
            rows = roster_export_rows_of_unit(self.agent.employer_id, full=full)
        stamp = timezone.localtime().strftime("%Y%m%d%H%M")
        suffix = _("完整") if full else _("脱敏")
        filename = f"{_('参保人员花名册')}-{stamp}-{suffix}.{self.fmt}"
        if self.fmt == "csv":
            response = StreamingHttpResponse(
                (chunk.encode("utf-8") for chunk in roster_csv_chunks(rows, full=full)),
                content_type="text/csv; charset=utf-8",
            )
            response["Content-Disposition"] = content_disposition_header(True, filename)
        else:
            response = FileResponse(
                roster_xlsx(rows, full=full),
                as_attachment=True,
                filename=filename,
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        response["Cache-Control"] = "no-store"
        return response
