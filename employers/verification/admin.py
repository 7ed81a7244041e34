"""Clerk screens for CA roots and CRLs (imported from employers/admin.py).

Roots and CRLs are added with `manage.py ca_trust_root` and `manage.py ca_load_crl`, which check
them; here ops see what is loaded and stop or resume trusting a root.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from employers.models import CertificateRevocationList, TrustedCARoot
from employers.verification.ca_services import ca_root_set_active
from portal.admin import ReadOnlyAdmin


@admin.register(TrustedCARoot)
class TrustedCARootAdmin(ReadOnlyAdmin):
    list_display = ["name", "subject", "fingerprint_sha256", "not_after", "is_active", "added_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "subject", "fingerprint_sha256"]
    fields = [
        "name",
        "subject",
        "fingerprint_sha256",
        "not_after",
        "is_active",
        "added_at",
        "certificate_pem",
    ]
    actions = ["deactivate", "activate"]

    def has_trust_permission(self, request):
        # The form stays read-only; changing trust goes through the actions (and the service).
        return request.user.has_perm("employers.change_trustedcaroot")

    def _set_active(self, request, queryset, is_active: bool):
        for root in queryset:
            ca_root_set_active(root=root, is_active=is_active, actor=request.user)
        self.message_user(request, _("已更新 %d 个根证书") % queryset.count(), messages.SUCCESS)

    @admin.action(description=_("停用所选根证书(其签发的证书将被拒绝)"), permissions=["trust"])
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, False)

    @admin.action(description=_("启用所选根证书"), permissions=["trust"])
    def activate(self, request, queryset):
        self._set_active(request, queryset, True)


@admin.register(CertificateRevocationList)
class CertificateRevocationListAdmin(ReadOnlyAdmin):
    list_display = ["issuer", "this_update", "next_update", "revoked_count", "loaded_at"]
    search_fields = ["issuer", "issuer_key_hash"]
    fields = [
        "issuer",
        "issuer_key_hash",
        "this_update",
        "next_update",
        "revoked_count",
        "loaded_at",
    ]
