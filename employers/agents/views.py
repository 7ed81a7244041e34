"""Agent management by the unit admin: list, add, roles, disable/enable, password reset."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.generic import FormView, TemplateView, View

from employers.agents.forms import AgentAddForm, AgentPasswordResetForm, AgentRolesForm
from employers.agents.selectors import agent_get_for_agent, agent_list_for_agent
from employers.agents.services import (
    agent_add,
    agent_disable,
    agent_enable,
    agent_password_reset_by_admin,
    agent_roles_change,
)
from employers.models import Agent
from employers.permissions import PermissionRequiredMixin, agent_has_permission
from portal.audit import client_ip
from portal.identifiers import mask_phone
from portal.smscodes import sms_code_send, sms_code_verify

SMS_PURPOSE = "agent_add"


class AgentManagementMixin(PermissionRequiredMixin):
    permission = "agents.manage"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="unit", **kwargs)


class TargetAgentMixin(AgentManagementMixin):
    """Pages about one agent of the unit; another unit's agent is a 404 like a missing one."""

    @cached_property
    def target(self) -> Agent:
        return agent_get_for_agent(agent=self.agent, agent_id=self.kwargs["agent_id"])

    def deny(self, request):
        denied = super().deny(request)
        if denied is None:
            self.target  # noqa: B018 — load the agent (or 404) before anything else happens
        return denied

    def get_context_data(self, **kwargs):
        return super().get_context_data(target=self.target, **kwargs)


class AgentListView(AgentManagementMixin, TemplateView):
    template_name = "employers/agents/list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            agents=list(agent_list_for_agent(agent=self.agent)), me=self.agent, **kwargs
        )


@method_decorator(never_cache, name="dispatch")  # the form renders typed passwords back
class AgentAddView(AgentManagementMixin, FormView):
    template_name = "employers/agents/add.html"
    form_class = AgentAddForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "employer": self.agent.employer}

    def post(self, request, *args, **kwargs):
        if "send_code" in request.POST:
            return self.send_code()
        return super().post(request, *args, **kwargs)

    def send_code(self):
        form = self.get_form()
        form.is_valid()  # keeps what was typed; only the phone's errors are shown
        form.errors.clear()
        try:
            phone = form.fields["phone"].clean(self.request.POST.get("phone", ""))
            sms_code_send(purpose=SMS_PURPOSE, phone=phone, ip_address=client_ip(self.request))
        except ValidationError as exc:
            form.add_error("phone", exc.messages)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(
            self.request,
            _("验证码已发送至 %(phone)s,5分钟内有效。") % {"phone": mask_phone(phone)},
        )
        return self.render_to_response(self.get_context_data(form=form, code_sent=True))

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            # Outside any transaction: a wrong entry must be counted even though we refuse.
            sms_code_verify(purpose=SMS_PURPOSE, phone=data["phone"], code=data["code"])
        except ValidationError as exc:
            form.add_error("code", exc.messages)
            return self.form_invalid(form)
        try:
            added = agent_add(
                actor=self.agent,
                name=data["name"],
                id_number=data["id_number"],
                phone=data["phone"],
                roles=data["roles"],
                password=data["password"],
                request=self.request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("已添加经办人 %(name)s。请将初始密码线下告知本人,并提醒其登录后修改。")
            % {"name": added.name},
        )
        return redirect("agents:list")


class AgentRolesView(TargetAgentMixin, FormView):
    template_name = "employers/agents/roles.html"
    form_class = AgentRolesForm

    def get_initial(self):
        return {"roles": list(self.target.roles)}

    def form_valid(self, form):
        try:
            changed = agent_roles_change(
                actor=self.agent,
                agent=self.target,
                roles=form.cleaned_data["roles"],
                request=self.request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("已更新 %(name)s 的角色。") % {"name": changed.name})
        if changed.pk == self.agent.pk and not agent_has_permission(changed, self.permission):
            return redirect("dashboard")  # the admin gave up its own admin role
        return redirect("agents:list")


@method_decorator(never_cache, name="dispatch")  # the form renders typed passwords back
class AgentPasswordResetView(TargetAgentMixin, FormView):
    template_name = "employers/agents/password.html"
    form_class = AgentPasswordResetForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "target": self.target}

    def form_valid(self, form):
        try:
            agent_password_reset_by_admin(
                actor=self.agent,
                agent=self.target,
                password=form.cleaned_data["password"],
                request=self.request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("已重置 %(name)s 的密码,其已登录的会话已失效,并已短信通知本人。")
            % {"name": self.target.name},
        )
        return redirect("agents:list")


class AgentStatusView(TargetAgentMixin, View):
    """Disable or enable an agent (POST only); the outcome is shown on the list."""

    http_method_names = ["post"]
    service = None
    done_message = ""

    def post(self, request, *args, **kwargs):
        try:
            self.service(actor=self.agent, agent=self.target, request=request)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, self.done_message % {"name": self.target.name})
        return redirect("agents:list")


class AgentDisableView(AgentStatusView):
    service = staticmethod(agent_disable)
    done_message = _("已停用经办人 %(name)s,其已登录的会话随即失效。")


class AgentEnableView(AgentStatusView):
    service = staticmethod(agent_enable)
    done_message = _("已启用经办人 %(name)s。")
