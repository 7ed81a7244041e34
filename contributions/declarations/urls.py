"""缴费基数申报 URLs, included by contributions.urls at /contributions/declarations/."""

from django.urls import path

from contributions.declarations import views

urlpatterns = [
    path("", views.DeclarationView.as_view(), name="declaration"),
    path("template.xlsx", views.DeclarationTemplateView.as_view(), name="declaration_template"),
    path("upload/", views.DeclarationUploadView.as_view(), name="declaration_upload"),
    path(
        "upload/confirm/",
        views.DeclarationUploadConfirmView.as_view(),
        name="declaration_upload_confirm",
    ),
    path("history/", views.DeclarationListView.as_view(), name="declaration_list"),
    path(
        "<str:declaration_reference>/",
        views.DeclarationDetailView.as_view(),
        name="declaration_detail",
    ),
]
