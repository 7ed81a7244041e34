"""Public pages (no login): checking a printed proof's verification code, mounted at /proof/."""

from django.urls import path

from contributions.proofs import public_views

app_name = "proof_public"

urlpatterns = [
    path("", public_views.proof_check_form, name="form"),
    path("<str:code>/", public_views.proof_check, name="check"),
]
