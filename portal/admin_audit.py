"""Clerks' admin logins in the audit log (等保 2.0: every login, success or failure, recorded).

Agents' logins are audited by employers.accounts; these receivers take the admin's only.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from portal.audit import audit_log
from portal.models import AuditEvent


def _is_admin(request) -> bool:
    return request is not None and request.path.startswith("/admin/")


@receiver(user_logged_in, dispatch_uid="portal.clerk_login")
def clerk_logged_in(sender, request, user, **kwargs):
    if not _is_admin(request):
        return
    with transaction.atomic():
        audit_log(
            action="clerk.login",
            actor=user,
            request=request,
            details={"second_factor": getattr(user, "otp_device", None) is not None},
        )


@receiver(user_login_failed, dispatch_uid="portal.clerk_login_failed")
def clerk_login_failed(sender, credentials, request=None, **kwargs):
    # The user name a clerk typed is no personal data of a citizen, but it is not kept either:
    # the reason and the address are enough to see an attack; django-axes counts per name.
    if not _is_admin(request):
        return
    with transaction.atomic():
        audit_log(
            action="clerk.login_failed",
            outcome=AuditEvent.Outcome.FAILURE,
            request=request,
            details={"reason": "password"},
        )
