"""SM2 (国密) certificates: SM2-with-SM3 chains, dates, SM2-signed CRLs, the unit's USCC and the
SM2 signature over the challenge (SM3, signer ID 1234567812345678, GM/T 0009)."""

import base64
import datetime

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
from employers.verification import sm2, testing_sm2
from employers.verification import testing as ca_testing
from employers.verification.ca import CertificateRejected, verify_unit_certificate
from employers.verification.ca_services import (
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
USCC = "91350100M000100Y43"


@pytest.fixture(scope="module")
def sm2_ca():
    return ca_testing.create_test_ca(now=NOW, algorithm="sm2", name="SM2测试CA")


@pytest.fixture
def trusted(sm2_ca):
    ca_root_trust(pem=ca_testing.certificate_pem(sm2_ca.certificate), name="SM2测试CA")
    return sm2_ca


@pytest.fixture(scope="module")
def unit(sm2_ca):
    """(key PEM, certificate PEM) of a good SM2 unit certificate."""
    return issue(sm2_ca, USCC)


def issue(ca, uscc, **options):
    key, certificate = ca_testing.issue_unit_certificate(
        ca, uscc=uscc, now=NOW, algorithm="sm2", **options
    )
    return ca_testing.key_pem(key), ca_testing.certificate_pem(certificate)


def intermediate_of(ca, name="SM2二级CA", **options):
    key = ca_testing.generate_key("sm2")
    certificate = ca_testing.issue_certificate(
        issuer=ca,
        key=key,
        subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]),
        not_before=options.get("not_before", NOW - DAY),
        not_after=options.get("not_after", NOW + 365 * DAY),
        is_ca=options.get("is_ca", True),
    )
    return ca_testing.CertificateAuthority(key=key, certificate=certificate)


def verify(certificate, key, uscc=USCC, *, now=NOW, challenge="挑战-sm2", signature=None):
    return verify_unit_certificate(
        certificate=certificate,
        signature=signature or ca_testing.sign_challenge(key, challenge),
        challenge=challenge,
        expected_uscc=uscc,
        now=now,
    )


def refusal(certificate, key, uscc=USCC, **options) -> str:
    with pytest.raises(CertificateRejected) as excinfo:
        verify(certificate, key, uscc, **options)
    assert isinstance(excinfo.value, ValidationError)
    return excinfo.value.code


# Chains


def test_sm2_chain_to_a_trusted_sm2_root_passes_through_the_challenge(trusted, unit):
    employer = create_employer(status=Employer.Status.UNVERIFIED, uscc=USCC)
    application = RegistrationApplication.objects.create(
        reference="REG-SM2", account=employer.account, employer=employer
    )
    challenge = ca_challenge_issue(
        purpose=CAChallenge.Purpose.REGISTRATION, application=application
    )
    key, certificate = unit

    check = ca_challenge_redeem(
        nonce=challenge.nonce,
        purpose=CAChallenge.Purpose.REGISTRATION,
        application=application,
        certificate=certificate,
        signature=ca_testing.sign_challenge(key, challenge.nonce),
        expected_uscc=USCC,
    )

    assert (check.algorithm, check.uscc, check.crl_status) == ("SM2-SM3", USCC, "missing")
    assert check.issuer == trusted.certificate.subject.rfc4514_string()
    event = AuditEvent.objects.get(action="ca.verify")
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert event.details["algorithm"] == "SM2-SM3"


def test_sm2_chain_through_an_intermediate_ca_passes_with_the_bundle(trusted):
    # openssl 3.0's own `verify` checks an intermediate's signature with an empty signer ID and
    # refuses this chain; the portal checks every link with the default ID.
    intermediate = intermediate_of(trusted)
    key, certificate = issue(intermediate, USCC)

    assert refusal(certificate, key) == "untrusted"
    bundle = certificate + ca_testing.certificate_pem(intermediate.certificate)
    assert verify(bundle, key).algorithm == "SM2-SM3"


def test_intermediate_that_is_not_a_ca_is_untrusted(trusted):
    not_a_ca = intermediate_of(trusted, is_ca=False)
    key, certificate = issue(not_a_ca, USCC)
    bundle = certificate + ca_testing.certificate_pem(not_a_ca.certificate)
    assert refusal(bundle, key) == "untrusted"


def test_certificate_under_another_sm2_root_is_untrusted(trusted):
    other = ca_testing.create_test_ca(now=NOW, algorithm="sm2", name="另一个SM2 CA")
    key, certificate = issue(other, USCC)
    assert refusal(certificate, key) == "untrusted"


def test_look_alike_root_with_the_trusted_name_but_another_key_is_untrusted(trusted):
    impostor_key = ca_testing.generate_key("sm2")
    impostor = ca_testing.CertificateAuthority(
        key=impostor_key,
        certificate=ca_testing.issue_certificate(
            issuer=None,
            key=impostor_key,
            subject=trusted.certificate.subject,
            not_before=NOW - DAY,
            not_after=NOW + 365 * DAY,
            is_ca=True,
        ),
    )
    key, certificate = issue(impostor, USCC)
    assert refusal(certificate, key) == "untrusted"


def test_sm2_certificate_is_untrusted_when_only_rsa_roots_are_trusted(sm2_ca):
    rsa_ca = ca_testing.create_test_ca(now=NOW, algorithm="rsa")
    ca_root_trust(pem=ca_testing.certificate_pem(rsa_ca.certificate), name="RSA")
    key, certificate = issue(sm2_ca, USCC)
    assert refusal(certificate, key) == "untrusted"


def test_rsa_and_ecdsa_certificates_still_pass_beside_an_sm2_root(trusted):
    for algorithm in ("rsa", "ecdsa"):
        ca = ca_testing.create_test_ca(now=NOW, algorithm=algorithm, name=f"{algorithm} CA")
        ca_root_trust(pem=ca_testing.certificate_pem(ca.certificate), name=algorithm)
        key, certificate = ca_testing.issue_unit_certificate(
            ca, uscc=USCC, now=NOW, algorithm=algorithm
        )
        check = verify(ca_testing.certificate_pem(certificate), ca_testing.key_pem(key))
        assert check.algorithm == f"{algorithm.upper()}-SHA256"


# Dates


def test_expired_sm2_certificate_is_refused(trusted):
    key, certificate = issue(trusted, USCC, not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    assert refusal(certificate, key) == "expired"


def test_not_yet_valid_sm2_certificate_is_refused(trusted):
    key, certificate = issue(trusted, USCC, not_before=NOW + DAY, not_after=NOW + 400 * DAY)
    assert refusal(certificate, key) == "not_yet_valid"


def test_expired_intermediate_is_untrusted(trusted):
    intermediate = intermediate_of(trusted, not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    key, certificate = issue(intermediate, USCC)
    bundle = certificate + ca_testing.certificate_pem(intermediate.certificate)
    assert refusal(bundle, key) == "untrusted"


# CRLs signed with SM2


def test_revoked_via_an_sm2_signed_crl(trusted, unit):
    key, certificate = unit
    serial = x509.load_pem_x509_certificate(certificate).serial_number
    crl = ca_testing.create_crl(trusted, revoked_serials=[serial, 12345], now=NOW - DAY)
    assert crl.signature_algorithm_oid.dotted_string == sm2.SM2_WITH_SM3

    stored = ca_crl_load(data=ca_testing.crl_pem(crl))

    assert stored.revoked_count == 2
    assert refusal(certificate, key) == "revoked"
    other_key, other = issue(trusted, USCC)
    assert verify(other, other_key).crl_status == "current"


def test_crl_signed_by_another_sm2_key_is_rejected(trusted):
    forged = ca_testing.create_crl(
        trusted, revoked_serials=[1], now=NOW, signing_key=ca_testing.generate_key("sm2")
    )
    assert forged.issuer == trusted.certificate.subject
    with pytest.raises(ValidationError) as excinfo:
        ca_crl_load(data=ca_testing.crl_pem(forged))
    assert excinfo.value.code == "crl_untrusted"
    assert not CertificateRevocationList.objects.exists()


def test_crl_with_a_tampered_signature_is_rejected(trusted):
    crl = ca_testing.create_crl(trusted, revoked_serials=[1], now=NOW)
    der = bytearray(crl.public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # inside the signature's s value
    with pytest.raises(ValidationError) as excinfo:
        ca_crl_load(data=bytes(der))
    assert excinfo.value.code == "crl_untrusted"


# The holder and the signature over the challenge


def test_sm2_certificate_of_another_unit_is_refused(trusted, unit):
    key, certificate = unit
    assert refusal(certificate, key, "91110108MA01C3D41X") == "wrong_unit"


def test_sm2_signature_over_another_challenge_is_refused(trusted, unit):
    key, certificate = unit
    signature = ca_testing.sign_challenge(key, "an-older-challenge")
    assert refusal(certificate, key, signature=signature) == "bad_signature"
    assert refusal(certificate, key, signature="bm90IGEgc2lnbmF0dXJl") == "bad_signature"


def test_sm2_signature_of_another_key_is_refused(trusted, unit):
    _, certificate = unit
    other_key, _ = issue(trusted, USCC)
    assert refusal(certificate, other_key) == "bad_signature"


def test_sm2_signature_with_a_different_user_id_is_refused(trusted, unit):
    key, certificate = unit
    challenge = "挑战-sm2"
    signature = testing_sm2.sign(key, challenge.encode(), user_id="ALICE123@YAHOO.COM")
    encoded = base64.b64encode(signature).decode()
    assert refusal(certificate, key, challenge=challenge, signature=encoded) == "bad_signature"
    default = testing_sm2.sign(key, challenge.encode(), user_id=sm2.DEFAULT_USER_ID)
    check = verify(certificate, key, challenge=challenge, signature=base64.b64encode(default))
    assert check.algorithm == "SM2-SM3"


def test_sm2_signature_as_raw_r_and_s_is_accepted(trusted, unit):
    key, certificate = unit
    r, s = decode_dss_signature(testing_sm2.sign(key, b"nonce"))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert verify(certificate, key, challenge="nonce", signature=raw).uscc == USCC


# Roots


def test_sm2_root_is_stored_like_any_root(sm2_ca):
    root = ca_root_trust(pem=ca_testing.certificate_pem(sm2_ca.certificate), name="SM2根")
    assert root.subject == sm2_ca.certificate.subject.rfc4514_string()
    assert TrustedCARoot.objects.get().is_active


def test_openssl_missing_is_a_clear_refusal(trusted, unit, monkeypatch):
    key, certificate = unit
    signature = ca_testing.sign_challenge(key, "挑战-sm2")
    monkeypatch.setattr(sm2.shutil, "which", lambda name: None)
    assert refusal(certificate, key, signature=signature) == "sm2_unavailable"


def test_a_bundle_of_look_alike_intermediates_is_cut_short(trusted, monkeypatch):
    intermediate = intermediate_of(trusted)
    key, certificate = issue(intermediate, USCC)
    look_alikes = [intermediate_of(trusted).certificate for _ in range(3)]
    calls = []
    real_verify = sm2.verify
    monkeypatch.setattr(sm2, "verify", lambda *a, **k: calls.append(1) or real_verify(*a, **k))
    monkeypatch.setattr(sm2, "MAX_SIGNATURE_CHECKS", 2)
    bundle = certificate + b"".join(map(ca_testing.certificate_pem, look_alikes))

    assert refusal(bundle, key) == "untrusted"
    assert len(calls) == 2
