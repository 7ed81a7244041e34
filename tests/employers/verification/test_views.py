import datetime
import itertools
import json
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from employers.models import (
    Employer,
    FaceVerificationSession,
    PennyDropTransfer,
    RegistrationApplication,
    VerificationMethod,
)
from employers.verification.face import callback_headers, face_session_start
from portal.models import AuditEvent
from tests.factories import create_employer
from tests.support.banking import sent

pytestmark = pytest.mark.django_db

SECRET = "test-face-callback-secret-of-32-bytes"
CALLBACK_URL = "/verify/face/callback/"
_references = itertools.count(1)


@pytest.fixture(autouse=True)
def _sandbox_on(settings):
    settings.FACE_CALLBACK_SECRET = SECRET
    settings.SANDBOX_PROVIDERS = True


@pytest.fixture
def sandbox_off(settings):
    settings.DEBUG = False
    del settings.SANDBOX_PROVIDERS


@pytest.fixture
def application():
    employer = create_employer(status=Employer.Status.UNVERIFIED)
    return RegistrationApplication.objects.create(
        reference=f"ZC2028{next(_references):06d}", account=employer.account, employer=employer
    )


@pytest.fixture
def started(application):
    """A face session and the URL the portal sends the user to."""
    return face_session_start(application=application, return_url="/register/status/")


def callback_body(session, *, result="pass"):
    return json.dumps(
        {
            "session": session.token,
            "id_number": session.application.employer.legal_rep_id_number,
            "result": result,
        }
    ).encode()


def post_callback(body, signature=None, *, headers=None, client=None):
    """POST a callback signed as the provider signs it; ``signature`` overrides X-Signature."""
    headers = headers or callback_headers(body)
    if signature is not None:
        headers = {name: value for name, value in headers.items() if name != "X-Signature"}
        if signature:
            headers["X-Signature"] = signature
    return (client or Client(enforce_csrf_checks=True)).post(
        CALLBACK_URL, body, content_type="application/json", headers=headers
    )


# The provider's callback


def test_url_names_resolve_under_the_verification_namespace():
    assert reverse("verification:face_callback") == CALLBACK_URL
    assert reverse("verification:sandbox_bank") == "/verify/sandbox/bank/"


def test_signed_callback_is_accepted_without_a_csrf_token(started):
    session, _ = started
    response = post_callback(callback_body(session))

    assert response.status_code == 200
    assert response.json() == {"ok": True, "state": "passed"}
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.PASSED
    assert AuditEvent.objects.filter(action="face.callback").first().ip_address == "127.0.0.1"


def test_failed_recognition_is_acknowledged(started):
    session, _ = started
    response = post_callback(callback_body(session, result="liveness_failed"))
    assert response.status_code == 200
    assert response.json() == {"ok": True, "state": "failed"}


def test_forged_callback_is_forbidden(started):
    session, _ = started
    response = post_callback(callback_body(session), "0" * 64)

    assert response.status_code == 403
    assert response.json()["code"] == "signature_invalid"
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.CREATED


def test_unsigned_callback_is_forbidden(started):
    session, _ = started
    response = post_callback(callback_body(session), "")
    assert response.status_code == 403
    assert response.json()["code"] == "signature_missing"


def test_replayed_callback_is_refused(started):
    session, _ = started
    body = callback_body(session)
    headers = callback_headers(body)
    assert post_callback(body, headers=headers).status_code == 200

    response = post_callback(body, headers=headers)

    assert response.status_code == 400
    assert response.json()["code"] == "replay"
    assert response.json()["message"]


def test_late_callback_is_refused(started):
    session, _ = started
    body = callback_body(session)
    stale = callback_headers(body, now=timezone.now() - datetime.timedelta(minutes=6))
    response = post_callback(body, headers=stale)
    assert response.status_code == 400
    assert response.json()["code"] == "callback_late"


@pytest.mark.parametrize("body", [b"", b"\xff\xfe\x00", b"{", b"null", b'{"session": 1e999}'])
def test_signed_garbage_gets_a_400_not_a_500(body):
    response = post_callback(body)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_payload"


def test_callback_only_accepts_post():
    assert Client().get(CALLBACK_URL).status_code == 405


# The sandbox face provider


def test_start_url_leads_to_the_sandbox_page_showing_the_session(client, started):
    session, url = started
    employer = session.application.employer

    response = client.get(url)

    assert response.status_code == 200
    page = response.content.decode()
    assert employer.name in page
    assert f"{employer.legal_rep_id_number[:6]}********{employer.legal_rep_id_number[-4:]}" in page
    assert employer.legal_rep_id_number not in page
    for label in ("识别通过", "人员不符", "活体检测失败"):
        assert label in page
    assert 'value="/register/status/"' in page


def test_pressing_pass_delivers_a_signed_callback_and_returns_to_the_portal(client, started):
    session, url = started

    response = client.post(url, {"result": "pass", "next": "/register/status/"})

    assert response.status_code == 302
    assert response["Location"] == "/register/status/"
    session.refresh_from_db()
    application = session.application
    application.refresh_from_db()
    assert session.state == FaceVerificationSession.State.PASSED
    assert application.verification_method == VerificationMethod.FACE
    audit = AuditEvent.objects.filter(action="face.callback").first()
    assert audit.outcome == AuditEvent.Outcome.SUCCESS


@pytest.mark.parametrize("result", ["mismatch", "liveness_failed"])
def test_pressing_a_failure_fails_the_session(client, started, result):
    session, url = started
    client.post(url, {"result": result, "next": "/register/status/"})
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.FAILED
    assert session.failure_reason == result
    session.application.refresh_from_db()
    assert session.application.verification_method == ""


def test_pressing_twice_shows_the_replay_refusal(client, started):
    session, url = started
    client.post(url, {"result": "mismatch"})

    response = client.post(url, {"result": "pass"})

    assert response.status_code == 400
    assert "该识别会话已有结果" in response.content.decode()
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.FAILED


def test_unknown_result_is_refused(client, started):
    session, url = started
    assert client.post(url, {"result": "maybe"}).status_code == 400
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.CREATED


def test_sandbox_does_not_redirect_off_site(client, started):
    session, _ = started
    page = reverse("verification:sandbox_face", kwargs={"token": session.token})

    response = client.post(page, {"result": "pass", "next": "https://evil.example/"})

    assert response.status_code == 302
    assert urlsplit(response["Location"]).netloc == ""
    assert response["Location"] == page


def test_sandbox_page_for_an_unknown_session_is_404(client):
    url = reverse("verification:sandbox_face", kwargs={"token": "no-such-session"})
    assert client.get(url).status_code == 404


def test_debug_alone_turns_the_sandbox_on(client, started, settings, sandbox_off):
    settings.DEBUG = True
    _, url = started
    assert client.get(url).status_code == 200


def test_sandbox_pages_are_404_in_production(client, started, sandbox_off):
    session, url = started

    assert client.get(url).status_code == 404
    assert client.post(url, {"result": "pass"}).status_code == 404
    assert client.get(reverse("verification:sandbox_bank")).status_code == 404
    session.refresh_from_db()
    assert session.state == FaceVerificationSession.State.CREATED


def test_callback_still_answers_in_production(started, sandbox_off):
    session, _ = started
    assert post_callback(callback_body(session)).status_code == 200


def test_no_personal_data_in_the_audit_log(client, started):
    session, url = started
    client.post(url, {"result": "pass"})
    post_callback(callback_body(session), "forged")
    employer = session.application.employer

    for event in AuditEvent.objects.all():
        text = json.dumps(event.details, ensure_ascii=False)
        assert employer.legal_rep_id_number not in text


# The sandbox bank


def test_bank_statement_hides_the_amount_until_it_arrives(client, application):
    transfer = sent(application)
    PennyDropTransfer.objects.filter(pk=transfer.pk).update(
        arrives_on=timezone.localdate() + datetime.timedelta(days=2), amount_fen=37
    )

    page = client.get(reverse("verification:sandbox_bank")).content.decode()

    expected = timezone.localdate() + datetime.timedelta(days=2)
    assert f"在途,预计 {expected:%Y-%m-%d} 到账" in page
    assert "¥0.37" not in page
    assert f"账户验证:{transfer.memo_code}" in page


def test_bank_statement_shows_an_arrived_transfer(client, application):
    transfer = sent(application)
    PennyDropTransfer.objects.filter(pk=transfer.pk).update(
        arrives_on=timezone.localdate(), amount_fen=5
    )
    employer = application.employer

    page = client.get(reverse("verification:sandbox_bank")).content.decode()

    assert "¥0.05" in page
    assert "在途" not in page
    assert employer.bank_account_name in page
    assert "***************6543" in page
    assert employer.bank_account not in page
    assert transfer.bank_reference in page


def test_bank_statement_reads_all_lines_in_one_query(client, django_assert_num_queries):
    for _ in range(3):
        employer = create_employer(status=Employer.Status.UNVERIFIED)
        sent(
            RegistrationApplication.objects.create(
                reference=f"ZC2028{next(_references):06d}",
                account=employer.account,
                employer=employer,
            )
        )
    with django_assert_num_queries(1):
        response = client.get(reverse("verification:sandbox_bank"))
    assert response.content.decode().count("账户验证:") == 3


def test_a_failed_recognition_is_explained_in_words_not_the_providers_code(client, started):
    from django.urls import reverse

    from employers.registration.views import APPLICATIONS_KEY

    session, _ = started
    post_callback(callback_body(session, result="liveness_failed"))
    browser_session = client.session
    browser_session[APPLICATIONS_KEY] = [session.application.reference]
    browser_session.save()
    url = reverse("employers:register_verify_face", args=[session.application.reference])
    body = client.get(url).content.decode()
    assert "活体检测未通过" in body and "liveness_failed" not in body
