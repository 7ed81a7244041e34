import base64
import copy
import datetime
import logging

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from django.core.exceptions import ValidationError
from django.utils import timezone

from employers.models import (
    CAChallenge,
    CertificateRevocationList,
    Employer,
    RegistrationApplication,
    TrustedCARoot,
)
from employers.verification import testing as ca_testing
from employers.verification.ca import (
    OID_ORGANISATION_CODE,
    OID_USCC,
    CertificateRejected,
    check_unit_certificate,
    extract_unit_identifiers,
    verify_unit_certificate,
)
from employers.verification.ca_services import (
    CHALLENGE_TTL,
    ca_challenge_issue,
    ca_challenge_redeem,
    ca_crl_load,
    ca_root_trust,
)
from portal.models import AuditEvent
from tests.factories import create_employer

pytestmark = pytest.mark.django_db

NOW = timezone.now()
DAY = datetime.timedelta(days=1)

# An SM2/SM3 certificate made with `openssl req -x509 -sm3 -sigopt distid:1234567812345678`:
# cryptography parses it but cannot load its key.
SM2_CERTIFICATE = b"""-----BEGIN CERTIFICATE-----
MIIB2DCCAX+gAwIBAgIUcgCVSaWRgUMDhFFRkUaJY0AolgAwCgYIKoEcz1UBg3Uw
QTELMAkGA1UEBhMCQ04xETAPBgNVBAoMCFNNMiBUZXN0MR8wHQYDVQQDDBY5MTEx
MDEwNU1BMDFBMUIyMFhAU00yMCAXDTI2MTEyNTE5NDcwMFoYDzIxMjYxMTAxMTk0
NzAwWjBBMQswCQYDVQQGEwJDTjERMA8GA1UECgwIU00yIFRlc3QxHzAdBgNVBAMM
FjkxMTEwMTA1TUEwMUExQjIwWEBTTTIwWTATBgcqhkjOPQIBBggqgRzPVQGCLQNC
AARl9pWtEuaJiOA4T8Swb3/ZRVO/AAb1274dJw0STc+kyVTSdYKb9eNoJL+zU8R5
Ma5c8UHhth3iH02pOkSaS4N4o1MwUTAdBgNVHQ4EFgQU+4af7B7q2CJr2jUGsKG9
MqDt4j4wHwYDVR0jBBgwFoAU+4af7B7q2CJr2jUGsKG9MqDt4j4wDwYDVR0TAQH/
BAUwAwEB/zAKBggqgRzPVQGDdQNHADBEAiB+kEHTGFhAVafKPrYvRpgjRwpFqO8z
DiduzUnY9gSiIgIgTKDbd3W8v68tDE4HbMM4ND0+e7MgaSrby/amh6w4XWk=
-----END CERTIFICATE-----
"""


@pytest.fixture(scope="module")
def rsa_ca():
    return ca_testing.create_test_ca(now=NOW, algorithm="rsa")


@pytest.fixture(scope="module")
def ecdsa_ca():
    return ca_testing.create_test_ca(now=NOW, algorithm="ecdsa", name="测试ECC CA")


@pytest.fixture
def trusted(rsa_ca):
    ca_root_trust(pem=ca_testing.certificate_pem(rsa_ca.certificate), name="测试CA")
    return rsa_ca


@pytest.fixture
def application():
    employer = create_employer(status=Employer.Status.UNVERIFIED)
    return RegistrationApplication.objects.create(
        reference=f"REG{employer.pk:08d}", account=employer.account, employer=employer
    )


def issue(ca, uscc, **options):
    """Return (key PEM, certificate PEM) for a unit certificate."""
    key, certificate = ca_testing.issue_unit_certificate(ca, uscc=uscc, now=NOW, **options)
    return ca_testing.key_pem(key), ca_testing.certificate_pem(certificate)


def redeem(application, certificate, key, *, signed=None, challenge=None, now=None, **options):
    challenge = challenge or ca_challenge_issue(
        purpose=CAChallenge.Purpose.REGISTRATION, application=application
    )
    return ca_challenge_redeem(
        nonce=challenge.nonce,
        purpose=options.pop("purpose", CAChallenge.Purpose.REGISTRATION),
        application=options.pop("as_application", application),
        certificate=certificate,
        signature=ca_testing.sign_challenge(key, signed or challenge.nonce),
        expected_uscc=options.pop("expected_uscc", application.employer.uscc),
        now=now,
    )


def verify(certificate, key, uscc, *, now=NOW, challenge="challenge-1", signature=None):
    return verify_unit_certificate(
        certificate=certificate,
        signature=signature or ca_testing.sign_challenge(key, challenge),
        challenge=challenge,
        expected_uscc=uscc,
        now=now,
    )


def assert_refused(excinfo, code, message):
    assert excinfo.value.code == code
    assert str(excinfo.value.message) == message
    assert isinstance(excinfo.value, ValidationError)


# Accepted certificates


def test_good_rsa_certificate_passes(trusted, application):
    key, certificate = issue(trusted, application.employer.uscc)

    check = redeem(application, certificate, key)

    assert check.uscc == application.employer.uscc
    assert check.algorithm == "RSA-SHA256"
    assert check.issuer == trusted.certificate.subject.rfc4514_string()
    assert application.ca_challenges.get().used_at is not None
    event = AuditEvent.objects.get(action="ca.verify")
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert event.employer_id == application.employer_id
    assert event.details["fingerprint"] == check.fingerprint
    assert event.details["serial"] == check.serial


def test_good_ecdsa_certificate_passes(ecdsa_ca, application):
    ca_root_trust(pem=ca_testing.certificate_pem(ecdsa_ca.certificate), name="ECC")
    key, certificate = issue(ecdsa_ca, application.employer.uscc, algorithm="ecdsa")

    check = redeem(application, certificate, key)

    assert check.algorithm == "ECDSA-SHA256"
    assert check.as_evidence()["fingerprint"] == check.fingerprint


def test_ecdsa_signature_as_raw_r_and_s_is_accepted(trusted):
    key, certificate = issue(trusted, "91350100M000100Y43", algorithm="ecdsa")
    der = base64.b64decode(ca_testing.sign_challenge(key, "nonce"))
    r, s = decode_dss_signature(der)

    check = verify(
        certificate, key, "91350100M000100Y43", challenge="nonce",
        signature=r.to_bytes(32, "big") + s.to_bytes(32, "big"),
    )  # fmt: skip

    assert check.algorithm == "ECDSA-SHA256"


def test_raw_signature_bytes_and_der_certificate_are_accepted(trusted):
    key, certificate = issue(trusted, "91350100M000100Y43")
    der = x509.load_pem_x509_certificate(certificate).public_bytes(serialization.Encoding.DER)
    raw = base64.b64decode(ca_testing.sign_challenge(key, "nonce"))

    check = verify(der, key, "91350100M000100Y43", challenge="nonce", signature=raw)

    assert check.uscc == "91350100M000100Y43"


def test_certificate_under_an_intermediate_ca_passes_with_the_bundle(trusted):
    intermediate_key = ca_testing.generate_key("rsa")
    intermediate = ca_testing.CertificateAuthority(
        key=intermediate_key,
        certificate=ca_testing.issue_certificate(
            issuer=trusted,
            key=intermediate_key,
            subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "测试二级CA")]),
            not_before=NOW - DAY,
            not_after=NOW + 365 * DAY,
            is_ca=True,
        ),
    )
    key, certificate = issue(intermediate, "91350100M000100Y43")

    with pytest.raises(CertificateRejected) as excinfo:
        verify(certificate, key, "91350100M000100Y43")
    assert excinfo.value.code == "untrusted"
    bundle = certificate + ca_testing.certificate_pem(intermediate.certificate)
    assert verify(bundle, key, "91350100M000100Y43").crl_status == "missing"


# Refused certificates, in the order they are checked


def test_garbage_bytes_are_not_a_certificate(trusted):
    with pytest.raises(CertificateRejected) as excinfo:
        verify(b"\x00\x01 not a certificate", None, "91350100M000100Y43", signature=b"x")
    assert_refused(excinfo, "not_certificate", "上传的文件不是有效的数字证书")


def test_sm2_certificate_made_by_plain_openssl_verifies(trusted):
    # Signed by `openssl req -x509` itself (not the test CA code), with the GM/T 0009 signer ID.
    ca_root_trust(pem=SM2_CERTIFICATE, name="SM2")
    check = check_unit_certificate(
        certificate=SM2_CERTIFICATE, expected_uscc="91110105MA01A1B20X", now=NOW
    )
    assert (check.algorithm, check.uscc) == ("SM2-SM3", "91110105MA01A1B20X")

    with pytest.raises(CertificateRejected) as excinfo:
        verify(SM2_CERTIFICATE, None, "91110105MA01A1B20X", signature=b"x")
    assert excinfo.value.code == "bad_signature"


def test_expired_certificate_is_refused_with_renewal_message(trusted):
    key, certificate = issue(
        trusted, "91350100M000100Y43", not_before=NOW - 400 * DAY, not_after=NOW - DAY
    )
    with pytest.raises(CertificateRejected) as excinfo:
        verify(certificate, key, "91350100M000100Y43")
    assert_refused(excinfo, "expired", "CA证书已过期,请联系CA机构续期")


def test_not_yet_valid_certificate_is_refused(trusted):
    key, certificate = issue(
        trusted, "91350100M000100Y43", not_before=NOW + DAY, not_after=NOW + 400 * DAY
    )
    with pytest.raises(CertificateRejected) as excinfo:
        verify(certificate, key, "91350100M000100Y43")
    assert excinfo.value.code == "not_yet_valid"


def test_self_signed_certificate_is_untrusted(trusted):
    key, certificate = issue(None, "91350100M000100Y43")
    with pytest.raises(CertificateRejected) as excinfo:
        verify(certificate, key, "91350100M000100Y43")
    assert_refused(excinfo, "untrusted", "证书不是由受信任的CA机构签发")


def test_certificate_from_a_deactivated_root_is_untrusted(trusted):
    key, certificate = issue(trusted, "91350100M000100Y43")
    TrustedCARoot.objects.update(is_active=False)
    with pytest.raises(CertificateRejected) as excinfo:
        verify(certificate, key, "91350100M000100Y43")
    assert excinfo.value.code == "untrusted"


def test_revoked_certificate_is_refused_once_the_crl_is_loaded(trusted):
    key, certificate = issue(trusted, "91350100M000100Y43")
    serial = x509.load_pem_x509_certificate(certificate).serial_number
    assert verify(certificate, key, "91350100M000100Y43").crl_status == "missing"

    crl = ca_testing.create_crl(trusted, revoked_serials=[serial], now=NOW - DAY)
    ca_crl_load(data=ca_testing.crl_pem(crl))

    with pytest.raises(CertificateRejected) as excinfo:
        verify(certificate, key, "91350100M000100Y43")
    assert_refused(excinfo, "revoked", "该CA证书已被吊销,请联系CA机构重新办理")


def test_crl_past_its_next_update_is_still_used_with_a_warning(trusted, caplog):
    key, certificate = issue(trusted, "91350100M000100Y43")
    crl = ca_testing.create_crl(
        trusted, revoked_serials=[], now=NOW - 10 * DAY, next_update=NOW - 3 * DAY
    )
    ca_crl_load(data=crl.public_bytes(serialization.Encoding.DER))

    with caplog.at_level(logging.WARNING, logger="employers.verification.ca"):
        check = verify(certificate, key, "91350100M000100Y43")

    assert check.crl_status == "stale"
    assert "past its next update" in caplog.text


def test_certificate_of_another_unit_is_refused(trusted, application):
    key, certificate = issue(trusted, "91350100M000100Y43")
    with pytest.raises(CertificateRejected) as excinfo:
        redeem(application, certificate, key)
    assert_refused(excinfo, "wrong_unit", "证书不属于本单位:证书中的信用代码与本单位不一致")


def test_signature_over_a_different_challenge_is_refused(trusted, application):
    key, certificate = issue(trusted, application.employer.uscc)
    with pytest.raises(CertificateRejected) as excinfo:
        redeem(application, certificate, key, signed="an-older-challenge")
    assert_refused(excinfo, "bad_signature", "签名验证失败:签名与本次挑战值不符,请重新签名")


def test_failed_attempt_spends_the_challenge_and_is_audited(trusted, application):
    key, certificate = issue(trusted, application.employer.uscc)
    challenge = ca_challenge_issue(
        purpose=CAChallenge.Purpose.REGISTRATION, application=application
    )
    with pytest.raises(CertificateRejected):
        redeem(application, certificate, key, challenge=challenge, signed="wrong")

    challenge.refresh_from_db()
    assert challenge.used_at is not None
    event = AuditEvent.objects.get(action="ca.verify")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.details["reason"] == "bad_signature"
    assert event.details["serial"] == format(
        x509.load_pem_x509_certificate(certificate).serial_number, "x"
    )
    with pytest.raises(CertificateRejected) as excinfo:
        redeem(application, certificate, key, challenge=challenge)
    assert excinfo.value.code == "challenge_used"


# Challenges


def test_challenge_is_single_use(trusted, application):
    key, certificate = issue(trusted, application.employer.uscc)
    challenge = ca_challenge_issue(
        purpose=CAChallenge.Purpose.REGISTRATION, application=application
    )
    redeem(application, certificate, key, challenge=challenge)

    with pytest.raises(CertificateRejected) as excinfo:
        redeem(application, certificate, key, challenge=challenge)
    assert_refused(excinfo, "challenge_used", "挑战值已失效,请重新获取")


def test_expired_challenge_is_refused(trusted, application):
    key, certificate = issue(trusted, application.employer.uscc)
    later = timezone.now() + CHALLENGE_TTL + datetime.timedelta(minutes=1)
    with pytest.raises(CertificateRejected) as excinfo:
        redeem(application, certificate, key, now=later)
    assert_refused(excinfo, "challenge_expired", "挑战值已失效,请重新获取")
    assert application.ca_challenges.get().used_at == later


def test_challenge_of_another_application_is_refused(trusted, application):
    other_employer = create_employer(status=Employer.Status.UNVERIFIED)
    other = RegistrationApplication.objects.create(
        reference="REG-OTHER", account=other_employer.account, employer=other_employer
    )
    key, certificate = issue(trusted, application.employer.uscc)
    challenge = ca_challenge_issue(purpose=CAChallenge.Purpose.REGISTRATION, application=other)

    with pytest.raises(CertificateRejected) as excinfo:
        redeem(application, certificate, key, challenge=challenge)
    assert_refused(excinfo, "challenge_mismatch", "挑战值已失效,请重新获取")


def test_unknown_challenge_is_refused_and_audited(trusted, application):
    with pytest.raises(CertificateRejected) as excinfo:
        ca_challenge_redeem(
            nonce="made-up",
            purpose=CAChallenge.Purpose.REGISTRATION,
            application=application,
            certificate=b"",
            signature=b"",
            expected_uscc=application.employer.uscc,
        )
    assert excinfo.value.code == "challenge_unknown"
    assert AuditEvent.objects.get(action="ca.verify").details["reason"] == "challenge_unknown"


def test_challenge_expires_after_the_ttl():
    challenge = ca_challenge_issue(purpose=CAChallenge.Purpose.LOGIN)
    assert len(challenge.nonce) >= 43
    assert challenge.expires_at - challenge.created_at == pytest.approx(
        CHALLENGE_TTL, abs=datetime.timedelta(seconds=5)
    )


# Where certificates carry the unit's identifier


def der_utf8(value: str) -> bytes:
    raw = value.encode()
    return bytes([0x0C, len(raw)]) + raw


def name(*attributes) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


USCC = "91350100M000100Y43"


@pytest.mark.parametrize(
    ("subject", "extensions"),
    [
        pytest.param(name((NameOID.COMMON_NAME, f"{USCC}@北京演示")), [], id="cn-embedded"),
        pytest.param(name((NameOID.COMMON_NAME, USCC.lower())), [], id="cn-lower-case"),
        pytest.param(name((NameOID.ORGANIZATION_NAME, USCC)), [], id="o"),
        pytest.param(name((NameOID.ORGANIZATIONAL_UNIT_NAME, f"USCC:{USCC}")), [], id="ou"),
        pytest.param(name((NameOID.SERIAL_NUMBER, USCC)), [], id="serial-number"),
        pytest.param(
            name((NameOID.COMMON_NAME, "北京演示")),
            [x509.UnrecognizedExtension(OID_USCC, der_utf8(USCC))],
            id="gmt-extension-utf8",
        ),
        pytest.param(
            name((NameOID.COMMON_NAME, "北京演示")),
            [x509.UnrecognizedExtension(OID_USCC, USCC.encode())],
            id="gmt-extension-raw-bytes",
        ),
        pytest.param(
            name((NameOID.COMMON_NAME, "北京演示")),
            [x509.UnrecognizedExtension(OID_USCC, bytes([0x04, 20]) + der_utf8(USCC))],
            id="gmt-extension-octet-string",
        ),
    ],
)
def test_unit_identifier_is_found(rsa_ca, subject, extensions):
    _, certificate = ca_testing.issue_unit_certificate(
        rsa_ca, uscc=USCC, now=NOW, subject=subject, extensions=extensions
    )
    assert USCC in extract_unit_identifiers(certificate)


def test_uscc_inside_a_longer_code_is_not_taken():
    assert USCC not in ca_testing_identifiers(name((NameOID.COMMON_NAME, f"X{USCC}")))


def ca_testing_identifiers(subject):
    key = ca_testing.generate_key("ecdsa")
    certificate = ca_testing.issue_certificate(
        issuer=None, key=key, subject=subject, not_before=NOW - DAY, not_after=NOW + DAY
    )
    return extract_unit_identifiers(certificate)


def test_organisation_code_extension_matches_the_uscc(trusted):
    # GB 32100: characters 9–17 of the USCC are the former organisation code.
    key, certificate = issue(
        trusted,
        USCC,
        subject=name((NameOID.COMMON_NAME, "北京演示")),
        extensions=[x509.UnrecognizedExtension(OID_ORGANISATION_CODE, der_utf8("M000100Y-4"))],
    )
    check = verify(certificate, key, USCC)
    assert check.uscc == "M000100Y4"


# Trusted roots and CRLs


def test_trusting_a_root_twice_changes_nothing(rsa_ca):
    pem = ca_testing.certificate_pem(rsa_ca.certificate)
    first = ca_root_trust(pem=pem, name="测试CA")
    second = ca_root_trust(pem=pem, name="另一个名字")

    assert first.pk == second.pk
    assert TrustedCARoot.objects.get().name == "测试CA"
    assert AuditEvent.objects.filter(action="ca.root_trusted").count() == 1


def test_trusting_a_leaf_certificate_is_refused(rsa_ca):
    _, certificate = issue(rsa_ca, USCC)
    with pytest.raises(ValidationError) as excinfo:
        ca_root_trust(pem=certificate, name="不是CA")
    assert excinfo.value.code == "not_ca"
    assert not TrustedCARoot.objects.exists()


def test_crl_signed_by_an_untrusted_key_is_refused(trusted):
    forged = ca_testing.create_crl(
        trusted, revoked_serials=[1], now=NOW, signing_key=ca_testing.generate_key("ecdsa")
    )
    with pytest.raises(ValidationError) as excinfo:
        ca_crl_load(data=ca_testing.crl_pem(forged))
    assert excinfo.value.code == "crl_untrusted"
    assert not CertificateRevocationList.objects.exists()


def test_crl_of_an_untrusted_ca_is_refused(rsa_ca):
    crl = ca_testing.create_crl(rsa_ca, revoked_serials=[1], now=NOW)
    with pytest.raises(ValidationError) as excinfo:
        ca_crl_load(data=ca_testing.crl_pem(crl))
    assert excinfo.value.code == "crl_untrusted"


def test_older_crl_does_not_replace_a_newer_one(trusted):
    newer = ca_crl_load(
        data=ca_testing.crl_pem(ca_testing.create_crl(trusted, revoked_serials=[1, 2], now=NOW))
    )
    older = ca_testing.create_crl(trusted, revoked_serials=[], now=NOW - DAY)

    stored = ca_crl_load(data=ca_testing.crl_pem(older))

    assert stored.pk == newer.pk
    assert CertificateRevocationList.objects.get().revoked_count == 2


# Clerk screens


def test_clerk_sees_roots_and_crls_read_only(admin_client, trusted):
    ca_crl_load(
        data=ca_testing.crl_pem(ca_testing.create_crl(trusted, revoked_serials=[7], now=NOW))
    )
    root = TrustedCARoot.objects.get()

    body = admin_client.get("/admin/employers/trustedcaroot/").content.decode()
    assert root.fingerprint_sha256 in body
    crl_page = admin_client.get("/admin/employers/certificaterevocationlist/")
    assert crl_page.status_code == 200
    assert admin_client.get("/admin/employers/trustedcaroot/add/").status_code == 403


def test_clerk_deactivates_a_root_through_the_service(admin_client, trusted):
    root = TrustedCARoot.objects.get()

    admin_client.post(
        "/admin/employers/trustedcaroot/",
        {"action": "deactivate", "_selected_action": [root.pk]},
    )

    root.refresh_from_db()
    assert not root.is_active
    assert AuditEvent.objects.filter(action="ca.root_distrusted").count() == 1


def test_refusal_can_be_copied_like_any_validation_error():
    # Forms and caches deep-copy and pickle errors; the (code, message) signature must survive.
    refusal = CertificateRejected("expired", "CA证书已过期,请联系CA机构续期", serial="ab")
    copied = copy.deepcopy(refusal)
    assert (copied.code, copied.message, copied.serial) == ("expired", refusal.message, "ab")
