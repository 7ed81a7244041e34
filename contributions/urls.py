"""The unit's contribution pages (缴费申报, 查询统计, 打印证明), mounted at /contributions/."""

from django.urls import include, path

app_name = "contributions"

urlpatterns = [
    path("declarations/", include("contributions.declaration_urls")),
    path("bills/", include("contributions.bill_urls")),
    path("records/", include("contributions.record_urls")),
    path("proofs/", include("contributions.proof_urls")),
]
