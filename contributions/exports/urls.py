"""Export URLs (/contributions/records/exports/), included by contributions.records.urls."""

from django.urls import path

from contributions.exports import views

urlpatterns = [
    path("", views.ExportView.as_view(), name="export_list"),
    path("<str:export_reference>/", views.ExportJobView.as_view(), name="export_detail"),
    path(
        "<str:export_reference>/download/",
        views.ExportDownloadView.as_view(),
        name="export_download",
    ),
]
