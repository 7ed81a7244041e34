from django.conf import settings
from django.urls import path

from employers.verification import views

app_name = "verification"

urlpatterns = [
    path("face/callback/", views.FaceCallbackView.as_view(), name="face_callback"),
]
if not settings.PRODUCTION:
    # The sandbox provider and bank are not even routed in production (the views also answer 404
    # unless settings.SANDBOX_PROVIDERS or DEBUG is on).
    urlpatterns += [
        path("sandbox/face/<str:token>/", views.SandboxFaceView.as_view(), name="sandbox_face"),
        path("sandbox/bank/", views.SandboxBankStatementView.as_view(), name="sandbox_bank"),
    ]
