"""补缴申请 pages: the unit's applications, the form (计算 shows the amounts and the late fee
month by month; 提交 files what was shown), one application, its attachment."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, TemplateView, View

from contributions.backpay.forms import BackPayForm
from contributions.backpay.selectors import (
    attachment_get_for_agent,
    backpay_attachments,
    backpay_get_for_agent,
    backpay_list_for_agent,
    backpay_months,
    backpay_window,
)
from contributions.backpay.services import (
    AMOUNT_CHANGED,
    MAX_MONTHS,
    backpay_compute,
    backpay_submit,
    backpay_window_first,
)
from contributions.payments.services import LATE_FEE_DAILY_RATE
from employers.permissions import PermissionRequiredMixin
from portal.audit import audit_log
from portal.models import ReviewState
from portal.review import review_history

ROWS_REFUSED = _("请修改下列补缴月份中标出的错误。")
SUBMITTED = _(
    "补缴申请已提交,业务编号 %(reference)s。审核通过后生成补缴核定单,请在“缴费确认”中缴费。"
)


class BackPayMixin(PermissionRequiredMixin):
    permission = "contributions.declare"

    def get_context_data(self, **kwargs):
        window = backpay_window(self.agent.employer.region_id)
        return super().get_context_data(
            current_module="contributions",
            window=window,
            window_first=backpay_window_first(window=window, today=timezone.localdate()),
            max_months=MAX_MONTHS,
            daily_rate_percent=LATE_FEE_DAILY_RATE * 100,
            **kwargs,
        )


class BackPayIndexView(BackPayMixin, TemplateView):
    template_name = "contributions/backpay/index.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            applications=backpay_list_for_agent(agent=self.agent), **kwargs
        )


def _add_errors(form, exc: ValidationError) -> None:
    """A refusal next to the field it names: a month's next to that month's row."""
    errors = exc.error_dict if hasattr(exc, "error_dict") else {None: exc.error_list}
    on_rows = False
    for field, items in errors.items():
        for error in items:
            params = getattr(error, "params", None) or {}
            row = None
            if "month" in params:
                month = datetime.datetime.strptime(params["month"], "%Y-%m").date()  # noqa: DTZ007
                row = form.row_for(month)
            if row is not None:
                row.add_error(params.get("field", "month"), error.messages[0])
                on_rows = True
            elif field in form.fields and field not in ("month", "base"):
                form.add_error(field, error.messages[0])
            else:
                form.add_error(None, error.messages[0])
    if on_rows:
        form.add_error(None, ROWS_REFUSED)


class BackPayApplyView(BackPayMixin, FormView):
    """The form; 计算 (or a 提交 of figures never shown) shows the amounts, 提交 files them."""

    template_name = "contributions/backpay/form.html"
    form_class = BackPayForm

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if not form.is_valid():
            return self.form_invalid(form)
        data = form.cleaned_data
        if request.POST.get("action") != "submit" or data.get("shown_total") is None:
            return self.computed(form)
        try:
            application = backpay_submit(
                agent=self.agent,
                request=request,
                idempotency_key=data["idempotency_key"],
                document_number=data["document_number"],
                months=data["months"],
                reason=data["reason"],
                shown_total=data["shown_total"],
                evidence=data.get("evidence"),
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == AMOUNT_CHANGED:
                messages.warning(request, exc.messages[0])
                return self.computed(form)
            _add_errors(form, exc)
            # A refusal of the file or the reason keeps the figures shown, ready to file again.
            return self.render_to_response(
                self.get_context_data(form=form, figures=self.figures_or_none(form))
            )
        messages.success(request, SUBMITTED % {"reference": application.reference})
        return redirect(application)

    def figures_or_none(self, form):
        data = form.cleaned_data
        if "document_number" not in data or not data.get("months"):
            return None
        try:
            return backpay_compute(
                agent=self.agent, document_number=data["document_number"], months=data["months"]
            )
        except ValidationError:
            return None

    def computed(self, form):
        """The form again with the amounts of what was typed, ready to be filed."""
        try:
            figures = backpay_compute(
                agent=self.agent,
                document_number=form.cleaned_data["document_number"],
                months=form.cleaned_data["months"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
            return self.form_invalid(form)
        data = form.data.copy()
        data["shown_total"] = str(figures.total)
        shown = BackPayForm(data)
        shown.is_valid()
        return self.render_to_response(self.get_context_data(form=shown, figures=figures))


class BackPayDetailView(BackPayMixin, TemplateView):
    template_name = "contributions/backpay/detail.html"

    def get_context_data(self, **kwargs):
        application = backpay_get_for_agent(agent=self.agent, reference=self.kwargs["reference"])
        labels = dict(ReviewState.choices)
        return super().get_context_data(
            application=application,
            months=backpay_months(application),
            attachments=backpay_attachments(application),
            history=[
                (step, labels.get(step.to_state, step.to_state))
                for step in review_history(application)
            ],
            **kwargs,
        )


class BackPayAttachmentView(BackPayMixin, View):
    """The proof the unit attached to one of its applications."""

    def get(self, request, attachment_id, *args, **kwargs):
        attachment = attachment_get_for_agent(agent=self.agent, attachment_id=attachment_id)
        if not attachment.file:
            raise Http404
        audit_log(
            action="backpay.attachment_downloaded",
            actor=request.user,
            employer_id=self.agent.employer_id,
            obj=attachment,
            request=request,
        )
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.original_name,
            content_type=attachment.content_type,
        )
        response["Cache-Control"] = "private, no-store"
        return response
