"""Help pages open to everyone (DESIGN.md section 14): hotlines and hours, FAQ, the states."""

from __future__ import annotations

from django.views.generic import TemplateView

from employers.helpdesk.selectors import help_regions
from employers.helpdesk.states import state_sections
from employers.permissions import request_agent


class HelpCenterView(TemplateView):
    """12333 and every region's hotline and hours; the logged-in agent's region first."""

    template_name = "employers/helpdesk/help_center.html"

    def get_context_data(self, **kwargs):
        agent = request_agent(self.request)
        region_id = agent.employer.region_id if agent is not None else None
        return super().get_context_data(
            regions=help_regions(first_region_id=region_id), my_region_id=region_id, **kwargs
        )


class FaqView(TemplateView):
    template_name = "employers/helpdesk/faq.html"


class BenefitRulesView(TemplateView):
    """How 生育津贴 and 一次性伤残补助金 are computed (contributions/benefits/rules.py)."""

    template_name = "employers/helpdesk/benefit_rules.html"


class StatesView(TemplateView):
    template_name = "employers/helpdesk/states.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(sections=state_sections(), **kwargs)
