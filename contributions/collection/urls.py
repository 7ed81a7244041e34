"""税务征收 URLs (/contributions/collection/), included by contributions.urls.

``sandbox_urlpatterns`` are the sandbox 电子税务局's pages: they answer 404 unless sandboxes are
allowed (SANDBOX_PROVIDERS) and the sandbox is the collection system, and production does not
route them at all.
"""

from django.conf import settings
from django.urls import path

from contributions.collection import views

sandbox_urlpatterns = [
    path("sandbox-tax/", views.SandboxTaxBureauView.as_view(), name="collection_sandbox_tax"),
]

urlpatterns = [
    path("callback/", views.CollectionCallbackView.as_view(), name="collection_callback"),
    *([] if settings.PRODUCTION else sandbox_urlpatterns),
]
