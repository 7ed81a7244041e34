import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from employers.accounts.lockout import agent_is_locked
from employers.models import CAChallenge, Employer
from employers.verification import testing as ca_testing
from employers.verification.ca_services import ca_crl_load, ca_root_trust
from portal.models import AuditEvent
from tests.employers.auth_helpers import make_agent, make_application
from tests.factories import create_agent, create_employer, make_uscc

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def ca(now):
    authority = ca_testing.create_test_ca(now=now)
    ca_root_trust(pem=ca_testing.certificate_pem(authority.certificate), name="测试CA")
    return authority


@pytest.fixture
def agent():
    return make_agent()


@pytest.fixture
def unit_key(ca, agent, now):
    return ca_testing.issue_unit_certificate(ca, uscc=agent.employer.uscc, now=now)


def ca_login(client, key, certificate, id_number, *, nonce=None, signature=None):
    page = client.get("/login/ca/")
    assert page.status_code == 200
    issued = client.session["ca_login_challenge"]
    assert issued in page.content.decode()
    nonce = issued if nonce is None else nonce
    if signature is None:
        signature = ca_testing.sign_challenge(ca_testing.key_pem(key), nonce)
    return client.post(
        "/login/ca/",
        {
            "id_number": id_number,
            "certificate": SimpleUploadedFile("unit.pem", ca_testing.certificate_pem(certificate)),
            "signature": signature,
        },
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_agent_logs_in_with_the_units_certificate(client, agent, unit_key):
    key, cert = unit_key

    response = ca_login(client, key, cert, agent.id_number)

    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.session["_auth_user_id"] == str(agent.user.pk)
    event = AuditEvent.objects.get(action="agent.login", outcome="success")
    assert event.details == {"method": "ca"}
    challenge = CAChallenge.objects.get(purpose=CAChallenge.Purpose.LOGIN, used_at__isnull=False)
    assert challenge.application is None


def test_each_page_gets_a_fresh_login_challenge(client):
    client.get("/login/ca/")
    first = client.session["ca_login_challenge"]
    client.get("/login/ca/")

    assert client.session["ca_login_challenge"] != first
    assert CAChallenge.objects.filter(purpose="login").count() == 2


def test_expired_certificate_gets_the_renewal_message(client, agent, ca, now):
    key, cert = ca_testing.issue_unit_certificate(
        ca,
        uscc=agent.employer.uscc,
        now=now,
        not_before=now - datetime.timedelta(days=400),
        not_after=now - datetime.timedelta(days=1),
    )

    response = ca_login(client, key, cert, agent.id_number)

    assert response.context["form"].errors["certificate"] == ["CA证书已过期,请联系CA机构续期"]
    assert not logged_in(client)


def test_revoked_certificate_gets_its_own_message(client, agent, ca, unit_key, now):
    key, cert = unit_key
    crl = ca_testing.create_crl(ca, revoked_serials=[cert.serial_number], now=now)
    ca_crl_load(data=ca_testing.crl_pem(crl))

    response = ca_login(client, key, cert, agent.id_number)

    assert response.context["form"].errors["certificate"] == [
        "该CA证书已被吊销,请联系CA机构重新办理"
    ]
    assert not logged_in(client)


def test_certificate_of_another_registered_unit_does_not_log_in(client, agent, ca, now):
    other = create_employer()
    key, cert = ca_testing.issue_unit_certificate(ca, uscc=other.uscc, now=now)

    response = ca_login(client, key, cert, agent.id_number)

    assert response.status_code == 200 and not logged_in(client)
    assert "身份证号或证书不正确" in response.content.decode()


def test_certificate_of_an_unregistered_unit_does_not_log_in(client, agent, ca, now):
    key, cert = ca_testing.issue_unit_certificate(ca, uscc=make_uscc(), now=now)

    response = ca_login(client, key, cert, agent.id_number)

    assert "身份证号或证书不正确" in response.content.decode() and not logged_in(client)
    assert CAChallenge.objects.filter(purpose="login", used_at__isnull=False).count() == 1


def test_signature_over_another_challenge_is_refused(client, agent, unit_key):
    key, cert = unit_key

    response = ca_login(
        client,
        key,
        cert,
        agent.id_number,
        signature=ca_testing.sign_challenge(ca_testing.key_pem(key), "not-the-challenge"),
    )

    assert "签名验证失败" in response.context["form"].errors["certificate"][0]
    assert not logged_in(client)


def test_a_login_challenge_is_spent_by_its_first_use(client, agent, unit_key):
    key, cert = unit_key
    client.get("/login/ca/")
    nonce = client.session["ca_login_challenge"]
    signature = ca_testing.sign_challenge(ca_testing.key_pem(key), nonce)
    data = {"id_number": agent.id_number, "signature": signature}
    upload = ca_testing.certificate_pem(cert)
    assert (
        client.post("/login/ca/", data | {"certificate": SimpleUploadedFile("a.pem", upload)})[
            "Location"
        ]
        == "/dashboard/"
    )
    client.post("/logout/")
    session = client.session
    session["ca_login_challenge"] = nonce
    session.save()

    response = client.post(
        "/login/ca/", data | {"certificate": SimpleUploadedFile("a.pem", upload)}
    )

    assert response.context["form"].errors["certificate"] == ["挑战值已失效,请重新获取"]
    assert not logged_in(client)


def test_wrong_id_number_for_the_unit_is_refused_like_a_wrong_password(client, agent, unit_key):
    key, cert = unit_key

    response = ca_login(client, key, cert, "11010519491231002X")

    assert "身份证号或证书不正确" in response.content.decode() and not logged_in(client)


def test_five_failed_certificate_logins_lock_the_agent(client, agent, unit_key):
    key, cert = unit_key
    for _ in range(5):
        ca_login(client, key, cert, agent.id_number, signature="AAAA")

    assert agent_is_locked(agent) and not logged_in(client)
    assert AuditEvent.objects.filter(action="agent.locked").count() == 1


def test_a_good_certificate_lifts_the_lock_and_logs_in(client, agent, unit_key):
    key, cert = unit_key
    for _ in range(5):
        ca_login(client, key, cert, agent.id_number, signature="AAAA")
    assert agent_is_locked(agent)

    refused = ca_login(client, key, cert, agent.id_number, signature="AAAA")
    assert not logged_in(client) and agent_is_locked(agent)
    assert refused.status_code == 200

    response = ca_login(client, key, cert, agent.id_number)

    assert response.status_code == 302 and logged_in(client)
    assert not agent_is_locked(agent)
    assert AuditEvent.objects.get(action="agent.unlocked").details["via"] == "ca"


def test_unit_under_review_goes_to_its_status_page_after_certificate_login(client, ca, now):
    employer = create_employer(status=Employer.Status.PENDING)
    agent = create_agent(employer=employer)
    application = make_application(employer)
    key, cert = ca_testing.issue_unit_certificate(ca, uscc=employer.uscc, now=now)

    response = ca_login(client, key, cert, agent.id_number)

    assert response["Location"] == f"/registration/{application.reference}/"


def test_not_a_certificate_is_refused_with_a_message(client, agent):
    client.get("/login/ca/")

    response = client.post(
        "/login/ca/",
        {
            "id_number": agent.id_number,
            "certificate": SimpleUploadedFile("x.pem", b"<script>alert(1)</script>"),
            "signature": "' OR 1=1 --",
        },
    )

    assert response.status_code == 200 and not logged_in(client)
    assert "<script>alert" not in response.content.decode()


def test_a_ten_thousand_character_signature_is_refused_beside_its_field(client, agent, unit_key):
    key, cert = unit_key

    response = ca_login(client, key, cert, agent.id_number, signature="A" * 10_000)

    assert response.context["form"].errors["signature"]
    assert not logged_in(client)
