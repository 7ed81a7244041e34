from django.urls import path

from enrollment.add import views
from enrollment.batch import views as batch_views
from enrollment.personchange import views as change_views
from enrollment.removal import views as removal_views
from enrollment.resume import views as resume_views
from enrollment.roster import views as roster_views

app_name = "enrollment"

urlpatterns = [
    path("add/", views.AddEmployeeView.as_view(), name="add"),
    path("add/filings/", views.AddFilingListView.as_view(), name="add_list"),
    path("add/<str:reference>/", views.AddFilingDetailView.as_view(), name="add_detail"),
    path("add/<str:reference>/form.pdf", views.AddFilingFormPdfView.as_view(), name="add_form_pdf"),
    path(
        "add/<str:reference>/resubmit/",
        views.AddFilingResubmitView.as_view(),
        name="add_resubmit",
    ),
    path(
        "attachments/<int:attachment_id>/",
        views.AttachmentDownloadView.as_view(),
        name="attachment",
    ),
    path("remove/", removal_views.RemoveEmployeeView.as_view(), name="remove"),
    path("remove/<str:reference>/", removal_views.RemoveDetailView.as_view(), name="remove_detail"),
    path("batch/", batch_views.BatchUploadView.as_view(), name="batch"),
    path("batch/template.xlsx", batch_views.BatchTemplateView.as_view(), name="batch_template"),
    path("batch/<str:reference>/", batch_views.BatchDetailView.as_view(), name="batch_detail"),
    path(
        "batch/<str:reference>/status.json",
        batch_views.BatchStatusView.as_view(),
        name="batch_status",
    ),
    path(
        "batch/<str:reference>/report.xlsx",
        batch_views.BatchReportView.as_view(),
        name="batch_report",
    ),
    path("resume/", resume_views.ResumeListView.as_view(), name="resume_list"),
    path("resume/<int:enrolment_id>/", resume_views.ResumeView.as_view(), name="resume"),
    path(
        "resume/filing/<str:reference>/resubmit/",
        resume_views.ResumeResubmitView.as_view(),
        name="resume_resubmit",
    ),
    path("person-change/", change_views.PersonChangeListView.as_view(), name="person_change_list"),
    path(
        "person-change/new/<int:enrolment_id>/",
        change_views.PersonChangeView.as_view(),
        name="person_change",
    ),
    path(
        "person-change/attachments/<int:attachment_id>/",
        change_views.PersonChangeAttachmentView.as_view(),
        name="person_change_attachment",
    ),
    path(
        "person-change/<str:reference>/",
        change_views.PersonChangeDetailView.as_view(),
        name="person_change_detail",
    ),
    path(
        "person-change/<str:reference>/resubmit/",
        change_views.PersonChangeResubmitView.as_view(),
        name="person_change_resubmit",
    ),
    path("roster/", roster_views.RosterView.as_view(), name="roster"),
    path(
        "roster/export.xlsx", roster_views.RosterExportView.as_view(fmt="xlsx"), name="roster_xlsx"
    ),
    path("roster/export.csv", roster_views.RosterExportView.as_view(fmt="csv"), name="roster_csv"),
    path(
        "roster/<int:enrolment_id>/", roster_views.RosterDetailView.as_view(), name="roster_detail"
    ),
]
