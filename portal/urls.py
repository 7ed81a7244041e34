from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from portal import views
from portal.admin_queue import review_desk_urls
from portal.admin_site import ClerkAdminSite, PortalAdminSite

# django-otp's documented way to give the default admin site (where every app registered its
# screens) another class: here one login form with the TOTP code (portal/admin_site.py).
admin.site.__class__ = ClerkAdminSite if settings.ADMIN_REQUIRE_OTP else PortalAdminSite

admin.site.site_header = _("单位社保网上服务大厅 · 经办管理")
admin.site.site_title = _("社保经办管理")
admin.site.index_title = _("经办业务")

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("filings/", views.FilingHistoryView.as_view(), name="filings"),
    path("unit/agents/", include("employers.agents.urls")),
    path("unit/inbox/", include("employers.inbox.urls")),
    path("unit/questions/", include("employers.helpdesk.urls")),
    path("help/", include("employers.helpdesk.public_urls")),
    path("unit/", include("employers.unitinfo.urls")),
    path("enrollment/", include("enrollment.urls")),
    path("contributions/", include("contributions.urls")),
    path("proof/", include("contributions.proofs.public_urls")),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page links; the file is a static one.
    path("favicon.ico", views.favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    # The clerk's review home and report, admin pages of no single model (portal/admin_queue.py).
    path("admin/review/", include(review_desk_urls())),
    path("admin/", admin.site.urls),
    path("", include("employers.registration.urls")),
    path("", include("employers.accounts.urls")),
    path("captcha/", include("captcha.urls")),
    path("verify/", include("employers.verification.urls")),
]

if not settings.PRODUCTION:
    # Development pages (the view also needs DEBUG): never routed in production.
    urlpatterns.append(path("dev/outbox/", views.dev_outbox, name="dev_outbox"))

# Uploaded files (attachments, generated forms, import reports) are never served as static media,
# not even in development: views check the unit or the clerk's permission before sending them.

# A database outage answers 503 (also /healthz with a session); other faults a Chinese page.
handler500 = "portal.errors.server_error"
