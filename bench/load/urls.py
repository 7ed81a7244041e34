"""The portal's URLs plus /bench/reference/ (bench.load.settings only)."""

from django.urls import path

from bench.load.views import ReferenceView
from portal.urls import urlpatterns as portal_urlpatterns

urlpatterns = [
    path("bench/reference/", ReferenceView.as_view(), name="bench_reference"),
    *portal_urlpatterns,
]
handler500 = "portal.errors.server_error"
