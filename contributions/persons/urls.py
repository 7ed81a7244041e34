"""参保人员查询 URLs, included by contributions.urls at /contributions/persons/."""

from django.urls import path

from contributions.persons import views as person_views

urlpatterns = [
    path("", person_views.PersonSearchView.as_view(), name="person_search"),
    path("<int:person_id>/", person_views.PersonDetailView.as_view(), name="person_detail"),
    path(
        "<int:person_id>/rights.pdf",
        person_views.PersonRightsPdfView.as_view(),
        name="person_rights_pdf",
    ),
]
