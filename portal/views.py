from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from portal.health import run_checks


class HomeView(TemplateView):
    template_name = "portal/home.html"


class DashboardView(LoginRequiredMixin, TemplateView):
    """The agent's workbench after login (filled in by the agents-and-roles work)."""

    template_name = "portal/dashboard.html"


@never_cache
def healthz(request):
    """Report database, cache and broker status; 200 when all are up, 503 otherwise."""
    results = run_checks()
    healthy = all(ok for ok, _ in results.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in results.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)
