"""Login (password and CA certificate), logout, password change and forgotten passwords."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.core import signing
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, TemplateView, View

from employers.accounts import forms as auth_forms
from employers.accounts.services import (
    RESET_GONE,
    REVIEW_STATES,
    LoginRefused,
    agent_login,
    agent_login_with_certificate,
    agent_password_change,
    agent_password_reset_finish,
    agent_password_reset_start,
    agent_sms_login_finish,
    agent_sms_login_start,
    agent_unlock_finish,
    agent_unlock_start,
    login_failure_record,
    login_redirect_url,
    login_throttle_check,
    login_throttle_count,
)
from employers.models import Agent, CAChallenge, Employer
from employers.permissions import AgentRequiredMixin, request_agent
from employers.selectors import agent_for_password_reset
from employers.verification.ca_services import ca_challenge_issue
from portal.audit import audit_log

CA_CHALLENGE_KEY = "ca_login_challenge"
RESET_KEY = "password_reset"
RESET_SALT = "employers.password_reset"
RESET_MAX_AGE = 30 * 60
SMS_LOGIN_KEY = "login_sms"
SMS_LOGIN_SALT = "employers.login_sms"
UNLOCK_KEY = "login_unlock"
UNLOCK_SALT = "employers.login_unlock"
HALL_DOCUMENTS = [
    _("单位介绍信或授权委托书(加盖单位公章)"),
    _("经办人身份证原件"),
    _("营业执照副本复印件(加盖单位公章)"),
]


class LoginFormMixin:
    """What the two login tabs share: a throttle per address and refusals shown on the form."""

    kept_fields: tuple[str, ...] = ()
    method = ""

    def dispatch(self, request, *args, **kwargs):
        agent = request_agent(request)
        if request.method == "GET" and agent is not None:
            return redirect(login_redirect_url(agent))
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        try:
            login_throttle_check(request=request)
        except LoginRefused as exc:
            login_failure_record(request=request, reason=exc.code, method=self.method, count=False)
            # Show the refusal without checking the form (nor spending its captcha).
            initial = {name: request.POST.get(name, "")[:32] for name in self.kept_fields}
            form = self.get_form_class()(initial=initial)
            return self.render_to_response(self.get_context_data(form=form, refusal=exc.message))
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if not getattr(form, "refused", False):
            reason = "captcha" if "captcha" in form.errors else "invalid_input"
            login_failure_record(request=self.request, reason=reason, method=self.method)
        return super().form_invalid(form)

    def refuse(self, form, exc: LoginRefused):
        form.refused = True
        form.add_error(exc.field, exc.message)
        return self.form_invalid(form)

    def success(self, agent: Agent):
        target = login_redirect_url(agent)
        next_url = self.request.POST.get("next") or self.request.GET.get("next", "")
        if (
            agent.employer.status == Employer.Status.ACTIVE
            and next_url
            and url_has_allowed_host_and_scheme(
                next_url, allowed_hosts={self.request.get_host()}, require_https=False
            )
        ):
            target = next_url
        if agent.employer.status in REVIEW_STATES:
            messages.info(
                self.request,
                _("本单位的注册申请尚未审核通过,目前只能查看办理进度。"),
            )
        return redirect(target)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            next=self.request.POST.get("next") or self.request.GET.get("next", ""),
            tab=self.method,
            **kwargs,
        )


class LoginView(LoginFormMixin, FormView):
    template_name = "accounts/login.html"
    form_class = auth_forms.LoginForm
    kept_fields = ("unit", "id_number")
    method = "password"

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            agent = agent_login(
                request=self.request,
                unit=data["unit"],
                id_number=data["id_number"],
                password=data["password"],
            )
        except LoginRefused as exc:
            return self.refuse(form, exc)
        return self.success(agent)


class CertificateLoginView(LoginFormMixin, FormView):
    template_name = "accounts/login_ca.html"
    form_class = auth_forms.CertificateLoginForm
    kept_fields = ("id_number",)
    method = "ca"

    def get_context_data(self, **kwargs):
        # Every rendering gets a fresh single-use challenge.
        challenge = ca_challenge_issue(purpose=CAChallenge.Purpose.LOGIN)
        self.request.session[CA_CHALLENGE_KEY] = challenge.nonce
        return super().get_context_data(challenge=challenge, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            agent = agent_login_with_certificate(
                request=self.request,
                id_number=data["id_number"],
                certificate=data["certificate"],
                signature=data["signature"],
                nonce=self.request.session.pop(CA_CHALLENGE_KEY, ""),
            )
        except LoginRefused as exc:
            return self.refuse(form, exc)
        return self.success(agent)


class LogoutView(View):
    """End the session at once (POST only: a link or an image cannot log anyone out)."""

    http_method_names = ["post"]

    def post(self, request):
        agent = request_agent(request)
        if agent is not None:
            audit_log(
                action="agent.logout",
                actor=request.user,
                obj=agent,
                employer_id=agent.employer_id,
                request=request,
            )
        logout(request)
        messages.success(request, _("您已安全退出。"))
        return redirect("home")


class PasswordChangeView(AgentRequiredMixin, FormView):
    template_name = "accounts/password_change.html"
    form_class = auth_forms.PasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "agent": self.agent}

    def form_valid(self, form):
        agent_password_change(
            agent=self.agent, new_password=form.cleaned_data["new_password"], request=self.request
        )
        # Keep this session; every other session of the agent ends with the old password hash.
        update_session_auth_hash(self.request, self.agent.user)
        messages.success(self.request, _("密码已修改。其他设备上的登录已全部退出。"))
        return redirect("dashboard")


class PhoneCodeStartView(FormView):
    """Step 1 of 找回密码 and 短信验证解锁: unit, ID number and phone; a code when they match.

    The answer is the same whether or not they name an agent, and each try counts against the
    address like a failed login, since the form could probe accounts.
    """

    form_class = auth_forms.PasswordForgotForm
    session_key = RESET_KEY
    salt = RESET_SALT
    next_url = "accounts:password_reset"

    def start(self, **identifiers):
        return agent_password_reset_start(**identifiers)

    def get_context_data(self, **kwargs):
        return super().get_context_data(documents=HALL_DOCUMENTS, **kwargs)

    def post(self, request, *args, **kwargs):
        try:
            login_throttle_check(request=request)
        except LoginRefused as exc:
            initial = {name: request.POST.get(name, "")[:32] for name in ("unit", "id_number")}
            form = self.get_form_class()(initial=initial)
            return self.render_to_response(self.get_context_data(form=form, refusal=exc.message))
        login_throttle_count(request=request)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        agent = self.start(
            unit=data["unit"],
            id_number=data["id_number"],
            phone=data["phone"],
            request=self.request,
        )
        # The agent is kept server-side and signed; the next step never takes it from the form.
        self.request.session[self.session_key] = signing.dumps(
            {"agent": agent.pk if agent else None}, salt=self.salt
        )
        messages.info(
            self.request,
            _(
                "如信息无误,验证码已发送至登记的手机号,5分钟内有效。未收到短信的,请在60秒后重新获取。"
            ),
        )
        return redirect(self.next_url)


class PhoneCodeStepMixin:
    """Step 2: the agent step 1 matched (or None), read back from the signed session value."""

    session_key = RESET_KEY
    salt = RESET_SALT
    start_url = "accounts:password_forgot"

    def dispatch(self, request, *args, **kwargs):
        try:
            state = signing.loads(
                request.session.get(self.session_key, ""), salt=self.salt, max_age=RESET_MAX_AGE
            )
        except signing.BadSignature:
            request.session.pop(self.session_key, None)
            messages.error(request, RESET_GONE)
            return redirect(self.start_url)
        self.agent = agent_for_password_reset(agent_id=state.get("agent"))
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(documents=HALL_DOCUMENTS, **kwargs)


class PasswordForgotView(PhoneCodeStartView):
    template_name = "accounts/password_forgot.html"
    extra_context = {"page_title": _("找回密码")}


class PasswordResetView(PhoneCodeStepMixin, FormView):
    template_name = "accounts/password_reset.html"
    form_class = auth_forms.PasswordResetForm

    def get_form_kwargs(self):
        owner = (self.agent.id_number, self.agent.phone) if self.agent else ("", "")
        return {**super().get_form_kwargs(), "owner": owner}

    def form_valid(self, form):
        try:
            agent_password_reset_finish(
                agent=self.agent,
                code=form.cleaned_data["code"],
                new_password=form.cleaned_data["new_password"],
                request=self.request,
            )
        except ValidationError as exc:
            form.add_error("code", exc)
            return self.form_invalid(form)
        self.request.session.pop(self.session_key, None)
        messages.success(
            self.request,
            _(
                "密码已重置,请用新密码登录。此前在各设备上的登录均已退出;"
                "如账号曾因登录失败被锁定,登录锁定已一并解除。"
            ),
        )
        return redirect("accounts:login")


class UnlockStartView(PhoneCodeStartView):
    """短信验证解锁: an agent locked out after failed logins lifts the lock with its phone."""

    template_name = "accounts/unlock_start.html"
    extra_context = {"page_title": _("短信验证解锁")}
    session_key = UNLOCK_KEY
    salt = UNLOCK_SALT
    next_url = "accounts:unlock_confirm"

    def start(self, **identifiers):
        return agent_unlock_start(**identifiers)


class UnlockConfirmView(PhoneCodeStepMixin, FormView):
    template_name = "accounts/unlock_confirm.html"
    form_class = auth_forms.SmsCodeForm
    session_key = UNLOCK_KEY
    salt = UNLOCK_SALT
    start_url = "accounts:unlock"

    def form_valid(self, form):
        try:
            agent_unlock_finish(
                agent=self.agent, code=form.cleaned_data["code"], request=self.request
            )
        except ValidationError as exc:
            form.add_error("code", exc)
            return self.form_invalid(form)
        self.request.session.pop(self.session_key, None)
        messages.success(self.request, _("账号已解锁,请用原密码登录。"))
        return redirect("accounts:login")


class SmsLoginStartView(PhoneCodeStartView):
    """短信验证码登录: unit, ID number and registered phone, then the code (no image captcha)."""

    template_name = "accounts/login_sms.html"
    form_class = auth_forms.SmsLoginStartForm
    extra_context = {"page_title": _("短信验证码登录"), "tab": "sms"}
    session_key = SMS_LOGIN_KEY
    salt = SMS_LOGIN_SALT
    next_url = "accounts:login_sms_confirm"

    def start(self, **identifiers):
        return agent_sms_login_start(**identifiers)


class SmsLoginConfirmView(PhoneCodeStepMixin, FormView):
    template_name = "accounts/login_sms_confirm.html"
    form_class = auth_forms.SmsCodeForm
    session_key = SMS_LOGIN_KEY
    salt = SMS_LOGIN_SALT
    start_url = "accounts:login_sms"

    def form_valid(self, form):
        try:
            agent = agent_sms_login_finish(
                agent=self.agent, code=form.cleaned_data["code"], request=self.request
            )
        except ValidationError as exc:
            form.add_error("code", exc)
            return self.form_invalid(form)
        except LoginRefused as exc:
            form.add_error("code", exc.message)
            return self.form_invalid(form)
        self.request.session.pop(self.session_key, None)
        return redirect(login_redirect_url(agent))


class UnitPendingView(TemplateView):
    """The state of a unit under review that has no online application (opened at the counter)."""

    template_name = "accounts/unit_pending.html"

    def dispatch(self, request, *args, **kwargs):
        self.agent = request_agent(request)
        if self.agent is None:
            return redirect("accounts:login")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(employer=self.agent.employer, **kwargs)
