from django.urls import path

from employers.verification import views

app_name = "verification"

urlpatterns = [
    path("face/callback/", views.FaceCallbackView.as_view(), name="face_callback"),
    path("sandbox/face/<str:token>/", views.SandboxFaceView.as_view(), name="sandbox_face"),
    path("sandbox/bank/", views.SandboxBankStatementView.as_view(), name="sandbox_bank"),
]
