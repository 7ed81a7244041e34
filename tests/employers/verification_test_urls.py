"""The project's URLs plus the verification URLs, until portal/urls.py includes them."""

from django.urls import include, path

from portal.urls import urlpatterns as portal_urlpatterns

urlpatterns = [
    *portal_urlpatterns,
    path("verify/", include("employers.verification.urls")),
]
