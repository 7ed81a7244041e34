"""The unit's contribution pages (缴费申报, 查询统计, 打印证明, 待遇申领), mounted at
/contributions/."""

from django.urls import include, path

app_name = "contributions"

urlpatterns = [
    path("declarations/", include("contributions.declarations.urls")),
    path("bills/", include("contributions.billing.urls")),
    path("collection/", include("contributions.collection.urls")),
    path("records/", include("contributions.records.urls")),
    path("proofs/", include("contributions.proofs.urls")),
    path("persons/", include("contributions.persons.urls")),
    path("benefits/", include("contributions.benefits.urls")),
    path("backpay/", include("contributions.backpay.urls")),
]
