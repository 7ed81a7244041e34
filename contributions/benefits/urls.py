"""待遇申领 URLs, included by contributions.urls at /contributions/benefits/."""

from django.urls import path

from contributions.benefits import views

urlpatterns = [
    path("", views.BenefitIndexView.as_view(), name="benefit_index"),
    path("maternity/", views.MaternityClaimView.as_view(), name="benefit_maternity"),
    path(
        "maternity/confirm/",
        views.MaternityConfirmView.as_view(),
        name="benefit_maternity_confirm",
    ),
    path(
        "maternity/<str:reference>/",
        views.MaternityDetailView.as_view(),
        name="benefit_maternity_detail",
    ),
    path("injury/", views.InjuryRecognitionView.as_view(), name="benefit_recognition"),
    path(
        "injury/<str:reference>/",
        views.RecognitionDetailView.as_view(),
        name="benefit_recognition_detail",
    ),
    path(
        "injury/<str:reference>/claim/",
        views.InjuryClaimView.as_view(),
        name="benefit_injury_claim",
    ),
    path("injury-claims/", views.InjuryClaimsView.as_view(), name="benefit_injury_claims"),
    path(
        "injury-claims/<str:reference>/",
        views.InjuryClaimDetailView.as_view(),
        name="benefit_injury_claim_detail",
    ),
    path(
        "attachments/<int:attachment_id>/",
        views.AttachmentDownloadView.as_view(),
        name="benefit_attachment",
    ),
]
