"""`manage.py ca_check_certificate`: one verdict line per certificate, RSA, ECDSA and SM2 alike."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from employers.verification import testing as ca_testing

pytestmark = pytest.mark.django_db

USCC = "91350100M000100Y43"
OTHER_USCC = "91110108MA01C3D41X"


@pytest.fixture(scope="module", params=["rsa", "ecdsa", "sm2"])
def issued(request, tmp_path_factory):
    """A test CA's files (ca_test_issue's set) for one algorithm, made once per module."""
    directory = tmp_path_factory.mktemp(request.param)
    ca_testing.write_test_set(directory, usccs=[USCC], now=timezone.now(), algorithm=request.param)
    return directory


@pytest.fixture
def trusted(issued):
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command("ca_trust_root", str(issued / ca_testing.ROOT_FILE), "--name", "测试CA", **quiet)
    call_command("ca_load_crl", str(issued / ca_testing.CRL_FILE), **quiet)
    return issued


def check(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("ca_check_certificate", *[str(arg) for arg in args], stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def assert_verdict(result, verdict: str, explanation: str = ""):
    code, output = result
    lines = output.splitlines()
    assert len(lines) == 1, output
    word, text = lines[0].split("\t")
    assert word == verdict
    assert explanation in text
    assert code == (0 if verdict == "valid" else 1)


def test_valid(trusted):
    assert_verdict(check(trusted / f"{USCC}.pem", "--uscc", USCC), "valid", USCC)
    assert_verdict(check(trusted / f"{USCC}.pem"), "valid", "未吊销")


def test_expired(trusted):
    assert_verdict(check(trusted / f"{USCC}-expired.pem"), "expired", "CA证书已过期")


def test_not_yet_valid(trusted):
    assert_verdict(check(trusted / f"{USCC}-notyetvalid.pem"), "not_yet_valid", "尚未生效")


def test_revoked(trusted):
    assert_verdict(check(trusted / f"{USCC}-revoked.pem"), "revoked", "已被吊销")


def test_untrusted(trusted):
    assert_verdict(check(trusted / f"{USCC}-selfsigned.pem"), "untrusted", "受信任")


def test_untrusted_when_no_root_is_loaded(issued):
    assert_verdict(check(issued / f"{USCC}.pem"), "untrusted")


def test_uscc_mismatch(trusted):
    assert_verdict(check(trusted / f"{USCC}.pem", "--uscc", OTHER_USCC), "uscc_mismatch")


def test_unreadable(trusted, tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    assert_verdict(check(garbage), "unreadable", "不是有效的数字证书")
    assert_verdict(check(tmp_path / "missing.pem"), "unreadable", "无法读取")


def test_at_a_date_outside_the_validity(trusted):
    today = timezone.localdate()
    good = trusted / f"{USCC}.pem"
    assert_verdict(check(good, "--at", today + datetime.timedelta(days=400)), "expired")
    assert_verdict(check(good, "--at", today - datetime.timedelta(days=3)), "not_yet_valid")
    later = trusted / f"{USCC}-notyetvalid.pem"
    assert_verdict(check(later, "--at", today + datetime.timedelta(days=40)), "valid")
