"""The face provider's signed-HTTP API, against a stub provider on 127.0.0.1."""

from __future__ import annotations

import datetime
import itertools
import json

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.utils import timezone

from employers.models import Employer, FaceVerificationSession, RegistrationApplication
from employers.verification.face import face_session_start
from portal.models import AuditEvent
from portal.outbound import IDEMPOTENCY_HEADER, InsideTransaction, signed_headers
from tests.factories import create_employer

pytestmark = pytest.mark.django_db

SECRET = "face-request-secret-of-at-least-32-bytes"
CALLBACK_SECRET = "face-callback-secret-of-at-least-32-bytes"
CALLBACK_URL = "/verify/face/callback/"
RETURN_URL = "https://portal.example.cn/registration/ZC1/verify/face/"
_references = itertools.count(1)


@pytest.fixture
def provider(stub_server, settings):
    server = stub_server(key_id="portal-face", secret=SECRET, stall_seconds=1.5)
    settings.FACE_PROVIDER = "http"
    settings.FACE_BASE_URL = server.base_url
    settings.FACE_KEY_ID = "portal-face"
    settings.FACE_SECRET = SECRET
    settings.FACE_CALLBACK_SECRET = CALLBACK_SECRET
    settings.OUTBOUND_READ_TIMEOUT = 0.5
    settings.OUTBOUND_BACKOFF_SECONDS = 0.01
    server.opened = {}

    def open_session(request, match):
        body = request.json
        assert request.headers[IDEMPOTENCY_HEADER] == body["session"]
        server.opened.setdefault(body["session"], f"https://face.example.cn/s/{len(server.opened)}")
        return 201, {"redirect_url": server.opened[body["session"]]}

    server.route("POST", "/sessions", open_session)
    return server


@pytest.fixture
def application():
    employer = create_employer(status=Employer.Status.UNVERIFIED)
    return RegistrationApplication.objects.create(
        reference=f"ZC2030{next(_references):06d}", account=employer.account, employer=employer
    )


def callback(session, *, result="pass", now=None, key_id="portal-face", secret=CALLBACK_SECRET):
    """The provider's callback: JSON body, signed with the callback secret."""
    body = json.dumps(
        {
            "session": session.token,
            "id_number": session.application.employer.legal_rep_id_number,
            "result": result,
        }
    ).encode()
    headers = signed_headers(
        key_id=key_id,
        secret=secret,
        method="POST",
        path=CALLBACK_URL,
        body=body,
        now=None if now is None else now.timestamp(),
    )
    return body, headers


def post(body, headers):
    return Client(enforce_csrf_checks=True).post(
        CALLBACK_URL, body, content_type="application/json", headers=headers
    )


def test_start_opens_the_session_at_the_provider_with_a_signed_call(provider, application):
    session, url = face_session_start(application=application, return_url=RETURN_URL)

    assert url == provider.opened[session.token]
    (call,) = provider.received
    assert call.signature == "ok" and call.path == "/api/sessions"
    assert call.json["session"] == session.token
    assert call.json["name"] == application.employer.legal_rep_name
    assert call.json["callback_url"] == "https://portal.example.cn/verify/face/callback/"
    assert call.json["return_url"] == RETURN_URL
    assert session.provider == "http"


def test_a_provider_5xx_is_retried_once_with_the_same_key(provider, application):
    provider.faults += ["fail"]

    session, url = face_session_start(application=application, return_url=RETURN_URL)

    assert url == provider.opened[session.token]
    assert [call.headers[IDEMPOTENCY_HEADER] for call in provider.received] == [session.token] * 2


def test_a_provider_that_does_not_answer_fails_the_session_with_a_message(provider, application):
    provider.faults += ["timeout", "fail"]

    with pytest.raises(ValidationError) as caught:
        face_session_start(application=application, return_url=RETURN_URL)

    assert caught.value.code == "provider_unavailable"
    assert "暂时无法使用" in caught.value.messages[0]
    session = FaceVerificationSession.objects.get()
    assert session.state == FaceVerificationSession.State.FAILED
    assert session.failure_reason == "provider_unavailable"
    assert "其他认证方式" in session.failure_text
    assert AuditEvent.objects.filter(action="face.provider_unavailable").exists()


def test_the_provider_is_never_called_inside_a_transaction(provider, application):
    with transaction.atomic(), pytest.raises(InsideTransaction):
        face_session_start(application=application, return_url=RETURN_URL)
    assert provider.received == []


def test_the_providers_signed_callback_verifies_the_application(provider, application):
    session, _ = face_session_start(application=application, return_url=RETURN_URL)

    response = post(*callback(session))

    assert response.status_code == 200 and response.json()["state"] == "passed"
    application.refresh_from_db()
    assert application.verified_at is not None


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"secret": "a-forged-secret-that-is-32-bytes-long"}, 403, "signature_invalid"),
        ({"key_id": "someone-else"}, 403, "signature_invalid"),
        ({"now": timezone.now() - datetime.timedelta(minutes=6)}, 400, "callback_late"),
    ],
    ids=["bad-signature", "unknown-key", "old-timestamp"],
)
def test_a_bad_callback_is_refused_and_changes_nothing(provider, application, change, status, code):
    session, _ = face_session_start(application=application, return_url=RETURN_URL)

    response = post(*callback(session, **change))

    assert response.status_code == status and response.json()["code"] == code
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.CREATED


def test_a_replayed_callback_is_refused(provider, application):
    session, _ = face_session_start(application=application, return_url=RETURN_URL)
    body, headers = callback(session, result="mismatch")
    assert post(body, headers).status_code == 200

    response = post(body, headers)

    assert response.status_code == 400 and response.json()["code"] == "replay"
    session.refresh_from_db()
    assert session.failure_reason == "mismatch"
