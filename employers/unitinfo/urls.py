from django.urls import path

from employers.unitinfo import views

app_name = "unitinfo"

urlpatterns = [
    path("", views.UnitInfoView.as_view(), name="info"),
    path("contact/", views.ContactChangeView.as_view(), name="contact"),
    path("bank/", views.BankInfoView.as_view(), name="bank"),
    path("bank/change/", views.BankChangeView.as_view(), name="bank_change"),
    path("changes/<int:pk>/", views.UnitChangeDetailView.as_view(), name="change_detail"),
]
