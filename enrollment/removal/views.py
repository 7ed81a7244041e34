"""减员 pages: pick an active employee, file the removal, follow the filing."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, TemplateView

from employers.permissions import PermissionRequiredMixin
from enrollment.removal.forms import RemoveEmployeeForm
from enrollment.removal.selectors import (
    open_removal_filing,
    removable_enrolment_get_for_agent,
    removable_enrolments_for_agent,
    removal_filing_get_for_agent,
    removal_filing_list_for_agent,
)
from enrollment.removal.services import remove_employee_filing_submit
from portal.models import ReviewState
from portal.review import review_history
from portal.search_tokens import search_read, search_redirect


class RemovalMixin(PermissionRequiredMixin):
    permission = "enrollment.remove"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="enrollment", **kwargs)


class RemoveEmployeeView(RemovalMixin, FormView):
    """A POSTed search (``search``, ``q``) leads to the unit's active employees found, at
    ``?s=<token>`` (portal.search_tokens); GET ?enrolment= shows the form; POST files it."""

    template_name = "enrollment/remove_employee.html"
    form_class = RemoveEmployeeForm

    @cached_property
    def selected(self):
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        return removable_enrolment_get_for_agent(
            agent=self.agent, enrolment_id=source.get("enrolment")
        )

    def post(self, request, *args, **kwargs):
        if "search" in request.POST:
            return search_redirect(request, {"q": request.POST.get("q", "").strip()[:50]})
        return super().post(request, *args, **kwargs)

    def get_initial(self):
        enrolment = self.selected
        return {"enrolment": enrolment.pk} if enrolment else {}

    def get_context_data(self, **kwargs):
        q = search_read(self.request, self.request.GET.get("s")).data.get("q", "")
        enrolment = self.selected
        return super().get_context_data(
            q=q,
            candidates=removable_enrolments_for_agent(agent=self.agent, q=q) if q else [],
            enrolment=enrolment,
            pending=open_removal_filing(enrolment) if enrolment else None,
            filings=removal_filing_list_for_agent(agent=self.agent),
            **kwargs,
        )

    def form_valid(self, form):
        enrolment = self.selected
        if enrolment is None:
            form.add_error(None, _("请先查询并选择要减员的人员。"))
            return self.form_invalid(form)
        data = form.cleaned_data
        try:
            filing = remove_employee_filing_submit(
                agent=self.agent,
                idempotency_key=data["idempotency_key"],
                enrolment=enrolment,
                reason=data["reason"],
                voluntary=data["voluntary"],
                last_contribution_month=data["last_contribution_month"],
                request=self.request,
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
            for field, field_messages in errors.items():
                # Refusals about the person (not active, already filed) go to the summary.
                target = field if field in form.fields and field != "enrolment" else None
                form.add_error(target, field_messages)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("减员申请已提交,业务编号 %(reference)s,社保经办机构将在1至3个工作日内审核。")
            % {"reference": filing.reference},
        )
        return redirect(filing)


class RemoveDetailView(RemovalMixin, TemplateView):
    template_name = "enrollment/remove_detail.html"

    def get_context_data(self, **kwargs):
        filing = removal_filing_get_for_agent(agent=self.agent, reference=self.kwargs["reference"])
        labels = dict(ReviewState.choices)
        history = [
            (step, labels.get(step.to_state, step.to_state)) for step in review_history(filing)
        ]
        return super().get_context_data(filing=filing, history=history, **kwargs)
