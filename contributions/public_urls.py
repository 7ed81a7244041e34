"""Public pages (no login): checking a printed proof's verification code."""

app_name = "proof_public"

urlpatterns: list = []
