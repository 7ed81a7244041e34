import datetime
import itertools
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from employers.models import (
    Employer,
    FaceVerificationSession,
    RegistrationApplication,
    VerificationMethod,
)
from employers.verification.face import (
    FaceCallbackRejected,
    callback_headers,
    face_callback_accept,
    face_session_start,
    sandbox_callback_body,
)
from portal.crypto import blind_index
from portal.models import AuditEvent
from tests.factories import create_employer, make_resident_id

pytestmark = pytest.mark.django_db

SECRET = "test-face-callback-secret-of-32-bytes"
_references = itertools.count(1)


@pytest.fixture(autouse=True)
def _callback_secret(settings):
    settings.FACE_CALLBACK_SECRET = SECRET
    settings.SANDBOX_PROVIDERS = True  # the sandbox provider's page, as development has it


@pytest.fixture
def application():
    employer = create_employer(status=Employer.Status.UNVERIFIED)
    return RegistrationApplication.objects.create(
        reference=f"ZC2026{next(_references):06d}", account=employer.account, employer=employer
    )


@pytest.fixture
def session(application):
    session, _ = face_session_start(application=application)
    return session


def signed(session, *, result="pass", id_number=None, timestamp=None, secret=SECRET):
    """Build a callback the way the provider documents it: JSON body, signature headers."""
    body = json.dumps(
        {
            "session": session.token,
            "id_number": id_number or session.application.employer.legal_rep_id_number,
            "result": result,
        }
    ).encode()
    when = None if timestamp is None else datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return body, callback_headers(body, now=when, secret=secret)


def accept(body, headers, **kwargs):
    return face_callback_accept(payload=body, headers=headers, **kwargs)


def refusal(body, headers, **kwargs) -> FaceCallbackRejected:
    with pytest.raises(FaceCallbackRejected) as excinfo:
        accept(body, headers, **kwargs)
    return excinfo.value


def last_callback_audit() -> AuditEvent:
    return AuditEvent.objects.filter(action="face.callback").first()


def test_start_opens_a_session_for_the_legal_representative(application):
    before = timezone.now()
    session, url = face_session_start(application=application, return_url="/register/status/")
    assert len(session.token) >= 43
    assert session.provider == "sandbox"
    assert session.state == FaceVerificationSession.State.CREATED
    assert session.id_number_index == blind_index(
        "id_number", application.employer.legal_rep_id_number
    )
    expected_expiry = before + datetime.timedelta(minutes=15)
    assert abs((session.expires_at - expected_expiry).total_seconds()) < 5
    assert url == (
        reverse("verification:sandbox_face", kwargs={"token": session.token})
        + "?next=%2Fregister%2Fstatus%2F"
    )


def test_start_is_refused_for_a_submitted_application(application):
    application.state = RegistrationApplication.State.SUBMITTED
    application.save()
    with pytest.raises(ValidationError):
        face_session_start(application=application)
    assert not FaceVerificationSession.objects.exists()


def test_pass_verifies_the_application_without_personal_data_in_the_evidence(session):
    now = timezone.now()
    accept(*signed(session), now=now)

    session.refresh_from_db()
    application = session.application
    application.refresh_from_db()
    assert session.state == FaceVerificationSession.State.PASSED
    assert session.callback_at == now
    assert application.verification_method == VerificationMethod.FACE
    assert application.verified_at == now
    assert application.verification_evidence == {
        "method": "face",
        "provider": "sandbox",
        "session": session.token[:8],
        "checked_at": now.isoformat(),
    }
    audit = last_callback_audit()
    assert audit.outcome == AuditEvent.Outcome.SUCCESS
    assert audit.employer_id == application.employer_id


@pytest.mark.parametrize("result", ["mismatch", "liveness_failed"])
def test_failed_recognition_fails_the_session_and_leaves_the_application_unverified(
    session, result
):
    returned = accept(*signed(session, result=result))

    session.refresh_from_db()
    session.application.refresh_from_db()
    assert returned.pk == session.pk
    assert session.state == FaceVerificationSession.State.FAILED
    assert session.failure_reason == result
    assert session.application.verification_method == ""
    assert session.application.verified_at is None
    audit = last_callback_audit()
    assert audit.outcome == AuditEvent.Outcome.FAILURE
    assert audit.details["result"] == result
    assert audit.details["accepted"] is True


def test_another_persons_id_number_fails_the_session_as_id_mismatch(session):
    other = make_resident_id("19900101", "male")
    error = refusal(*signed(session, id_number=other))

    assert error.code == "id_mismatch"
    assert error.http_status == 400
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.FAILED
    assert session.failure_reason == "id_mismatch"
    assert session.application.verification_method == ""
    assert last_callback_audit().details["reason"] == "id_mismatch"


def test_id_number_is_compared_in_its_normal_form(session):
    id_number = session.application.employer.legal_rep_id_number
    accept(*signed(session, id_number=f" {id_number[:6]} {id_number[6:].lower()} "))
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.PASSED


def test_forged_signature_is_refused(session):
    error = refusal(*signed(session, secret="not-the-shared-secret"))

    assert error.code == "signature_invalid"
    assert error.http_status == 403
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.CREATED
    audit = last_callback_audit()
    assert audit.outcome == AuditEvent.Outcome.FAILURE
    assert audit.details["reason"] == "signature_invalid"


def test_body_changed_after_signing_is_refused(session):
    body, signature = signed(session, result="mismatch")
    error = refusal(body.replace(b'"mismatch"', b'"pass"'), signature)
    assert error.code == "signature_invalid"
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.CREATED


def test_missing_signature_is_refused(session):
    body, _ = signed(session)
    error = refusal(body, {})
    assert error.code == "signature_missing"
    assert error.http_status == 403
    assert last_callback_audit().details["reason"] == "signature_missing"


def test_unknown_session_is_refused(session):
    body, _ = signed(session)
    body = body.replace(session.token.encode(), b"no-such-session")
    error = refusal(body, callback_headers(body))
    assert error.code == "unknown_session"
    assert last_callback_audit().details["reason"] == "unknown_session"


def test_callback_for_an_expired_session_is_refused(session):
    now = session.expires_at + datetime.timedelta(seconds=1)
    error = refusal(*signed(session, timestamp=int(now.timestamp())), now=now)

    assert error.code == "session_expired"
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.CREATED
    assert session.application.verification_method == ""


@pytest.mark.parametrize("seconds", [-301, 301])
def test_callback_stamped_more_than_five_minutes_away_is_refused(session, seconds):
    now = timezone.now()
    error = refusal(*signed(session, timestamp=int(now.timestamp()) + seconds), now=now)
    assert error.code == "callback_late"
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.CREATED


def test_callback_stamped_within_five_minutes_is_accepted(session):
    now = timezone.now()
    accept(*signed(session, timestamp=int(now.timestamp()) - 290), now=now)
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.PASSED


def test_the_same_signed_callback_twice_is_refused_by_its_nonce(session):
    body, headers = signed(session, result="mismatch")
    refusal(body, {**headers, "X-Key-Id": "someone-else"})  # unsigned junk: nonce not spent
    accept(body, headers)

    assert refusal(body, headers).code == "replay"
    assert last_callback_audit().details["reason"] == "replay"


@pytest.mark.parametrize("result", ["pass", "mismatch"])
def test_replayed_callback_is_refused(session, result):
    body, signature = signed(session, result=result)
    accept(body, signature)
    session.refresh_from_db()
    decided_at = session.callback_at

    error = refusal(body, signature)

    assert error.code == "replay"
    session.refresh_from_db()
    assert session.callback_at == decided_at
    assert last_callback_audit().details["reason"] == "replay"


def test_a_mismatch_cannot_be_overturned_by_a_later_pass(session):
    accept(*signed(session, result="mismatch"))
    assert refusal(*signed(session, result="pass")).code == "replay"
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.FAILED


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"session": "x"}',
        b'{"session": "x", "id_number": "1", "result": "maybe"}',
        b'{"session": "x", "id_number": "1", "result": null}',
        b'{"session": 1, "id_number": "1", "result": "pass"}',
        b'{"session": "x", "id_number": 1, "result": "pass"}',
    ],
)
def test_signed_but_malformed_payload_is_refused(body):
    error = refusal(body, callback_headers(body))
    assert error.code == "bad_payload"
    assert error.http_status == 400


def test_sandbox_signs_its_callbacks_as_the_provider_does(session):
    body, headers = sandbox_callback_body(session=session, result="pass")
    assert set(headers) == {"X-Key-Id", "X-Timestamp", "X-Nonce", "X-Signature"}
    assert headers["X-Key-Id"] == "sandbox"  # no FACE_KEY_ID in development
    accept(body, headers)
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.PASSED


def test_no_personal_data_reaches_the_audit_log(application):
    id_number = application.employer.legal_rep_id_number
    passed, _ = face_session_start(application=application)
    accept(*signed(passed))
    failed, _ = face_session_start(application=application)
    refusal(*signed(failed, id_number=make_resident_id("19900101", "male")))
    forged, _ = face_session_start(application=application)
    refusal(*signed(forged, secret="forged"))

    events = list(AuditEvent.objects.all())
    assert {"face.started", "face.callback"} <= {event.action for event in events}
    for event in events:
        text = json.dumps(event.details, ensure_ascii=False)
        assert id_number not in text
        assert id_number[-8:] not in text
        assert passed.token not in text
