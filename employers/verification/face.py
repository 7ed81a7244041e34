"""Face recognition of the legal representative (DESIGN.md section 5): provider adapter.

The portal opens a session, sends the user to the provider, and accepts the provider's signed
callback naming the session, the ID number it checked and the result. The ID number is compared
by its blind index and never stored. A sandbox provider plays the provider's part in development
and tests; it signs its callbacks with the same secret and goes through the same code path.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from employers.models import FaceVerificationSession, RegistrationApplication, VerificationMethod
from portal.adapters import adapter_from_setting
from portal.audit import audit_log
from portal.crypto import blind_index
from portal.models import AuditEvent

DEV_CALLBACK_SECRET = "dev-only-face-callback-secret"
DEFAULT_SESSION_TTL = 15 * 60  # seconds
# A signed callback may be captured and sent again later: refuse one whose timestamp is further
# than this from the server clock, either way.
CALLBACK_MAX_AGE = 5 * 60  # seconds
SIGNATURE_HEADER = "X-Face-Signature"

RESULT_PASS = "pass"
RESULT_MISMATCH = "mismatch"
RESULT_LIVENESS_FAILED = "liveness_failed"
RESULTS = (RESULT_PASS, RESULT_MISMATCH, RESULT_LIVENESS_FAILED)

REJECTIONS = {
    "signature_missing": _("回调缺少签名。"),
    "signature_invalid": _("回调签名无效。"),
    "bad_payload": _("回调内容格式不正确。"),
    "unknown_session": _("识别会话不存在。"),
    "session_expired": _("识别会话已过期,请重新发起人脸识别。"),
    "callback_late": _("回调时间超出允许范围,已拒绝。"),
    "replay": _("该识别会话已有结果,不再接受回调。"),
    "id_mismatch": _("识别的身份证号不是本单位法定代表人的身份证号。"),
}
FORBIDDEN_CODES = {"signature_missing", "signature_invalid"}


class FaceCallbackRejected(Exception):
    """A provider callback the portal refuses; code is stable, message is for people."""

    def __init__(self, code: str, message=None):
        self.code = code
        self.message = str(message or REJECTIONS[code])
        super().__init__(code, self.message)

    @property
    def http_status(self) -> int:
        return 403 if self.code in FORBIDDEN_CODES else 400


class FaceProvider:
    """A face-recognition service; start() returns the URL to send the user to."""

    name = ""

    def start(self, session: FaceVerificationSession, *, return_url: str = "") -> str:
        raise NotImplementedError


class SandboxFaceProvider(FaceProvider):
    """Plays the provider inside the project (verification:sandbox_face)."""

    name = "sandbox"

    def start(self, session: FaceVerificationSession, *, return_url: str = "") -> str:
        url = reverse("verification:sandbox_face", kwargs={"token": session.token})
        if return_url:
            url += "?" + urlencode({"next": return_url})
        return url


PROVIDERS = {"sandbox": SandboxFaceProvider}


def face_provider() -> FaceProvider:
    """Return the configured provider: a name in PROVIDERS or a dotted path to a class."""
    return adapter_from_setting("FACE_PROVIDER", PROVIDERS, "provider")


def callback_secret() -> str:
    return getattr(settings, "FACE_CALLBACK_SECRET", DEV_CALLBACK_SECRET)


def callback_signature(payload: bytes) -> str:
    """Return the hex HMAC-SHA256 of a callback body under the shared secret."""
    return hmac.new(callback_secret().encode(), payload, hashlib.sha256).hexdigest()


@transaction.atomic
def face_session_start(
    *, application: RegistrationApplication, return_url: str = ""
) -> tuple[FaceVerificationSession, str]:
    """Open a face-recognition session for the unit's legal representative."""
    if application.state != RegistrationApplication.State.VERIFYING:
        raise ValidationError(_("申请已提交,无需再次进行身份认证。"), code="submitted")
    provider = face_provider()
    ttl = getattr(settings, "FACE_SESSION_TTL", DEFAULT_SESSION_TTL)
    session = FaceVerificationSession(
        token=secrets.token_urlsafe(32),
        application=application,
        provider=provider.name,
        id_number_index=blind_index("id_number", application.employer.legal_rep_id_number),
        expires_at=timezone.now() + datetime.timedelta(seconds=ttl),
    )
    session.full_clean()
    session.save()
    audit_log(
        action="face.started",
        employer_id=application.employer_id,
        obj=session,
        details={"provider": provider.name, "session": session.token[:8]},
    )
    return session, provider.start(session, return_url=return_url)


def face_callback_accept(
    *, payload: bytes, signature_header: str, now: datetime.datetime | None = None, request=None
) -> FaceVerificationSession:
    """Accept the provider's signed callback, or raise FaceCallbackRejected."""
    # Not atomic as a whole: a refusal keeps its audit row and, for a wrong ID number, the
    # failed session; the exception is raised once that transaction has committed.
    session, rejection = _face_callback_record(
        payload=payload,
        signature_header=signature_header,
        now=now or timezone.now(),
        request=request,
    )
    if rejection is not None:
        raise rejection
    return session


@transaction.atomic
def _face_callback_record(*, payload, signature_header, now, request):
    session = None
    result = ""
    try:
        data = _verified_payload(payload, signature_header)
        result = data["result"]
        session = (
            FaceVerificationSession.objects.select_for_update()
            .select_related("application__employer")
            .filter(token=data["session"])
            .first()
        )
        if session is None:
            raise FaceCallbackRejected("unknown_session")
        if session.state != FaceVerificationSession.State.CREATED:
            raise FaceCallbackRejected("replay")
        if now >= session.expires_at:
            raise FaceCallbackRejected("session_expired")
        if abs(now.timestamp() - data["timestamp"]) > CALLBACK_MAX_AGE:
            raise FaceCallbackRejected("callback_late")
        checked = blind_index("id_number", data["id_number"])
        if not hmac.compare_digest(checked, session.id_number_index):
            _session_decide(session, FaceVerificationSession.State.FAILED, "id_mismatch", now)
            raise FaceCallbackRejected("id_mismatch")
    except FaceCallbackRejected as rejection:
        _audit_callback(session, request, result=result, reason=rejection.code, accepted=False)
        return session, rejection

    if result == RESULT_PASS:
        _session_decide(session, FaceVerificationSession.State.PASSED, "", now)
        application = session.application
        application.verification_method = VerificationMethod.FACE
        application.verified_at = now
        application.verification_evidence = {
            "method": "face",
            "provider": session.provider,
            "session": session.token[:8],
            "checked_at": now.isoformat(),
        }
        application.full_clean()
        application.save(
            update_fields=[
                "verification_method",
                "verified_at",
                "verification_evidence",
                "updated_at",
            ]
        )
    else:
        _session_decide(session, FaceVerificationSession.State.FAILED, result, now)
    _audit_callback(session, request, result=result, reason=session.failure_reason, accepted=True)
    return session, None


def _verified_payload(payload: bytes, signature_header: str) -> dict:
    """Check the signature before reading anything, then the shape of the body."""
    signature = (signature_header or "").strip().lower()
    if not signature:
        raise FaceCallbackRejected("signature_missing")
    if not hmac.compare_digest(signature.encode(), callback_signature(payload).encode()):
        raise FaceCallbackRejected("signature_invalid")
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FaceCallbackRejected("bad_payload") from exc
    if not isinstance(data, dict):
        raise FaceCallbackRejected("bad_payload")
    timestamp = data.get("timestamp")
    well_formed = (
        isinstance(data.get("session"), str)
        and isinstance(data.get("id_number"), str)
        and data.get("result") in RESULTS
        # JSON numbers may be NaN or floats; only whole seconds compare safely.
        and isinstance(timestamp, int)
        and not isinstance(timestamp, bool)
    )
    if not well_formed:
        raise FaceCallbackRejected("bad_payload")
    return data


def _session_decide(session, state, reason, now):
    session.state = state
    session.failure_reason = reason
    session.callback_at = now
    session.save(update_fields=["state", "failure_reason", "callback_at"])


def _audit_callback(session, request, *, result, reason, accepted):
    passed = accepted and result == RESULT_PASS
    audit_log(
        action="face.callback",
        employer_id=session.application.employer_id if session is not None else None,
        outcome=AuditEvent.Outcome.SUCCESS if passed else AuditEvent.Outcome.FAILURE,
        obj=session,
        request=request,
        details={
            "accepted": accepted,
            "result": result,
            "reason": reason,
            "provider": session.provider if session is not None else "",
            "session": session.token[:8] if session is not None else "",
        },
    )


def sandbox_callback_body(
    *, session: FaceVerificationSession, result: str, now: datetime.datetime | None = None
) -> tuple[bytes, str]:
    """Return the body and signature the provider would send for a result on this session."""
    now = now or timezone.now()
    body = json.dumps(
        {
            "session": session.token,
            "id_number": session.application.employer.legal_rep_id_number,
            "result": result,
            "timestamp": int(now.timestamp()),
        }
    ).encode()
    return body, callback_signature(body)


def sandbox_face_respond(
    *, session: FaceVerificationSession, result: str, request=None
) -> FaceVerificationSession:
    """Answer a session as the sandbox provider: sign a callback and deliver it."""
    if result not in RESULTS:
        raise FaceCallbackRejected("bad_payload")
    body, signature = sandbox_callback_body(session=session, result=result)
    return face_callback_accept(payload=body, signature_header=signature, request=request)
