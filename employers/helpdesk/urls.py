from django.urls import path

from employers.helpdesk import views

app_name = "helpdesk"

urlpatterns = [
    path("", views.QuestionListView.as_view(), name="list"),
    path("ask/", views.QuestionAskView.as_view(), name="ask"),
    path("files/<int:message_id>/", views.QuestionAttachmentView.as_view(), name="attachment"),
    path("<str:reference>/", views.QuestionDetailView.as_view(), name="detail"),
]
