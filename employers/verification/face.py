"""Face recognition of the legal representative (DESIGN.md section 5): provider adapter.

The portal opens a session, sends the user to the provider, and accepts the provider's signed
callback naming the session, the ID number it checked and the result. The ID number is compared
by its blind index and never stored. A sandbox provider plays the provider's part in development
and tests; it signs its callbacks with the same secret and goes through the same code path.

Callbacks are signed as portal.outbound signs requests (key id, timestamp, nonce, HMAC-SHA256
over method, path, timestamp, nonce and the body's hash; docs/INTEGRATIONS.md). The provider is
called outside any transaction: the session row is committed first, the call made, and its
answer recorded in a transaction of its own.
"""

from __future__ import annotations

import datetime
import hmac
import json
import secrets
from collections.abc import Mapping
from urllib.parse import urlencode, urljoin, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from employers.models import FaceVerificationSession, RegistrationApplication, VerificationMethod
from portal import outbound
from portal.adapters import adapter_from_setting
from portal.audit import audit_log
from portal.crypto import blind_index
from portal.models import AuditEvent

DEV_CALLBACK_SECRET = "dev-only-face-callback-secret"
SANDBOX_KEY_ID = "sandbox"
DEFAULT_SESSION_TTL = 15 * 60  # seconds
# A signed callback may be captured and sent again later: refuse one whose timestamp is further
# than this from the server clock, either way (its nonce is remembered for twice as long).
CALLBACK_MAX_AGE = 5 * 60  # seconds
# How portal.outbound's refusals read to the provider (the codes of REJECTIONS below).
SIGNATURE_REFUSALS = {
    "signature_missing": "signature_missing",
    "unknown_key": "signature_invalid",
    "signature_invalid": "signature_invalid",
    "timestamp_invalid": "callback_late",
    "replay": "replay",
}

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


class FaceProviderUnavailable(Exception):
    """The provider could not open the session (no answer, or it refused)."""


class FaceProvider:
    """A face-recognition service; start() returns the URL to send the user to."""

    name = ""

    def start(self, session: FaceVerificationSession, *, return_url: str = "") -> str:
        """Open the session at the provider (outside any transaction); return where to go."""
        raise NotImplementedError


class SandboxFaceProvider(FaceProvider):
    """Plays the provider inside the project (verification:sandbox_face)."""

    name = "sandbox"

    def start(self, session: FaceVerificationSession, *, return_url: str = "") -> str:
        url = reverse("verification:sandbox_face", kwargs={"token": session.token})
        if return_url:
            url += "?" + urlencode({"next": return_url})
        return url


class HttpFaceProvider(FaceProvider):
    """A provider's signed-HTTP API (docs/INTEGRATIONS.md, "Face provider")."""

    name = "http"

    def __init__(self, client: outbound.SignedClient | None = None):
        # The user waits for this call: one retry, not the default three.
        self.client = client or outbound.SignedClient(
            base_url=settings.FACE_BASE_URL,
            key_id=settings.FACE_KEY_ID,
            secret=settings.FACE_SECRET,
            retries=1,
        )

    def start(self, session: FaceVerificationSession, *, return_url: str = "") -> str:
        employer = session.application.employer
        body = {
            "session": session.token,
            "name": employer.legal_rep_name,
            "id_number": employer.legal_rep_id_number,
            "expires_at": int(session.expires_at.timestamp()),
            "return_url": return_url,
            "callback_url": urljoin(return_url, reverse("verification:face_callback"))
            if return_url
            else "",
        }
        try:
            answer = self.client.call("POST", "/sessions", json=body, idempotency_key=session.token)
        except outbound.OutboundError as exc:
            raise FaceProviderUnavailable(str(exc)) from exc
        url = str(answer.data.get("redirect_url", ""))
        if urlsplit(url).scheme not in {"https", "http"}:
            raise FaceProviderUnavailable("an answer without a redirect_url")
        return url


PROVIDERS = {"sandbox": SandboxFaceProvider, "http": HttpFaceProvider}


def face_provider() -> FaceProvider:
    """Return the configured provider: a name in PROVIDERS or a dotted path to a class."""
    return adapter_from_setting("FACE_PROVIDER", PROVIDERS, "provider")


def callback_secret() -> str:
    return getattr(settings, "FACE_CALLBACK_SECRET", DEV_CALLBACK_SECRET)


def callback_key_id() -> str:
    return getattr(settings, "FACE_KEY_ID", "") or SANDBOX_KEY_ID


def callback_headers(
    payload: bytes, *, now: datetime.datetime | None = None, secret: str | None = None
) -> dict[str, str]:
    """Return the signature headers the provider sends with a callback body."""
    return outbound.signed_headers(
        key_id=callback_key_id(),
        secret=secret or callback_secret(),
        method="POST",
        path=reverse("verification:face_callback"),
        body=payload,
        now=None if now is None else now.timestamp(),
    )


UNAVAILABLE = _("人脸识别服务暂时无法使用,请稍后再试,或选择其他认证方式。")


def face_session_start(
    *, application: RegistrationApplication, return_url: str = ""
) -> tuple[FaceVerificationSession, str]:
    """Open a face-recognition session for the unit's legal representative.

    The session is committed before the provider is called; a provider that does not answer
    fails the session (in a transaction of its own) and the unit is told to try again.
    """
    provider = face_provider()
    session = _face_session_create(application=application, provider=provider)
    try:
        url = provider.start(session, return_url=return_url)
    except FaceProviderUnavailable:
        _face_session_unavailable(session)
        raise ValidationError(UNAVAILABLE, code="provider_unavailable") from None
    return session, url


@transaction.atomic
def _face_session_create(*, application, provider) -> FaceVerificationSession:
    if application.state != RegistrationApplication.State.VERIFYING:
        raise ValidationError(_("申请已提交,无需再次进行身份认证。"), code="submitted")
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
    return session


@transaction.atomic
def _face_session_unavailable(session: FaceVerificationSession) -> None:
    decided = FaceVerificationSession.objects.filter(
        pk=session.pk, state=FaceVerificationSession.State.CREATED
    ).update(
        state=FaceVerificationSession.State.FAILED,
        failure_reason="provider_unavailable",
        callback_at=timezone.now(),
    )
    if decided:
        audit_log(
            action="face.provider_unavailable",
            employer_id=session.application.employer_id,
            outcome=AuditEvent.Outcome.FAILURE,
            obj=session,
            details={"provider": session.provider, "session": session.token[:8]},
        )


def face_callback_accept(
    *,
    payload: bytes,
    headers: Mapping[str, str],
    path: str | None = None,
    now: datetime.datetime | None = None,
    request=None,
) -> FaceVerificationSession:
    """Accept the provider's signed callback, or raise FaceCallbackRejected."""
    # Not atomic as a whole: a refusal keeps its audit row and, for a wrong ID number, the
    # failed session; the exception is raised once that transaction has committed.
    session, rejection = _face_callback_record(
        payload=payload,
        headers=headers,
        path=path or reverse("verification:face_callback"),
        now=now or timezone.now(),
        request=request,
    )
    if rejection is not None:
        raise rejection
    return session


@transaction.atomic
def _face_callback_record(*, payload, headers, path, now, request):
    session = None
    result = ""
    try:
        data = _verified_payload(payload, headers, path, now)
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


def _verified_payload(payload: bytes, headers, path: str, now: datetime.datetime) -> dict:
    """Check the signature, time and nonce before reading anything, then the body's shape."""
    try:
        outbound.verify_signed_request(
            method="POST",
            path=path,
            headers=headers,
            body=payload,
            secrets={callback_key_id(): callback_secret()},
            max_age=CALLBACK_MAX_AGE,
            now=now.timestamp(),
        )
    except outbound.SignatureRejected as exc:
        raise FaceCallbackRejected(SIGNATURE_REFUSALS[exc.code]) from None
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FaceCallbackRejected("bad_payload") from exc
    if not isinstance(data, dict):
        raise FaceCallbackRejected("bad_payload")
    well_formed = (
        isinstance(data.get("session"), str)
        and isinstance(data.get("id_number"), str)
        and data.get("result") in RESULTS
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
) -> tuple[bytes, dict[str, str]]:
    """Return the body and signature headers the provider would send for a result."""
    body = json.dumps(
        {
            "session": session.token,
            "id_number": session.application.employer.legal_rep_id_number,
            "result": result,
        }
    ).encode()
    return body, callback_headers(body, now=now)


def sandbox_face_respond(
    *, session: FaceVerificationSession, result: str, request=None
) -> FaceVerificationSession:
    """Answer a session as the sandbox provider: sign a callback and deliver it."""
    if result not in RESULTS:
        raise FaceCallbackRejected("bad_payload")
    body, headers = sandbox_callback_body(session=session, result=result)
    return face_callback_accept(payload=body, headers=headers, request=request)
