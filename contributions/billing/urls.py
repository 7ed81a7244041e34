"""月度核定 and 缴费确认 (/contributions/bills/), included by contributions.urls.

Confirming, paying and the sandbox bank are views of contributions.payments under the same paths;
production does not route the sandbox bank.
"""

from django.conf import settings
from django.urls import path

from contributions.billing import views as bill_views
from contributions.collection import views as collection_views
from contributions.payments import views as payment_views

urlpatterns = [
    path("", bill_views.BillListView.as_view(), name="bill_list"),
    path("awaiting/", bill_views.BillAwaitingListView.as_view(), name="bill_awaiting"),
    *(
        []
        if settings.PRODUCTION
        else [
            path("sandbox-bank/", payment_views.SandboxBankView.as_view(), name="bill_sandbox_bank")
        ]
    ),
    path("<str:bill_reference>/", bill_views.BillDetailView.as_view(), name="bill_detail"),
    path(
        "<str:bill_reference>/confirm/",
        payment_views.BillConfirmView.as_view(),
        name="bill_confirm",
    ),
    path("<str:bill_reference>/pay/", payment_views.BillPayView.as_view(), name="bill_pay"),
    path(
        "<str:bill_reference>/notice.pdf",
        collection_views.BillNoticePdfView.as_view(),
        name="bill_notice_pdf",
    ),
]
