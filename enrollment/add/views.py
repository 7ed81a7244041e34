"""新增参保人员 pages: the form, the unit's filings, one filing, its PDF, its attachments."""

from __future__ import annotations

import uuid
from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, ListView, TemplateView, View

from employers.permissions import PermissionRequiredMixin
from enrollment.add.forms import AddEmployeeForm, UnboundAddEmployeeForm, form_initial_from_filing
from enrollment.add.selectors import (
    add_filing_attachments,
    add_filing_get_for_agent,
    add_filing_list_for_agent,
    attachment_get_for_agent,
    employment_form_choices,
    employment_form_get,
    employment_forms_for_region,
    region_base_bounds,
)
from enrollment.add.services import (
    add_employee_filing_resubmit,
    add_employee_filing_submit,
    registration_form_generate,
)
from enrollment.models import AddEmployeeFiling
from portal.audit import audit_log
from portal.models import ReviewState
from portal.review import review_history

FORM_FILENAME = "新增参保人员登记表-%s.pdf"


class AddEmployeeMixin(PermissionRequiredMixin):
    permission = "enrollment.add"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="enrollment", **kwargs)


class FilingMixin(AddEmployeeMixin):
    """Pages about one filing of the unit; another unit's filing is a 404 like a missing one."""

    @cached_property
    def filing(self) -> AddEmployeeFiling:
        return add_filing_get_for_agent(agent=self.agent, reference=self.kwargs["reference"])

    def deny(self, request):
        denied = super().deny(request)
        if denied is None:
            self.filing  # noqa: B018 — load the filing (or 404) before anything else happens
        return denied


class AddEmployeeFormMixin(AddEmployeeMixin):
    form_class = AddEmployeeForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        region = self.agent.employer.region_id
        kwargs["employment_forms"] = employment_forms_for_region(region)
        if "data" in kwargs:
            # A submitted choice is read by a compiled query of the same rows.
            kwargs["employment_form_lookup"] = partial(employment_form_get, region)
        else:
            # A page to fill in offers the rows read here (a compiled query); a submitted
            # choice is checked against the queryset.
            kwargs["employment_form_choices"] = employment_form_choices(region)
        return kwargs

    def get_context_data(self, **kwargs):
        region_name, bounds = region_base_bounds(self.agent.employer.region_id)
        return super().get_context_data(region_name=region_name, bounds=bounds, **kwargs)


class AddEmployeeView(AddEmployeeFormMixin, FormView):
    template_name = "enrollment/add_employee.html"

    def get_initial(self):
        # A token per rendered page: submitting the same page twice files once.
        return {**super().get_initial(), "idempotency_key": uuid.uuid4()}

    def get_form(self, form_class=None):
        kwargs = self.get_form_kwargs()
        if form_class is None and "data" not in kwargs and "files" not in kwargs:
            # A page to fill in: the form is built only if its stored HTML is not printed.
            return UnboundAddEmployeeForm(**kwargs)
        return (form_class or self.get_form_class())(**kwargs)

    def form_valid(self, form):
        try:
            filing = add_employee_filing_submit(
                agent=self.agent, request=self.request, **form.service_kwargs()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("增员申请已提交,业务编号 %(reference)s。审核结果将以短信通知单位联系人。")
            % {"reference": filing.reference},
        )
        return redirect(filing)


class AddFilingResubmitView(FilingMixin, AddEmployeeFormMixin, FormView):
    template_name = "enrollment/add_resubmit.html"

    def deny(self, request):
        denied = super().deny(request)
        if denied is None and self.filing.enrolment.resumed_from_id:
            # A 续保 keeps the person as registered: it is corrected on its own form.
            return redirect("enrollment:resume_resubmit", reference=self.filing.reference)
        return denied

    def get(self, request, *args, **kwargs):
        if self.filing.review_state != ReviewState.REJECTED:
            messages.info(request, _("只有审核未通过的增员申请可以修改后重新提交。"))
            return redirect(self.filing)
        return super().get(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "attachments_required": False}

    def get_initial(self):
        return form_initial_from_filing(self.filing)

    def get_context_data(self, **kwargs):
        return super().get_context_data(filing=self.filing, **kwargs)

    def form_valid(self, form):
        data = form.service_kwargs()
        data.pop("idempotency_key", None)
        try:
            filing = add_employee_filing_resubmit(
                agent=self.agent, filing=self.filing, request=self.request, **data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("已重新提交,请等待审核。"))
        return redirect(filing)


class AddFilingListView(AddEmployeeMixin, ListView):
    template_name = "enrollment/add_list.html"
    context_object_name = "filings"
    paginate_by = 20

    def get_queryset(self):
        return add_filing_list_for_agent(agent=self.agent)


class AddFilingDetailView(FilingMixin, TemplateView):
    template_name = "enrollment/add_detail.html"

    def get_context_data(self, **kwargs):
        filing = self.filing
        return super().get_context_data(
            filing=filing,
            enrolment=filing.enrolment,
            person=filing.enrolment.person,
            attachments=add_filing_attachments(filing),
            flags=[AddEmployeeFiling.Flag(flag).label for flag in filing.flags],
            history=[
                (step.created_at, ReviewState(step.to_state).label, step.comment)
                for step in review_history(filing)
                if step.to_state in ReviewState.values
            ],
            rejected=filing.review_state == ReviewState.REJECTED,
            **kwargs,
        )


def _file_response(request, *, agent, obj, field_file, filename, content_type, action):
    audit_log(
        action=action, actor=request.user, employer_id=agent.employer_id, obj=obj, request=request
    )
    response = FileResponse(
        field_file.open("rb"), as_attachment=True, filename=filename, content_type=content_type
    )
    response["Cache-Control"] = "private, no-store"
    return response


class AddFilingFormPdfView(FilingMixin, View):
    """The registration form; rendered now when the background task has not done it yet."""

    def get(self, request, *args, **kwargs):
        filing = self.filing
        if not filing.registration_form:
            filing = registration_form_generate(filing_id=filing.pk)
        return _file_response(
            request,
            agent=self.agent,
            obj=filing,
            field_file=filing.registration_form,
            filename=FORM_FILENAME % filing.reference,
            content_type="application/pdf",
            action="enrollment.form_downloaded",
        )


class AttachmentDownloadView(AddEmployeeMixin, View):
    def get(self, request, attachment_id, *args, **kwargs):
        attachment = attachment_get_for_agent(agent=self.agent, attachment_id=attachment_id)
        if not attachment.file:
            raise Http404
        return _file_response(
            request,
            agent=self.agent,
            obj=attachment,
            field_file=attachment.file,
            filename=attachment.original_name,
            content_type=attachment.content_type,
            action="enrollment.attachment_downloaded",
        )
