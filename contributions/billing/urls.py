"""月度核定 and 缴费确认 (/contributions/bills/), included by contributions.urls."""

from django.urls import path

from contributions.billing import views as bill_views

urlpatterns = [
    path("", bill_views.BillListView.as_view(), name="bill_list"),
    path("awaiting/", bill_views.BillAwaitingListView.as_view(), name="bill_awaiting"),
    path("sandbox-bank/", bill_views.SandboxBankView.as_view(), name="bill_sandbox_bank"),
    path("<str:bill_reference>/", bill_views.BillDetailView.as_view(), name="bill_detail"),
    path(
        "<str:bill_reference>/confirm/",
        bill_views.BillConfirmView.as_view(),
        name="bill_confirm",
    ),
    path("<str:bill_reference>/pay/", bill_views.BillPayView.as_view(), name="bill_pay"),
]
