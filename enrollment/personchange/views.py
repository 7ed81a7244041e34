"""个人信息变更 pages: the unit's changes, a new change of one person, one change, its
resubmission after rejection, its proof."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, ListView, TemplateView, View

from enrollment.add.selectors import employment_forms_for_region
from enrollment.add.views import AddEmployeeMixin
from enrollment.personchange.forms import PersonChangeForm, person_change_initial
from enrollment.personchange.selectors import (
    person_change_attachment_get_for_agent,
    person_change_enrolment_get_for_agent,
    person_change_get_for_agent,
    person_change_list_for_agent,
    person_change_rows,
)
from enrollment.personchange.services import (
    CHANGEABLE_STATUSES,
    COUNTER_NOTE,
    NOT_HERE,
    person_change_resubmit,
    person_change_submit,
)
from portal.audit import audit_log
from portal.models import ReviewState
from portal.review import review_history


class PersonChangeListView(AddEmployeeMixin, ListView):
    template_name = "enrollment/person_change_list.html"
    context_object_name = "filings"
    paginate_by = 20

    def get_queryset(self):
        return person_change_list_for_agent(self.agent)

    def get_context_data(self, **kwargs):
        return super().get_context_data(counter_note=COUNTER_NOTE, **kwargs)


class PersonChangeFormMixin(AddEmployeeMixin):
    form_class = PersonChangeForm
    template_name = "enrollment/person_change_form.html"

    def enrolment_for_form(self):
        raise NotImplementedError

    def get_form_kwargs(self):
        enrolment = self.enrolment_for_form()
        return {
            **super().get_form_kwargs(),
            "employment_forms": employment_forms_for_region(self.agent.employer.region),
            "current_phone": enrolment.person.masked_phone,
        }

    def get_context_data(self, **kwargs):
        enrolment = self.enrolment_for_form()
        return super().get_context_data(
            enrolment=enrolment,
            person=enrolment.person,
            counter_note=COUNTER_NOTE,
            **kwargs,
        )


class PersonChangeView(PersonChangeFormMixin, FormView):
    @cached_property
    def enrolment(self):
        return person_change_enrolment_get_for_agent(
            agent=self.agent, enrolment_id=self.kwargs["enrolment_id"]
        )

    def enrolment_for_form(self):
        return self.enrolment

    def deny(self, request):
        denied = super().deny(request)
        if denied is None:
            self.enrolment  # noqa: B018 — load the enrolment (or 404) before anything else
        return denied

    def get_initial(self):
        # A token per rendered page: submitting the same page twice files once.
        return {"idempotency_key": uuid.uuid4(), **person_change_initial(self.enrolment)}

    def get_context_data(self, **kwargs):
        refusal = "" if self.enrolment.status in CHANGEABLE_STATUSES else NOT_HERE
        return super().get_context_data(refusal=refusal, **kwargs)

    def form_valid(self, form):
        try:
            filing = person_change_submit(
                agent=self.agent,
                enrolment_id=self.enrolment.pk,
                request=self.request,
                **form.service_kwargs(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("个人信息变更已提交,业务编号 %(reference)s。审核通过后新信息生效。")
            % {"reference": filing.reference},
        )
        return redirect(filing)


class PersonChangeFilingMixin(AddEmployeeMixin):
    """Pages about one change of the unit; another unit's is a 404 like a missing one."""

    @cached_property
    def filing(self):
        return person_change_get_for_agent(agent=self.agent, reference=self.kwargs["reference"])

    def deny(self, request):
        denied = super().deny(request)
        if denied is None:
            self.filing  # noqa: B018 — load the filing (or 404) before anything else happens
        return denied


class PersonChangeDetailView(PersonChangeFilingMixin, TemplateView):
    template_name = "enrollment/person_change_detail.html"

    def get_context_data(self, **kwargs):
        filing = self.filing
        return super().get_context_data(
            filing=filing,
            person=filing.person,
            rows=person_change_rows(filing),
            attachments=list(filing.attachments.all()),
            history=[
                (step.created_at, ReviewState(step.to_state).label, step.comment)
                for step in review_history(filing)
                if step.to_state in ReviewState.values
            ],
            rejected=filing.review_state == ReviewState.REJECTED,
            counter_note=COUNTER_NOTE,
            **kwargs,
        )


class PersonChangeResubmitView(PersonChangeFilingMixin, PersonChangeFormMixin, FormView):
    def enrolment_for_form(self):
        return self.filing.enrolment

    def get(self, request, *args, **kwargs):
        if self.filing.review_state != ReviewState.REJECTED:
            messages.info(request, _("只有审核未通过的个人信息变更可以修改后重新提交。"))
            return redirect(self.filing)
        return super().get(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "attachment_required": False}

    def get_initial(self):
        filing = self.filing
        return {
            "idempotency_key": filing.idempotency_key,
            "name": filing.name,
            "hukou_type": filing.hukou_type,
            "employment_form": filing.employment_form_id,
            "reason": filing.reason,
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(filing=self.filing, refusal="", **kwargs)

    def form_valid(self, form):
        data = form.service_kwargs()
        data.pop("idempotency_key", None)
        try:
            filing = person_change_resubmit(
                agent=self.agent, filing=self.filing, request=self.request, **data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("已重新提交,请等待审核。"))
        return redirect(filing)


class PersonChangeAttachmentView(AddEmployeeMixin, View):
    def get(self, request, attachment_id, *args, **kwargs):
        attachment = person_change_attachment_get_for_agent(
            agent=self.agent, attachment_id=attachment_id
        )
        if not attachment.file:
            raise Http404
        audit_log(
            action="enrollment.person_change_attachment_downloaded",
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
