"""补缴申请 URLs, included by contributions.urls at /contributions/backpay/."""

from django.urls import path

from contributions.backpay import views

urlpatterns = [
    path("", views.BackPayIndexView.as_view(), name="backpay_index"),
    path("new/", views.BackPayApplyView.as_view(), name="backpay_apply"),
    path(
        "attachments/<int:attachment_id>/",
        views.BackPayAttachmentView.as_view(),
        name="backpay_attachment",
    ),
    path("<str:reference>/", views.BackPayDetailView.as_view(), name="backpay_detail"),
]
