"""The load benchmark's reference view: what every agent page pays before its own work."""

from django.views.generic import TemplateView

from employers.permissions import AgentRequiredMixin


class ReferenceView(AgentRequiredMixin, TemplateView):
    """Authenticates the agent (session, agent and unit checks, as every agent page does) and
    renders a trivial template: the floor the month-end mix is compared with."""

    template_name = "bench_load/reference.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(agent_name=self.agent.name, **kwargs)
