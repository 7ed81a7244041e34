from django.urls import path

from employers.agents import views

app_name = "agents"

urlpatterns = [
    path("", views.AgentListView.as_view(), name="list"),
    path("add/", views.AgentAddView.as_view(), name="add"),
    path("<int:agent_id>/roles/", views.AgentRolesView.as_view(), name="roles"),
    path("<int:agent_id>/password/", views.AgentPasswordResetView.as_view(), name="password"),
    path("<int:agent_id>/disable/", views.AgentDisableView.as_view(), name="disable"),
    path("<int:agent_id>/enable/", views.AgentEnableView.as_view(), name="enable"),
]
