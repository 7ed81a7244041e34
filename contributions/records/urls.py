"""URLs of 查询统计 (/contributions/records/): records, why a record is missing, exports."""

from django.urls import include, path

from contributions.records import views as record_views

urlpatterns = [
    path("", record_views.RecordListView.as_view(), name="record_list"),
    path("why/", record_views.MissingCauseView.as_view(), name="record_missing_cause"),
    path("exports/", include("contributions.exports.urls")),
]
