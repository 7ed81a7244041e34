from django.urls import path

from employers.inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.InboxListView.as_view(), name="list"),
    path("<int:message_id>/", views.InboxDetailView.as_view(), name="detail"),
    path("read-all/", views.InboxMarkAllReadView.as_view(), name="read_all"),
]
