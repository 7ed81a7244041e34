"""缴费基数申报 pages: the on-screen table, the Excel template and upload, the list, one item.

On screen: units of up to SCREEN_LIMIT active employees (declarations.selectors) edit every
base in one table. Larger units declare by Excel: the prefilled template carries everyone, and
the upload is checked and submitted as one declaration. Nothing is stored until a declaration
is submitted: there are no drafts.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.generic import ListView, TemplateView, View

from contributions.declarations.excel import template_workbook, upload_parse
from contributions.declarations.forms import (
    XLSX,
    DeclarationScreenForm,
    DeclarationUploadForm,
    adjust_data,
)
from contributions.declarations.rules import bounds_message, clamp
from contributions.declarations.selectors import (
    declaration_get_for_agent,
    declaration_lines,
    declaration_list_for_agent,
    declaration_mode_for,
    declaration_periods,
    declaration_rows,
    declaration_state_label,
    default_period,
    open_declaration,
    period_get_for_agent,
    region_requires_review,
    rejected_declaration,
)
from contributions.declarations.services import LineInput, base_declaration_submit
from contributions.models import BaseDeclaration
from employers.permissions import PermissionRequiredMixin
from portal.audit import audit_log
from portal.models import ReviewState
from portal.review import review_history

PAYLOAD_SALT = "contributions.declaration.upload"
PAYLOAD_MAX_AGE = 2 * 3600
LINES_PER_PAGE = 50


class DeclareMixin(PermissionRequiredMixin):
    permission = "contributions.declare"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="contributions", **kwargs)

    @cached_property
    def periods(self):
        return declaration_periods(self.agent.employer.region_id)

    def chosen_period(self, value):
        """The period asked for (404 when not the unit's), else the default one."""
        if value:
            return period_get_for_agent(agent=self.agent, period_id=value)
        return default_period(self.periods)

    def period_context(self, period) -> dict:
        if period is None:
            return {"periods": self.periods, "period": None}
        pending = open_declaration(employer_id=self.agent.employer_id, period_id=period.pk)
        rejected = rejected_declaration(agent=self.agent, period=period)
        requires_review = region_requires_review(self.agent.employer.region_id)
        mode = declaration_mode_for(agent=self.agent)
        return {
            "periods": self.periods,
            "period": period,
            "open_declaration": pending,
            "rejected_declaration": rejected,
            "requires_review": requires_review,
            "employee_count": mode.employee_count,
            "screen_limit": mode.screen_limit,
            "on_screen": mode.on_screen,
        }

    def submitted(self, declaration: BaseDeclaration):
        if declaration.applied_at:
            text = _("缴费基数申报已提交并生效,业务编号 %(reference)s。")
        else:
            text = _("缴费基数申报已提交,业务编号 %(reference)s,请等待社保经办机构审核。")
        messages.success(self.request, text % {"reference": declaration.reference})
        return redirect(declaration)


class DeclarationView(DeclareMixin, TemplateView):
    """The table of bases; POST ``action=adjust`` sets out-of-bounds rows to their bound."""

    template_name = "contributions/declaration_form.html"

    def get(self, request, *args, **kwargs):
        period = self.chosen_period(request.GET.get("period"))
        return self.render(period, form=None)

    def post(self, request, *args, **kwargs):
        period = self.chosen_period(request.POST.get("period") or "0")
        if not declaration_mode_for(agent=self.agent).on_screen:
            messages.error(request, _("本单位参保职工较多,请使用 Excel 模板申报。"))
            return redirect(f"{reverse('contributions:declaration')}?period={period.pk}")
        rows = declaration_rows(agent=self.agent, period=period)
        data = request.POST
        adjusted_count = None
        if request.POST.get("action") == "adjust":
            data, adjusted_count = adjust_data(request.POST, rows=rows, period=period)
        form = DeclarationScreenForm(data, rows=rows, period=period)
        lines = form.lines()
        if adjusted_count is not None:
            if adjusted_count:
                messages.info(
                    request,
                    _("已将 %(count)d 人的缴费基数调整到上下限(已标注),请核对后提交。")
                    % {"count": adjusted_count},
                )
            return self.render(period, form=form, adjusted_count=adjusted_count)
        if lines is None:
            return self.render(period, form=form)
        try:
            declaration = base_declaration_submit(
                agent=self.agent,
                period=period,
                lines=lines,
                source=BaseDeclaration.Source.SCREEN,
                idempotency_key=form.cleaned_data["idempotency_key"],
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.render(period, form=form)
        return self.submitted(declaration)

    def render(self, period, *, form, **extra):
        context = self.period_context(period)
        if period is not None and context["on_screen"]:
            if form is None:
                rows = declaration_rows(agent=self.agent, period=period)
                form = DeclarationScreenForm(
                    initial={"idempotency_key": uuid.uuid4()}, rows=rows, period=period
                )
            context.update(form=form, screen_rows=form.screen_rows())
        if period is not None:
            context["upload_form"] = DeclarationUploadForm(
                initial={"idempotency_key": uuid.uuid4()}
            )
        return self.render_to_response(self.get_context_data(**context, **extra))


class DeclarationTemplateView(DeclareMixin, View):
    """The prefilled Excel template, ID numbers masked: the 人员编号 matches each row back."""

    def get(self, request, *args, **kwargs):
        period = self.chosen_period(request.GET.get("period"))
        if period is None:
            raise Http404(_("本统筹区尚未发布缴费政策。"))
        rows = declaration_rows(agent=self.agent, period=period)
        # Full ID numbers leave the portal only through a full export (export permission and
        # the password again, employers.accounts.reauth); this template does not need them.
        data = template_workbook(rows=rows, period=period)
        audit_log(
            action="contributions.declaration_template",
            actor=request.user,
            employer_id=self.agent.employer_id,
            request=request,
            details={"period": period.pk, "rows": len(rows), "full": False},
        )
        response = HttpResponse(data, content_type=XLSX)
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"缴费基数申报-{period.starts_on:%Y%m}.xlsx"
        )
        response["Cache-Control"] = "private, no-store"
        return response


def _payload_dump(*, agent, period, key, lines) -> str:
    return signing.dumps(
        {
            "e": agent.employer_id,
            "p": period.pk,
            "k": str(key),
            "l": [[number, enrolment_id, str(wage)] for number, enrolment_id, wage in lines],
        },
        salt=PAYLOAD_SALT,
        compress=True,
    )


class DeclarationUploadView(DeclareMixin, TemplateView):
    """Upload the filled template: submitted at once when every row is good; rows outside the
    bounds (and nothing else wrong) can be adjusted to their bound in one click."""

    template_name = "contributions/declaration_upload.html"

    def get(self, request, *args, **kwargs):
        period = self.chosen_period(request.GET.get("period"))
        form = DeclarationUploadForm(initial={"idempotency_key": uuid.uuid4()})
        return self.render_to_response(
            self.get_context_data(**self.period_context(period), upload_form=form)
        )

    def post(self, request, *args, **kwargs):
        period = self.chosen_period(request.POST.get("period") or "0")
        form = DeclarationUploadForm(request.POST, request.FILES)
        context = {**self.period_context(period), "upload_form": form}
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(**context))
        key = form.cleaned_data["idempotency_key"]
        try:
            result = upload_parse(
                form.cleaned_data["file"], employer_id=self.agent.employer_id, period=period
            )
        except ValidationError as exc:
            form.add_error("file", exc)
            return self.render_to_response(self.get_context_data(**context))
        if result.errors or result.out_of_bounds:
            context["row_errors"] = result.all_errors(period)
            if result.only_bounds_errors:
                context["payload"] = _payload_dump(
                    agent=self.agent,
                    period=period,
                    key=key,
                    lines=result.lines + result.out_of_bounds,
                )
                context["out_of_bounds_count"] = len(result.out_of_bounds)
            return self.render_to_response(self.get_context_data(**context))
        lines = [LineInput(enrolment_id, wage) for _n, enrolment_id, wage in result.lines]
        try:
            declaration = base_declaration_submit(
                agent=self.agent,
                period=period,
                lines=lines,
                source=BaseDeclaration.Source.EXCEL,
                idempotency_key=key,
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.render_to_response(self.get_context_data(**context))
        return self.submitted(declaration)


class DeclarationUploadConfirmView(DeclareMixin, TemplateView):
    """The rows of an upload adjusted to their bound, marked, with the button that submits."""

    template_name = "contributions/declaration_upload_confirm.html"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        try:
            payload = signing.loads(
                request.POST.get("payload", ""), salt=PAYLOAD_SALT, max_age=PAYLOAD_MAX_AGE
            )
        except signing.BadSignature:
            messages.error(request, _("上传内容已过期或无效,请重新上传申报表。"))
            return redirect("contributions:declaration_upload")
        if payload.get("e") != self.agent.employer_id:
            raise Http404
        period = period_get_for_agent(agent=self.agent, period_id=payload["p"])
        rows = [(n, e, Decimal(w)) for n, e, w in payload["l"]]
        adjusted = [(n, e, w, clamp(period, w)) for n, e, w in rows if clamp(period, w) != w]
        if request.POST.get("action") == "submit":
            lines = [LineInput(e, w, adjust=True) for _n, e, w in rows]
            try:
                declaration = base_declaration_submit(
                    agent=self.agent,
                    period=period,
                    lines=lines,
                    source=BaseDeclaration.Source.EXCEL,
                    idempotency_key=payload["k"],
                    request=request,
                )
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
                return redirect(f"{reverse('contributions:declaration')}?period={period.pk}")
            return self.submitted(declaration)
        return self.render_to_response(
            self.get_context_data(
                **self.period_context(period),
                payload=request.POST.get("payload"),
                adjusted=adjusted,
                line_count=len(rows),
                bounds_text=bounds_message(period),
            )
        )


class DeclarationListView(DeclareMixin, ListView):
    template_name = "contributions/declaration_list.html"
    context_object_name = "declarations"
    paginate_by = 20

    def get_queryset(self):
        return declaration_list_for_agent(agent=self.agent)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = [(d, declaration_state_label(d)) for d in context["declarations"]]
        return context


class DeclarationDetailView(DeclareMixin, TemplateView):
    template_name = "contributions/declaration_detail.html"

    @cached_property
    def declaration(self) -> BaseDeclaration:
        return declaration_get_for_agent(
            agent=self.agent, reference=self.kwargs["declaration_reference"]
        )

    def deny(self, request):
        denied = super().deny(request)
        if denied is None:
            self.declaration  # noqa: B018 — load the declaration (or 404) first
        return denied

    def get_context_data(self, **kwargs):
        declaration = self.declaration
        page = Paginator(declaration_lines(declaration), LINES_PER_PAGE).get_page(
            self.request.GET.get("page")
        )
        return super().get_context_data(
            declaration=declaration,
            period=declaration.period,
            state_label=declaration_state_label(declaration),
            page=page,
            rejected=declaration.review_state == ReviewState.REJECTED,
            history=[
                (step.created_at, ReviewState(step.to_state).label, step.comment)
                for step in review_history(declaration)
                if step.to_state in ReviewState.values
            ],
            now=timezone.now(),
            **kwargs,
        )
