"""The SM2 part of the test CA: keys, SM2-with-SM3 certificates and CRLs made by `openssl ca`.

`cryptography` cannot make SM2 keys or signatures, so Debian's openssl 3 does (fixed argument lists,
a timeout, a private temporary directory per call: employers.verification.sm2.run_openssl). Every
signature uses the GM/T 0009 default signer ID 1234567812345678, as Chinese CAs and USB-Keys do.
Used through employers.verification.testing; nothing here belongs in a production code path.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from employers.verification.sm2 import DEFAULT_USER_ID, OpenSSLUnavailable, run_openssl

SUBJECT_FIELDS = {
    NameOID.COUNTRY_NAME: "C",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.COMMON_NAME: "CN",
    NameOID.SERIAL_NUMBER: "serialNumber",
}
CA_CONFIG = """[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = .
serial = serial
crlnumber = crlnumber
default_md = sm3
policy = any_subject
unique_subject = no
email_in_dn = no
[any_subject]
commonName = optional
[ca_extensions]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[unit_extensions]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@dataclass(frozen=True)
class Sm2PrivateKey:
    """An SM2 private key as unencrypted PKCS#8 PEM (what `openssl genpkey` writes)."""

    pem: bytes


def _openssl(arguments, files: dict[str, bytes] | None = None) -> bytes:
    result = run_openssl(arguments, files or {})
    # `openssl ca` answers 0 even when it refuses to sign: no output is a failure too.
    if result.returncode != 0 or not result.stdout:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise OpenSSLUnavailable(f"openssl failed: {message[:500]}")
    return result.stdout


def generate_key() -> Sm2PrivateKey:
    pem = _openssl(lambda d: ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2"])
    return Sm2PrivateKey(pem=pem)


def is_sm2_key_pem(key_pem: bytes) -> bool:
    """Does the PEM hold an SM2 private key (which cryptography refuses to load)?"""
    text = _openssl(
        lambda d: ["pkey", "-in", d / "key.pem", "-noout", "-text"], {"key.pem": key_pem}
    )
    return b"ASN1 OID: SM2" in text


def sign(key_pem: bytes, data: bytes, *, user_id: str = DEFAULT_USER_ID) -> bytes:
    """SM2 signature (DER) over SM3(Z || data), Z from the key and `user_id`, as a USB-Key signs."""
    return _openssl(
        lambda d: ["dgst", "-sm3", "-sign", d / "key.pem", "-sigopt", f"distid:{user_id}",
                   d / "data.bin"],
        {"key.pem": key_pem, "data.bin": data},
    )  # fmt: skip


def _subject_argument(subject: x509.Name) -> str:
    parts = []
    for attribute in subject:
        field = SUBJECT_FIELDS.get(attribute.oid)
        if field is None:
            raise ValueError(f"subject attribute {attribute.oid.dotted_string} not supported here")
        value = str(attribute.value).replace("\\", "\\\\").replace("/", "\\/").replace("+", "\\+")
        parts.append(f"/{field}={value}")
    return "".join(parts)


def _extension_lines(extensions: Iterable[x509.ExtensionType]) -> str:
    lines = []
    for extension in extensions:
        if not isinstance(extension, x509.UnrecognizedExtension):
            raise ValueError(
                "only private (unrecognised) extensions can be added to SM2 test certs"
            )
        lines.append(f"{extension.oid.dotted_string} = DER:{extension.value.hex()}")
    return "".join(line + "\n" for line in lines)


def _hex(number: int) -> str:
    """An even number of hex digits, as openssl's index and serial files want."""
    digits = f"{number:X}"
    return digits if len(digits) % 2 == 0 else "0" + digits


def _time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y%m%d%H%M%SZ")


def issue_certificate(
    *,
    issuer,
    key: Sm2PrivateKey,
    subject: x509.Name,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
    extensions: Sequence[x509.ExtensionType] = (),
    is_ca: bool = False,
) -> x509.Certificate:
    """Sign an SM2-with-SM3 certificate for `key`; without an issuer it signs itself."""
    request = _openssl(
        lambda d: ["req", "-new", "-utf8", "-sm3", "-key", d / "key.pem",
                   "-sigopt", f"distid:{DEFAULT_USER_ID}", "-subj", _subject_argument(subject)],
        {"key.pem": key.pem},
    )  # fmt: skip
    section = "ca_extensions" if is_ca else "unit_extensions"
    config = CA_CONFIG.replace(f"[{section}]\n", f"[{section}]\n" + _extension_lines(extensions))
    files = {
        "ca.cnf": config.encode(),
        "index.txt": b"",
        "serial": f"{_hex(x509.random_serial_number())}\n".encode(),
        "request.pem": request,
    }
    if issuer is None:
        files["signer.key.pem"] = key.pem
        signer = ["-selfsign"]
    else:
        files["signer.key.pem"] = issuer.key.pem
        files["signer.pem"] = issuer.certificate.public_bytes(serialization.Encoding.PEM)
        signer = ["-cert", "signer.pem"]
    pem = _openssl(
        lambda d: ["ca", "-batch", "-config", "ca.cnf", "-utf8", "-notext", "-preserveDN",
                   "-keyfile", "signer.key.pem", *signer, "-in", "request.pem",
                   "-extensions", section, "-sigopt", f"distid:{DEFAULT_USER_ID}",
                   "-vfyopt", f"distid:{DEFAULT_USER_ID}",
                   "-startdate", _time(not_before), "-enddate", _time(not_after)],
        files,
    )  # fmt: skip
    return x509.load_pem_x509_certificate(pem)


def create_crl(
    *,
    issuer_certificate: x509.Certificate,
    key: Sm2PrivateKey,
    revoked_serials: Iterable[int],
    now: datetime.datetime,
    next_update: datetime.datetime,
) -> x509.CertificateRevocationList:
    """An SM2-signed CRL naming `issuer_certificate`'s subject, signed with `key`."""
    revoked_at = now.astimezone(datetime.UTC).strftime("%y%m%d%H%M%SZ")
    index = "".join(
        f"R\t491231235959Z\t{revoked_at}\t{_hex(serial)}\tunknown\t/CN=revoked\n"
        for serial in sorted(set(revoked_serials))
    )
    pem = _openssl(
        lambda d: ["ca", "-batch", "-config", "ca.cnf", "-gencrl", "-keyfile", "ca.key.pem",
                   "-cert", "ca.pem", "-sigopt", f"distid:{DEFAULT_USER_ID}",
                   "-crl_lastupdate", _time(now), "-crl_nextupdate", _time(next_update)],
        {
            "ca.cnf": CA_CONFIG.encode(),
            "index.txt": index.encode(),
            "crlnumber": f"{_hex(int(now.timestamp()))}\n".encode(),
            "ca.key.pem": key.pem,
            "ca.pem": issuer_certificate.public_bytes(serialization.Encoding.PEM),
        },
    )  # fmt: skip
    return x509.load_pem_x509_crl(pem)
