"""待遇申领 pages: the landing page with the unit's claims, 生育津贴 (facts, then a confirmation
showing the days and the amount, with the proof), 工伤认定申请, 工伤待遇, one page per claim."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, TemplateView, View

from contributions.benefits.forms import (
    InjuryClaimForm,
    InjuryRecognitionForm,
    MaternityClaimForm,
    MaternityConfirmForm,
    ReceiptFormSet,
    receipts_of,
)
from contributions.benefits.selectors import (
    attachment_get_for_agent,
    benefit_terms_for,
    claim_attachments,
    claim_receipts,
    claimable_recognitions_for_agent,
    claims_overview_for_agent,
    injury_claim_existing,
    injury_claim_get_for_agent,
    injury_claims_for_agent,
    maternity_claim_get_for_agent,
    recognition_get_for_agent,
)
from contributions.benefits.services import (
    AMOUNT_CHANGED,
    RECOGNITION_DEADLINE_DAYS,
    Receipt,
    injury_claim_basis,
    injury_claim_submit,
    injury_recognition_submit,
    maternity_claim_compute,
    maternity_claim_submit,
    recognition_days_late,
)
from employers.permissions import PermissionRequiredMixin
from portal.audit import audit_log
from portal.models import ReviewState
from portal.review import review_history

MATERNITY_FORM = "contributions/benefits/maternity_form.html"
MATERNITY_CONFIRM = "contributions/benefits/maternity_confirm.html"
SUBMITTED = _(
    "%(what)s已提交,业务编号 %(reference)s。审核结果将以短信通知单位联系人,并发到站内消息。"
)


def _add_errors(form, exc: ValidationError) -> None:
    """A service's refusal next to the field it names, else at the top of the form."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, field_messages in errors.items():
        form.add_error(field if field in form.fields else None, field_messages)


def _history(claim) -> list:
    labels = dict(ReviewState.choices)
    return [(step, labels.get(step.to_state, step.to_state)) for step in review_history(claim)]


class BenefitsMixin(PermissionRequiredMixin):
    permission = "benefits.claim"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="benefits", **kwargs)


class BenefitIndexView(BenefitsMixin, TemplateView):
    template_name = "contributions/benefits/index.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            overview=claims_overview_for_agent(agent=self.agent),
            terms=benefit_terms_for(self.agent.employer.region_id),
            **kwargs,
        )


# 生育津贴 -----------------------------------------------------------------------------------------


class MaternityMixin(BenefitsMixin):
    @cached_property
    def terms(self):
        return benefit_terms_for(self.agent.employer.region_id)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "wage_declared": self.terms.unit_wage_declared}

    def get_context_data(self, **kwargs):
        return super().get_context_data(terms=self.terms, **kwargs)

    def facts_page(self, facts_form):
        """The first step, with what was typed (and the errors of the facts)."""
        return self.response_class(
            request=self.request,
            template=MATERNITY_FORM,
            context=self.get_context_data(form=facts_form),
        )

    def confirmation(self, confirm_form, figures):
        """The figures and the form that files them (facts hidden, the proof to choose)."""
        return self.response_class(
            request=self.request,
            template=MATERNITY_CONFIRM,
            context=self.get_context_data(form=confirm_form, figures=figures),
        )


# Module functions rather than methods: each view names only its own form (the tenant walk reads
# the parameters of the forms a view's classes name).
def _confirm_form(facts_form, figures, *, wage_declared: bool, **initial):
    """The confirmation's form: the facts as typed, the amount shown, a fresh key."""
    values = {field.name: field.value() for field in facts_form.fact_fields()}
    return MaternityConfirmForm(
        initial={**values, "shown_amount": figures.amount, **initial}, wage_declared=wage_declared
    )


def _recomputed(view):
    """(the facts form bound to the POST, its figures or None when the facts are refused)."""
    facts = MaternityClaimForm(view.request.POST, wage_declared=view.terms.unit_wage_declared)
    if not facts.is_valid():
        return facts, None
    try:
        return facts, maternity_claim_compute(agent=view.agent, **facts.facts())
    except ValidationError as exc:
        _add_errors(facts, exc)
        return facts, None


class MaternityClaimView(MaternityMixin, FormView):
    """Step 1: the facts. A valid POST shows the confirmation; ``edit`` comes back from it."""

    template_name = MATERNITY_FORM
    form_class = MaternityClaimForm

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if "edit" in request.POST:  # 返回修改 on the confirmation: the facts as they were
            return self.render_to_response(self.get_context_data(form=form))
        return self.form_valid(form) if form.is_valid() else self.form_invalid(form)

    def form_valid(self, form):
        try:
            figures = maternity_claim_compute(agent=self.agent, **form.facts())
        except ValidationError as exc:
            _add_errors(form, exc)
            return self.form_invalid(form)
        confirm = _confirm_form(form, figures, wage_declared=self.terms.unit_wage_declared)
        return self.confirmation(confirm, figures)


class MaternityConfirmView(MaternityMixin, FormView):
    """Step 2: file the claim with the figures shown and the proof."""

    template_name = MATERNITY_CONFIRM
    form_class = MaternityConfirmForm

    def get(self, request, *args, **kwargs):
        return redirect("contributions:benefit_maternity")

    def form_valid(self, form):
        try:
            claim = maternity_claim_submit(
                agent=self.agent, request=self.request, **form.submit_kwargs()
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) != AMOUNT_CHANGED:
                _add_errors(form, exc)
                return self.form_invalid(form)
            messages.warning(self.request, exc.messages[0])
            facts, figures = _recomputed(self)
            if figures is None:
                return self.facts_page(facts)
            confirm = _confirm_form(
                facts,
                figures,
                wage_declared=self.terms.unit_wage_declared,
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
            return self.confirmation(confirm, figures)
        messages.success(
            self.request, SUBMITTED % {"what": _("生育津贴申领"), "reference": claim.reference}
        )
        return redirect(claim)

    def form_invalid(self, form):
        """Refused facts go back to the first step; the rest (the proof) stay here."""
        facts, figures = _recomputed(self)
        if figures is None:
            return self.facts_page(facts)
        return self.confirmation(form, figures)


class MaternityDetailView(BenefitsMixin, TemplateView):
    template_name = "contributions/benefits/maternity_detail.html"

    def get_context_data(self, **kwargs):
        claim = maternity_claim_get_for_agent(agent=self.agent, reference=self.kwargs["reference"])
        return super().get_context_data(
            claim=claim,
            attachments=claim_attachments(claim),
            history=_history(claim),
            **kwargs,
        )


# 工伤认定申请 -------------------------------------------------------------------------------------


class InjuryRecognitionView(BenefitsMixin, FormView):
    template_name = "contributions/benefits/recognition_form.html"
    form_class = InjuryRecognitionForm

    def get_context_data(self, **kwargs):
        form = kwargs.get("form")
        accident_date = getattr(form, "cleaned_data", {}).get("accident_date")
        late = recognition_days_late(accident_date, timezone.localdate()) if accident_date else 0
        return super().get_context_data(
            late_days=late, deadline_days=RECOGNITION_DEADLINE_DAYS, **kwargs
        )

    def form_valid(self, form):
        try:
            recognition = injury_recognition_submit(
                agent=self.agent, request=self.request, **form.submit_kwargs()
            )
        except ValidationError as exc:
            _add_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            SUBMITTED % {"what": _("工伤认定申请"), "reference": recognition.reference},
        )
        return redirect(recognition)


class RecognitionDetailView(BenefitsMixin, TemplateView):
    template_name = "contributions/benefits/recognition_detail.html"

    def get_context_data(self, **kwargs):
        recognition = recognition_get_for_agent(
            agent=self.agent, reference=self.kwargs["reference"]
        )
        return super().get_context_data(
            recognition=recognition,
            attachments=claim_attachments(recognition),
            history=_history(recognition),
            claim=injury_claim_existing(recognition_id=recognition.pk),
            **kwargs,
        )


# 工伤待遇 -----------------------------------------------------------------------------------------


class InjuryClaimsView(BenefitsMixin, TemplateView):
    """The unit's approved recognitions to claim for, and its 工伤待遇 claims."""

    template_name = "contributions/benefits/injury_claims.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            claimable=claimable_recognitions_for_agent(agent=self.agent),
            claims=injury_claims_for_agent(agent=self.agent),
            **kwargs,
        )


class InjuryClaimView(BenefitsMixin, FormView):
    """The claim of one approved recognition: own wage and lump sums shown, then the form."""

    template_name = "contributions/benefits/injury_claim_form.html"
    form_class = InjuryClaimForm

    @cached_property
    def recognition(self):
        return recognition_get_for_agent(agent=self.agent, reference=self.kwargs["reference"])

    def deny(self, request):
        denied = super().deny(request)
        if denied is None:
            self.recognition  # noqa: B018 — another unit's recognition is a 404 before anything
        return denied

    @cached_property
    def basis(self):
        return injury_claim_basis(recognition=self.recognition)

    def get_context_data(self, **kwargs):
        kwargs.setdefault("formset", ReceiptFormSet(prefix="receipts"))
        return super().get_context_data(recognition=self.recognition, basis=self.basis, **kwargs)

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        formset = ReceiptFormSet(request.POST, prefix="receipts")
        if form.is_valid() and formset.is_valid():
            return self.claim_valid(form, formset)
        return self.render_to_response(self.get_context_data(form=form, formset=formset))

    def claim_valid(self, form, formset):
        data = form.cleaned_data
        try:
            claim = injury_claim_submit(
                agent=self.agent,
                request=self.request,
                recognition=self.recognition,
                idempotency_key=data["idempotency_key"],
                disability_level=data["disability_level"],
                receipts=[Receipt(**row) for row in receipts_of(formset)],
                assessment=data.get("assessment"),
                receipts_scan=data.get("receipts_scan"),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
            return self.render_to_response(self.get_context_data(form=form, formset=formset))
        messages.success(
            self.request, SUBMITTED % {"what": _("工伤待遇申领"), "reference": claim.reference}
        )
        return redirect(claim)


class InjuryClaimDetailView(BenefitsMixin, TemplateView):
    template_name = "contributions/benefits/injury_claim_detail.html"

    def get_context_data(self, **kwargs):
        claim = injury_claim_get_for_agent(agent=self.agent, reference=self.kwargs["reference"])
        return super().get_context_data(
            claim=claim,
            receipts=claim_receipts(claim),
            attachments=claim_attachments(claim),
            history=_history(claim),
            **kwargs,
        )


class AttachmentDownloadView(BenefitsMixin, View):
    """A file the unit attached to one of its claims."""

    def get(self, request, attachment_id, *args, **kwargs):
        attachment = attachment_get_for_agent(agent=self.agent, attachment_id=attachment_id)
        if not attachment.file:
            raise Http404
        audit_log(
            action="benefits.attachment_downloaded",
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
