"""打印证明 URLs, included by contributions.urls at /contributions/proofs/."""

from django.urls import path

from contributions.proofs import views as proof_views

urlpatterns = [
    path("", proof_views.ProofListView.as_view(), name="proof_list"),
    path("new/", proof_views.ProofIssueView.as_view(), name="proof_issue"),
    path("<int:proof_id>/", proof_views.ProofDetailView.as_view(), name="proof_detail"),
    path("<int:proof_id>/proof.pdf", proof_views.ProofPdfView.as_view(), name="proof_pdf"),
    path("<int:proof_id>/revoke/", proof_views.ProofRevokeView.as_view(), name="proof_revoke"),
]
