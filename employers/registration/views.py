"""Unit registration: a wizard of short steps, identity verification, the status page."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.generic import FormView, TemplateView, View

from employers.models import CAChallenge, PennyDropTransfer, RegistrationApplication
from employers.permissions import request_agent
from employers.registration import forms
from employers.registration.services import (
    registration_due_date,
    registration_record_certificate,
    registration_resubmit,
    registration_start,
    registration_submit,
)
from employers.selectors import (
    application_get,
    application_latest_face_session,
    application_latest_penny_drop,
    opened_account_match,
)
from employers.verification.bank import penny_drop_confirm, penny_drop_request
from employers.verification.ca import CertificateRejected
from employers.verification.ca_services import ca_challenge_issue, ca_challenge_redeem
from employers.verification.face import face_session_start
from portal.audit import client_ip
from portal.crypto import decrypt, encrypt
from portal.identifiers import mask_bank_account, mask_id_number, mask_phone
from portal.models import ReviewState
from portal.review import review_history
from portal.smscodes import sms_code_send, sms_code_verify

DRAFT_KEY = "registration_draft"
APPLICATIONS_KEY = "registration_applications"

STEPS = [
    ("unit", _("单位信息"), forms.UnitForm),
    ("contact", _("联系人"), forms.ContactForm),
    ("bank", _("缴费账户"), forms.BankForm),
    ("agent", _("单位管理员"), forms.AdminAgentForm),
    ("confirm", _("核对信息"), None),
]
STEP_KEYS = [key for key, _label, _form in STEPS]
# Fields verified by an SMS code: the code is checked when its step is saved.
SMS_FIELDS = {"contact": ("contact_phone", "contact_code"), "agent": ("agent_phone", "agent_code")}
NOT_KEPT = {"contact_code", "agent_code", "password", "password2"}


def load_draft(request) -> dict:
    """The answers so far; kept encrypted in the session (they hold personal data)."""
    sealed = request.session.get(DRAFT_KEY)
    return json.loads(decrypt(sealed)) if sealed else {}


def save_draft(request, draft: dict) -> None:
    request.session[DRAFT_KEY] = encrypt(json.dumps(draft, ensure_ascii=False))


def progress(current: str) -> list[dict]:
    index = STEP_KEYS.index(current) if current in STEP_KEYS else len(STEPS)
    return [
        {"key": key, "label": label, "number": n + 1, "done": n < index, "current": n == index}
        for n, (key, label, _form) in enumerate(STEPS)
    ] + [
        {
            "key": "verify",
            "label": _("身份认证"),
            "number": len(STEPS) + 1,
            "done": False,
            "current": current == "verify",
        },
    ]


@method_decorator(never_cache, name="dispatch")  # the form renders typed passwords back
class RegistrationStepView(FormView):
    """One step of the wizard; going back shows what was typed before."""

    template_name = "employers/register/step.html"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.step = kwargs["step"]
        if self.step not in STEP_KEYS or self.step == "confirm":
            raise Http404
        self.draft = load_draft(request)

    def dispatch(self, request, *args, **kwargs):
        # A step can be opened only once the steps before it are done.
        for key in STEP_KEYS[: STEP_KEYS.index(self.step)]:
            if key not in self.draft.get("done", []):
                return redirect("employers:register_step", step=key)
        return super().dispatch(request, *args, **kwargs)

    def get_form_class(self):
        return dict((key, form) for key, _label, form in STEPS)[self.step]

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if self.step == "bank":
            kwargs["unit_name"] = self.draft.get("name", "")
        return kwargs

    def get_initial(self):
        return {k: v for k, v in self.draft.items() if k not in NOT_KEPT}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        label = dict((key, label) for key, label, _form in STEPS)[self.step]
        index = STEP_KEYS.index(self.step)
        context.update(
            step=self.step,
            step_label=label,
            steps=progress(self.step),
            previous=STEP_KEYS[index - 1] if index else None,
            sms_field=SMS_FIELDS.get(self.step, (None,))[0],
        )
        return context

    def post(self, request, *args, **kwargs):
        if "send_code" in request.POST:
            return self.send_code()
        return super().post(request, *args, **kwargs)

    def send_code(self):
        form = self.get_form()
        phone_field = SMS_FIELDS[self.step][0]
        field = form.fields[phone_field]
        raw = self.request.POST.get(phone_field, "")
        try:
            phone = field.clean(raw)
            sms_code_send(purpose="registration", phone=phone, ip_address=client_ip(self.request))
        except ValidationError as exc:
            form.is_valid()
            form.errors.clear()
            form.add_error(phone_field, exc.messages)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(
            self.request, _("验证码已发送至 %(phone)s,5分钟内有效。") % {"phone": mask_phone(phone)}
        )
        form.errors.clear()
        return self.render_to_response(self.get_context_data(form=form, code_sent=True))

    def form_valid(self, form):
        data = form.cleaned_data
        if self.step in SMS_FIELDS:
            phone_field, code_field = SMS_FIELDS[self.step]
            try:
                sms_code_verify(
                    purpose="registration", phone=data[phone_field], code=data[code_field]
                )
            except ValidationError as exc:
                form.add_error(code_field, exc.messages)
                return self.form_invalid(form)
        for key, value in data.items():
            if key in {"password", "password2"}:
                continue
            if key not in NOT_KEPT:
                self.draft[key] = value
        if self.step == "agent":
            # The password is sealed with the rest of the draft until the application exists.
            self.draft["password"] = data["password"]
        done = set(self.draft.get("done", []))
        done.add(self.step)
        self.draft["done"] = sorted(done)
        save_draft(self.request, self.draft)
        return redirect("employers:register_step", step=STEP_KEYS[STEP_KEYS.index(self.step) + 1])


class RegistrationConfirmView(TemplateView):
    """Check your answers, then create the application."""

    template_name = "employers/register/confirm.html"

    def dispatch(self, request, *args, **kwargs):
        self.draft = load_draft(request)
        for key in STEP_KEYS[:-1]:
            if key not in self.draft.get("done", []):
                return redirect("employers:register_step", step=key)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        d = self.draft
        rows = [
            ("unit", _("单位全称"), d["name"]),
            ("unit", _("统一社会信用代码"), d["uscc"]),
            ("unit", _("单位社保编号"), d["ss_number"]),
            ("unit", _("法定代表人"), d["legal_rep_name"]),
            ("unit", _("法定代表人身份证号"), mask_id_number(d["legal_rep_id_number"])),
            ("contact", _("联系人手机号"), mask_phone(d["contact_phone"])),
            ("contact", _("联系邮箱"), d.get("contact_email") or _("未填写")),
            ("bank", _("开户行"), d["bank_name"]),
            ("bank", _("对公账号"), mask_bank_account(d["bank_account"])),
            ("bank", _("户名"), d["bank_account_name"]),
            ("agent", _("单位管理员"), d["agent_name"]),
            ("agent", _("管理员身份证号"), mask_id_number(d["agent_id_number"])),
            ("agent", _("管理员手机号"), mask_phone(d["agent_phone"])),
        ]
        return super().get_context_data(rows=rows, steps=progress("confirm"), **kwargs)

    def post(self, request, *args, **kwargs):
        d = self.draft
        try:
            account = opened_account_match(uscc=d["uscc"], ss_number=d["ss_number"], name=d["name"])
            application = registration_start(
                account=account,
                legal_rep_id_number=d["legal_rep_id_number"],
                contact_phone=d["contact_phone"],
                contact_email=d.get("contact_email", ""),
                bank_name=d["bank_name"],
                bank_account=d["bank_account"],
                bank_account_name=d["bank_account_name"],
                agent_name=d["agent_name"],
                agent_id_number=d["agent_id_number"],
                agent_phone=d["agent_phone"],
                password=d["password"],
                request=request,
            )
        except ValidationError as exc:
            context = self.get_context_data(errors=exc.messages)
            return self.render_to_response(context)
        request.session.pop(DRAFT_KEY, None)
        request.session[APPLICATIONS_KEY] = [
            *request.session.get(APPLICATIONS_KEY, []),
            application.reference,
        ]
        return redirect("employers:register_verify", reference=application.reference)


STATUS_ELSEWHERE = _(
    "审核进度可在提交注册的浏览器中查看;在其他电脑或手机上,请用注册时设置的单位管理员账号"
    "(身份证号和密码)登录后查看。"
)


class ApplicationMixin:
    """Pages of one application: only the browser session that created it may open them."""

    require_verifying = True
    # The status page also opens for a logged-in agent of the application's unit.
    allow_unit_agent = False

    def dispatch(self, request, *args, **kwargs):
        reference = kwargs["reference"]
        self.application = application_get(reference=reference)
        if (
            self.allow_unit_agent
            and not request.user.is_authenticated
            and (self.application is None or not self.may_open(request))
        ):
            # Another browser: the unit's administrator logs in to see the status (the same
            # answer whether or not the reference exists, so it tells nothing).
            messages.info(request, STATUS_ELSEWHERE)
            return redirect_to_login(request.get_full_path())
        if self.application is None or not self.may_open(request):
            raise Http404
        if (
            self.require_verifying
            and self.application.state != RegistrationApplication.State.VERIFYING
        ):
            return redirect("employers:register_status", reference=reference)
        return super().dispatch(request, *args, **kwargs)

    def may_open(self, request) -> bool:
        if self.application.reference in request.session.get(APPLICATIONS_KEY, []):
            return True
        agent = request_agent(request) if self.allow_unit_agent else None
        return agent is not None and agent.employer_id == self.application.employer_id

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            application=self.application, steps=progress("verify"), **kwargs
        )


class VerifyChoiceView(ApplicationMixin, FormView):
    template_name = "employers/register/verify.html"
    form_class = forms.VerificationChoiceForm

    def form_valid(self, form):
        method = form.cleaned_data["method"]
        return redirect(f"employers:register_verify_{method}", reference=self.application.reference)


class SubmitMixin:
    def submit(self):
        registration_submit(application=self.application, request=self.request)
        return redirect("employers:register_status", reference=self.application.reference)


class VerifyCertificateView(ApplicationMixin, SubmitMixin, FormView):
    template_name = "employers/register/verify_ca.html"
    form_class = forms.CertificateForm

    def get_context_data(self, **kwargs):
        challenge = ca_challenge_issue(
            purpose=CAChallenge.Purpose.REGISTRATION, application=self.application
        )
        self.request.session["ca_challenge"] = challenge.nonce
        return super().get_context_data(challenge=challenge, **kwargs)

    def form_valid(self, form):
        try:
            check = ca_challenge_redeem(
                nonce=self.request.session.pop("ca_challenge", ""),
                purpose=CAChallenge.Purpose.REGISTRATION,
                application=self.application,
                certificate=form.cleaned_data["certificate"],
                signature=form.cleaned_data["signature"],
                expected_uscc=self.application.account.uscc,
                request=self.request,
            )
        except CertificateRejected as exc:
            form.add_error("certificate", exc.messages)
            return self.form_invalid(form)
        registration_record_certificate(application=self.application, check=check)
        return self.submit()

    def form_invalid(self, form):
        # The page comes back with a new challenge: a signature of the old one can only fail
        # again, so the box is emptied (the certificate stays).
        data = form.data.copy()
        data["signature"] = ""
        form.data = data
        return super().form_invalid(form)


class VerifyFaceView(ApplicationMixin, SubmitMixin, TemplateView):
    template_name = "employers/register/verify_face.html"

    def post(self, request, *args, **kwargs):
        if self.application.verified_at:
            return self.submit()
        return_url = request.build_absolute_uri(
            reverse("employers:register_verify_face", args=[self.application.reference])
        )
        try:
            _session, url = face_session_start(application=self.application, return_url=return_url)
        except ValidationError as exc:
            return self.render_to_response(self.get_context_data(errors=exc.messages))
        return redirect(url)

    def get_context_data(self, **kwargs):
        latest = application_latest_face_session(self.application)
        return super().get_context_data(latest=latest, **kwargs)


class VerifyBankView(ApplicationMixin, SubmitMixin, FormView):
    template_name = "employers/register/verify_bank.html"
    form_class = forms.PennyAmountForm

    def get_context_data(self, **kwargs):
        transfer = application_latest_penny_drop(self.application)
        return super().get_context_data(
            transfer=transfer,
            waiting=transfer is not None and transfer.state == PennyDropTransfer.State.SENT,
            pending=transfer is not None and transfer.state == PennyDropTransfer.State.PENDING,
            masked_account=mask_bank_account(self.application.employer.bank_account),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        if "request_transfer" in request.POST:
            try:
                penny_drop_request(application=self.application)
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
            else:
                messages.success(
                    request,
                    _("已申请向贵单位对公账户汇出一笔小额款项,银行受理后将显示预计到账日期。"),
                )
            return redirect("employers:register_verify_bank", reference=self.application.reference)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            penny_drop_confirm(
                application=self.application, amount_text=form.cleaned_data["amount"]
            )
        except ValidationError as exc:
            form.add_error("amount", exc.messages)
            return self.form_invalid(form)
        return self.submit()


class RegistrationResubmitView(ApplicationMixin, FormView):
    """Correct a rejected application's answers, keeping the earlier ones, and resubmit."""

    template_name = "employers/register/resubmit.html"
    form_class = forms.ResubmitForm
    require_verifying = False
    allow_unit_agent = True

    def get(self, request, *args, **kwargs):
        if self.application.review_state != ReviewState.REJECTED:
            return redirect("employers:register_status", reference=self.application.reference)
        return super().get(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "unit_name": self.application.employer.name}

    def get_initial(self):
        employer = self.application.employer
        return {
            "legal_rep_id_number": employer.legal_rep_id_number,
            "contact_email": employer.contact_email,
            "bank_name": employer.bank_name,
            "bank_account": employer.bank_account,
            "bank_account_name": employer.bank_account_name,
        }

    def post(self, request, *args, **kwargs):
        if self.application.review_state != ReviewState.REJECTED:
            return redirect("employers:register_status", reference=self.application.reference)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            registration_resubmit(
                application=self.application,
                actor=self.request.user if self.request.user.is_authenticated else None,
                request=self.request,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
            return self.form_invalid(form)
        reference = self.application.reference
        self.application.refresh_from_db(fields=["state"])
        if self.application.state == RegistrationApplication.State.VERIFYING:
            # The verification pages belong to this browser from now on.
            opened = self.request.session.get(APPLICATIONS_KEY, [])
            if reference not in opened:
                self.request.session[APPLICATIONS_KEY] = [*opened, reference]
            messages.info(
                self.request,
                _("修改已保存。请重新完成身份认证,认证通过后申请将自动提交审核。"),
            )
            return redirect("employers:register_verify", reference=reference)
        messages.success(self.request, _("已重新提交,请等待审核。"))
        return redirect("employers:register_status", reference=reference)


class RegistrationStatusView(ApplicationMixin, TemplateView):
    template_name = "employers/register/status.html"
    require_verifying = False
    allow_unit_agent = True

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            due_date=registration_due_date(self.application),
            history=[
                step
                for step in review_history(self.application)
                if step.action in ("approve", "reject")
            ],
            **kwargs,
        )


class RegistrationStartView(View):
    """Start afresh (or carry on): the first step of the wizard."""

    def get(self, request):
        return redirect("employers:register_step", step="unit")
