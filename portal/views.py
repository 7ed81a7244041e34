from django.conf import settings
from django.http import Http404, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from employers.permissions import AgentRequiredMixin, PermissionRequiredMixin, agent_has_permission
from portal.dashboard import attention_rows, dashboard_for_agent, employer_status_label
from portal.filings import filings_page
from portal.forms import FilingFilterForm
from portal.health import health_report
from portal.identifiers import mask_phone
from portal.models import Notification


class HomeView(TemplateView):
    template_name = "portal/home.html"


class DashboardView(AgentRequiredMixin, TemplateView):
    """The agent's workbench after login: the unit, the agent's roles and its shortcuts (the
    modules of the navigation, ``nav_modules`` of the context processor: read once a page)."""

    template_name = "portal/dashboard.html"

    def get_context_data(self, **kwargs):
        agent = self.agent
        dashboard = dashboard_for_agent(agent)
        return super().get_context_data(
            agent=agent,
            employer=agent.employer,
            masked_contact_phone=mask_phone(agent.employer.contact_phone),
            # Printed as get_status_display() and role_labels() give them, looked up once here
            # (the template's calls and lazy labels cost more than the rest of the panel).
            employer_status=employer_status_label(agent.employer),
            role_labels=[str(label) for label in agent.role_labels()],
            agent_counts=dashboard.agent_counts,
            attention=dashboard.attention,
            attention_rows=attention_rows(dashboard.attention),
            **kwargs,
        )


class FilingHistoryView(PermissionRequiredMixin, TemplateView):
    """已办业务查询: every filing the unit made, newest first, with its state and the comment."""

    permission = "unit.view"
    template_name = "portal/filings.html"

    def get_context_data(self, **kwargs):
        form = FilingFilterForm(self.request.GET or None)
        filters = form.cleaned_data if form.is_valid() else {}
        page = filings_page(
            employer_id=self.agent.employer_id,
            allowed=lambda permission: agent_has_permission(self.agent, permission),
            kinds=[filters["kind"]] if filters.get("kind") else (),
            outcome=filters.get("outcome") or "",
            month=filters.get("month"),
            page_number=self.request.GET.get("page") or 1,
        )
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(
            form=form,
            page_obj=page,
            rows=page.object_list,
            query=query.urlencode(),
            current_module="unit",
            **kwargs,
        )


@never_cache
def healthz(request):
    """503 only when the database fails; ``?full=1`` adds the background work for operators."""
    status_code, body = health_report(request)
    return JsonResponse(body, status=status_code)


@never_cache
def dev_outbox(request):
    """The last messages the outbox sent or tried (DEBUG only): see SMS codes while developing."""
    if not settings.DEBUG:
        raise Http404
    rows = Notification.objects.order_by("-created_at")[:50]
    return render(request, "portal/dev_outbox.html", {"rows": rows})


def favicon(request):
    """Browsers ask for /favicon.ico whatever a page links: send them to the static icon."""
    # Resolved per request: the hashed name exists only once collectstatic has run.
    return HttpResponsePermanentRedirect(static("favicon.ico"))
