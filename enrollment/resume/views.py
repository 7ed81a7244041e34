"""续保 pages: the persons who may be resumed, the 续保 form, its resubmission after rejection.

A filed 续保 is an add filing: its page is the add filing's page (enrollment:add_detail).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, ListView

from enrollment.add.selectors import base_bounds_now_and_next, employment_forms_for_region
from enrollment.add.views import AddEmployeeMixin, FilingMixin
from enrollment.models import InsuranceCode
from enrollment.resume.forms import ResumeForm, resume_initial
from enrollment.resume.rules import resume_earliest_month, resume_refusal
from enrollment.resume.selectors import (
    resume_candidates_for_agent,
    resume_enrolment_get_for_agent,
)
from enrollment.resume.services import resume_filing_resubmit, resume_filing_submit
from portal.models import ReviewState


class ResumeListView(AddEmployeeMixin, ListView):
    """The unit's persons whose enrolment ended or is suspended, each with 续保."""

    template_name = "enrollment/resume_list.html"
    context_object_name = "enrolments"
    paginate_by = 20

    def get_queryset(self):
        return resume_candidates_for_agent(self.agent)


class ResumeFormMixin(AddEmployeeMixin):
    form_class = ResumeForm
    template_name = "enrollment/resume_form.html"

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "employment_forms": employment_forms_for_region(self.agent.employer.region),
        }

    def get_context_data(self, **kwargs):
        region = self.agent.employer.region
        return super().get_context_data(
            region=region, bounds=base_bounds_now_and_next(region), **kwargs
        )

    def previous_context(self, previous) -> dict:
        return {
            "previous": previous,
            "person": previous.person,
            "earliest": resume_earliest_month(previous),
            "previous_insurance": [
                str(InsuranceCode(code).label) for code in previous.insurance_codes
            ],
        }


class ResumeView(ResumeFormMixin, FormView):
    @cached_property
    def previous(self):
        return resume_enrolment_get_for_agent(
            agent=self.agent, enrolment_id=self.kwargs["enrolment_id"]
        )

    def deny(self, request):
        denied = super().deny(request)
        if denied is None:
            self.previous  # noqa: B018 — load the enrolment (or 404) before anything else
        return denied

    def get_initial(self):
        # A token per rendered page: submitting the same page twice files once.
        return {"idempotency_key": uuid.uuid4(), **resume_initial(self.previous)}

    def get_context_data(self, **kwargs):
        refusal = ""
        try:
            resume_refusal(self.previous)
        except ValidationError as exc:
            refusal = " ".join(exc.messages)
        return super().get_context_data(
            refusal=refusal, **self.previous_context(self.previous), **kwargs
        )

    def form_valid(self, form):
        try:
            filing = resume_filing_submit(
                agent=self.agent,
                enrolment_id=self.previous.pk,
                request=self.request,
                **form.service_kwargs(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("续保申请已提交,业务编号 %(reference)s。审核结果将以短信通知单位联系人。")
            % {"reference": filing.reference},
        )
        return redirect(filing)


class ResumeResubmitView(FilingMixin, ResumeFormMixin, FormView):
    def deny(self, request):
        denied = super().deny(request)
        if denied is None and not self.filing.enrolment.resumed_from_id:
            # An ordinary 增员 is corrected on its own form.
            return redirect("enrollment:add_resubmit", reference=self.filing.reference)
        return denied

    def get(self, request, *args, **kwargs):
        if self.filing.review_state != ReviewState.REJECTED:
            messages.info(request, _("只有审核未通过的续保申请可以修改后重新提交。"))
            return redirect(self.filing)
        return super().get(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "attachments_required": False}

    def get_initial(self):
        enrolment = self.filing.enrolment
        return {
            "idempotency_key": self.filing.idempotency_key,
            **resume_initial(enrolment),
            "start_month": enrolment.start_month,
            "employment_start": enrolment.employment_start,
        }

    def get_context_data(self, **kwargs):
        previous = self.filing.enrolment.resumed_from
        return super().get_context_data(
            filing=self.filing, **self.previous_context(previous), **kwargs
        )

    def form_valid(self, form):
        data = form.service_kwargs()
        data.pop("idempotency_key", None)
        try:
            filing = resume_filing_resubmit(
                agent=self.agent, filing=self.filing, request=self.request, **data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("已重新提交,请等待审核。"))
        return redirect(filing)
