from django.urls import path

from employers.registration import views

app_name = "employers"

urlpatterns = [
    path("register/", views.RegistrationStartView.as_view(), name="register"),
    path("register/confirm/", views.RegistrationConfirmView.as_view(), name="register_confirm"),
    path("register/<slug:step>/", views.RegistrationStepView.as_view(), name="register_step"),
    path(
        "registration/<str:reference>/verify/",
        views.VerifyChoiceView.as_view(),
        name="register_verify",
    ),
    path(
        "registration/<str:reference>/verify/ca/",
        views.VerifyCertificateView.as_view(),
        name="register_verify_ca",
    ),
    path(
        "registration/<str:reference>/verify/face/",
        views.VerifyFaceView.as_view(),
        name="register_verify_face",
    ),
    path(
        "registration/<str:reference>/verify/bank/",
        views.VerifyBankView.as_view(),
        name="register_verify_bank",
    ),
    path(
        "registration/<str:reference>/resubmit/",
        views.RegistrationResubmitView.as_view(),
        name="register_resubmit",
    ),
    path(
        "registration/<str:reference>/",
        views.RegistrationStatusView.as_view(),
        name="register_status",
    ),
]
