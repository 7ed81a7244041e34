"""The one place that builds and writes audit events (等保 2.0 security audit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from portal.models import AuditEvent

# Keys that must never reach the audit log: personal data stays in the encrypted tables.
FORBIDDEN_DETAIL_KEYS = {
    "id_number",
    "phone",
    "mobile",
    "bank_account",
    "password",
    "code",
    "sms_code",
    "document_number",
}


def client_ip(request) -> str | None:
    """Return the client address as Django sees it (a proxy must set REMOTE_ADDR correctly)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_event(
    *,
    action: str,
    actor=None,
    employer_id: int | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    obj: Any = None,
    request=None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Build one audit event, not yet saved; refuse details that hold personal data."""
    details = dict(details or {})
    leaked = FORBIDDEN_DETAIL_KEYS.intersection(details)
    if leaked:
        raise ValueError(f"personal data in audit details: {sorted(leaked)}")
    user = getattr(request, "user", None)  # a request before the auth middleware has none
    if actor is None and user is not None and user.is_authenticated:
        actor = user
    return AuditEvent(
        action=action,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor.get_username() if actor is not None else "",
        employer_id=employer_id,
        outcome=outcome,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        ip_address=client_ip(request),
        details=details,
    )


def audit_log(
    *,
    action: str,
    actor=None,
    employer_id: int | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    obj: Any = None,
    request=None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event; call it inside the transaction of the change it records."""
    event = audit_event(
        action=action,
        actor=actor,
        employer_id=employer_id,
        outcome=outcome,
        obj=obj,
        request=request,
        details=details,
    )
    event.save()
    return event


def audit_log_many(events: Sequence[AuditEvent]) -> None:
    """Append many events built by ``audit_event`` at once (COPY on PostgreSQL)."""
    from portal.bulk_insert import insert_many

    insert_many(AuditEvent, list(events))
