import io
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from django.core.management import CommandError, call_command
from django.utils import timezone

from employers.models import (
    CAChallenge,
    CertificateRevocationList,
    Employer,
    RegistrationApplication,
    TrustedCARoot,
)
from employers.verification import testing as ca_testing
from employers.verification.ca import CertificateRejected, verify_unit_certificate
from employers.verification.ca_services import ca_challenge_issue, ca_challenge_redeem
from tests.factories import create_employer

pytestmark = pytest.mark.django_db

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "usbkey_sign.py"


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def application():
    employer = create_employer(status=Employer.Status.UNVERIFIED)
    return RegistrationApplication.objects.create(
        reference=f"REG{employer.pk:08d}", account=employer.account, employer=employer
    )


def redeem_with_files(application, directory: Path, stem: str):
    challenge = ca_challenge_issue(
        purpose=CAChallenge.Purpose.REGISTRATION, application=application
    )
    # A nonce may start with "-", so it is passed as --challenge=NONCE.
    key = directory / f"{stem}.key.pem"
    signature = run("ca_sign_challenge", "--key", str(key), f"--challenge={challenge.nonce}")
    return ca_challenge_redeem(
        nonce=challenge.nonce,
        purpose=CAChallenge.Purpose.REGISTRATION,
        application=application,
        certificate=(directory / f"{stem}.pem").read_bytes(),
        signature=signature.strip(),
        expected_uscc=application.employer.uscc,
    )


@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa", "sm2"])
def test_issued_test_certificates_verify_end_to_end(tmp_path, application, algorithm):
    uscc = application.employer.uscc
    output = run("ca_test_issue", "--out", str(tmp_path), "--uscc", uscc, "--algorithm", algorithm)
    assert "ca_trust_root" in output and "ca_load_crl" in output
    assert str(tmp_path / f"{uscc}-revoked.pem") in output

    run("ca_trust_root", str(tmp_path / ca_testing.ROOT_FILE), "--name", "测试CA")
    run("ca_load_crl", str(tmp_path / ca_testing.CRL_FILE))

    check = redeem_with_files(application, tmp_path, uscc)
    assert check.uscc == uscc
    assert check.crl_status == "current"
    refusals = {}
    for variant in ca_testing.BAD_VARIANTS:
        with pytest.raises(CertificateRejected) as excinfo:
            redeem_with_files(application, tmp_path, f"{uscc}-{variant}")
        refusals[variant] = excinfo.value.code
    assert refusals == {
        "expired": "expired",
        "revoked": "revoked",
        "selfsigned": "untrusted",
        "notyetvalid": "not_yet_valid",
    }


def test_rerunning_ca_test_issue_keeps_the_ca_and_the_revocations(tmp_path):
    run("ca_test_issue", "--out", str(tmp_path), "--uscc", "91350100M000100Y43")
    root = (tmp_path / ca_testing.ROOT_FILE).read_bytes()
    first = x509.load_pem_x509_certificate(
        (tmp_path / "91350100M000100Y43-revoked.pem").read_bytes()
    )

    run("ca_test_issue", "--out", str(tmp_path), "--uscc", "91110108MA01C3D41X")

    assert (tmp_path / ca_testing.ROOT_FILE).read_bytes() == root
    crl = x509.load_pem_x509_crl((tmp_path / ca_testing.CRL_FILE).read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(first.serial_number) is not None
    assert len(crl) == 2


def test_ca_trust_root_refuses_a_leaf_certificate(tmp_path):
    run("ca_test_issue", "--out", str(tmp_path), "--uscc", "91350100M000100Y43")
    with pytest.raises(CommandError, match="不是CA证书"):
        run("ca_trust_root", str(tmp_path / "91350100M000100Y43.pem"), "--name", "叶子")
    assert not TrustedCARoot.objects.exists()


def test_ca_load_crl_refuses_a_crl_of_an_untrusted_ca(tmp_path):
    run("ca_test_issue", "--out", str(tmp_path), "--uscc", "91350100M000100Y43")
    with pytest.raises(CommandError, match="CRL不是由受信任的CA根证书签发"):
        run("ca_load_crl", str(tmp_path / ca_testing.CRL_FILE))
    assert not CertificateRevocationList.objects.exists()


def test_ca_load_crl_says_when_a_newer_crl_is_already_loaded(tmp_path):
    run("ca_test_issue", "--out", str(tmp_path / "first"), "--uscc", "91350100M000100Y43")
    older = (tmp_path / "first" / ca_testing.CRL_FILE).read_bytes()
    run("ca_test_issue", "--out", str(tmp_path / "first"), "--uscc", "91110108MA01C3D41X")
    run("ca_trust_root", str(tmp_path / "first" / ca_testing.ROOT_FILE), "--name", "测试CA")
    run("ca_load_crl", str(tmp_path / "first" / ca_testing.CRL_FILE))
    (tmp_path / "older.crl.pem").write_bytes(older)

    output = run("ca_load_crl", str(tmp_path / "older.crl.pem"))

    assert "本文件未导入" in output
    assert CertificateRevocationList.objects.get().revoked_count == 2


def test_usbkey_script_signs_like_the_management_command(tmp_path):
    run("ca_test_issue", "--out", str(tmp_path), "--uscc", "91350100M000100Y43")
    key = tmp_path / "91350100M000100Y43.key.pem"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--key", str(key), "--challenge", "挑战-123",
         "--out", str(tmp_path / "sig.b64")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip

    # RSA PKCS#1 v1.5 is deterministic: the same key and challenge give the same signature.
    expected = ca_testing.sign_challenge(key.read_bytes(), "挑战-123")
    assert result.stdout.strip() == expected
    assert (tmp_path / "sig.b64").read_text().strip() == expected
    assert (
        run("ca_sign_challenge", "--key", str(key), "--challenge", "挑战-123").strip() == expected
    )


def test_usbkey_script_and_command_sign_with_an_sm2_key(tmp_path):
    uscc = "91350100M000100Y43"
    run("ca_test_issue", "--out", str(tmp_path), "--uscc", uscc, "--algorithm", "sm2")
    key, certificate = tmp_path / f"{uscc}.key.pem", (tmp_path / f"{uscc}.pem").read_bytes()
    root = x509.load_pem_x509_certificate((tmp_path / ca_testing.ROOT_FILE).read_bytes())
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--key", str(key), "--challenge=-挑战-sm2"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    command = run("ca_sign_challenge", "--key", str(key), "--challenge=-挑战-sm2")

    # SM2 signatures are randomised: both must verify, with the portal's own check.
    for signature in (result.stdout.strip(), command.strip()):
        check = verify_unit_certificate(
            certificate=certificate, signature=signature, challenge="-挑战-sm2",
            expected_uscc=uscc, now=timezone.now(), roots=[root],
        )  # fmt: skip
        assert check.algorithm == "SM2-SM3"


def test_ca_test_issue_will_not_mix_algorithms_in_one_directory(tmp_path):
    run("ca_test_issue", "--out", str(tmp_path), "--uscc", "91350100M000100Y43")
    with pytest.raises(CommandError, match="已有RSA测试CA"):
        run("ca_test_issue", "--out", str(tmp_path), "--algorithm", "sm2")
