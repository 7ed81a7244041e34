from django.urls import path

from employers.helpdesk import public_views

app_name = "help"

urlpatterns = [
    path("", public_views.HelpCenterView.as_view(), name="center"),
    path("faq/", public_views.FaqView.as_view(), name="faq"),
    path("states/", public_views.StatesView.as_view(), name="states"),
    path("benefits/", public_views.BenefitRulesView.as_view(), name="benefit_rules"),
]
