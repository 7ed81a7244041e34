"""A test CA: root, unit certificates (good and bad), a CRL, and the USB-Key's signing step.

Used by `manage.py ca_test_issue`, `manage.py ca_sign_challenge` and the test suite; nothing in
this module belongs in a production code path.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from employers.verification import sm2, testing_sm2
from employers.verification.ca import OID_USCC
from employers.verification.testing_sm2 import Sm2PrivateKey

ALGORITHMS = ("rsa", "ecdsa", "sm2")
DEFAULT_CA_NAME = "社保门户测试CA"
ROOT_FILE = "ca-root.pem"
ROOT_KEY_FILE = "ca-root.key.pem"
CRL_FILE = "ca.crl.pem"
# The bad certificates ca_test_issue writes for each unit, by file-name suffix.
BAD_VARIANTS = ("expired", "revoked", "selfsigned", "notyetvalid")


PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | Sm2PrivateKey


@dataclass(frozen=True)
class CertificateAuthority:
    key: PrivateKey
    certificate: x509.Certificate


def generate_key(algorithm: str = "rsa") -> PrivateKey:
    if algorithm == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "sm2":
        return testing_sm2.generate_key()
    raise ValueError(f"unknown algorithm {algorithm!r}; use one of {ALGORITHMS}")


def key_algorithm(key: PrivateKey) -> str:
    if isinstance(key, Sm2PrivateKey):
        return "sm2"
    return "rsa" if isinstance(key, rsa.RSAPrivateKey) else "ecdsa"


def load_private_key(pem: bytes) -> PrivateKey:
    """Load an unencrypted PEM key; SM2 keys (which cryptography refuses) stay PEM."""
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except UnsupportedAlgorithm:
        if testing_sm2.is_sm2_key_pem(pem):
            return Sm2PrivateKey(pem=pem)
        raise


def der_printable_string(value: str) -> bytes:
    """Encode an ASCII value as a DER PrintableString (short values only)."""
    raw = value.encode("ascii")
    if len(raw) > 127:
        raise ValueError("value too long for a short-form DER length")
    return bytes([0x13, len(raw)]) + raw


def uscc_extension(uscc: str) -> x509.UnrecognizedExtension:
    """The GM/T 0015 USCC extension (1.2.156.10260.4.4) holding `uscc`."""
    return x509.UnrecognizedExtension(OID_USCC, der_printable_string(uscc))


def unit_subject(uscc: str, name: str) -> x509.Name:
    """A subject in the shape Chinese CAs use for a unit: the USCC inside the CN."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{uscc}@{name}"),
        ]
    )


def issue_certificate(
    *,
    issuer: CertificateAuthority | None,
    key: PrivateKey,
    subject: x509.Name,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
    extensions: Iterable[x509.ExtensionType] = (),
    is_ca: bool = False,
) -> x509.Certificate:
    """Sign a certificate for `key`; without an issuer the certificate signs itself.

    An SM2 issuer (or an SM2 key signing itself) makes an SM2-with-SM3 certificate with openssl.
    """
    if isinstance(key if issuer is None else issuer.key, Sm2PrivateKey):
        if not isinstance(key, Sm2PrivateKey):
            raise ValueError("an SM2 test CA signs SM2 keys only")
        return testing_sm2.issue_certificate(
            issuer=issuer,
            key=key,
            subject=subject,
            not_before=not_before,
            not_after=not_after,
            extensions=list(extensions),
            is_ca=is_ca,
        )
    if isinstance(key, Sm2PrivateKey):
        raise ValueError("an SM2 key needs an SM2 issuer")
    issuer_name = subject if issuer is None else issuer.certificate.subject
    signing_key = key if issuer is None else issuer.key
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    aki = (
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key())
        if issuer is None
        else x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            issuer.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        )
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=not is_ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(aki, critical=False)
    )
    if not is_ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def create_test_ca(
    *, now: datetime.datetime, algorithm: str = "rsa", name: str = DEFAULT_CA_NAME
) -> CertificateAuthority:
    key = generate_key(algorithm)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "社保门户(测试)"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    certificate = issue_certificate(
        issuer=None,
        key=key,
        subject=subject,
        not_before=now - datetime.timedelta(days=1),
        not_after=now + datetime.timedelta(days=3650),
        is_ca=True,
    )
    return CertificateAuthority(key=key, certificate=certificate)


def issue_unit_certificate(
    ca: CertificateAuthority | None,
    *,
    uscc: str,
    now: datetime.datetime,
    name: str = "测试单位",
    algorithm: str = "rsa",
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    subject: x509.Name | None = None,
    extensions: Sequence[x509.ExtensionType] | None = None,
) -> tuple[PrivateKey, x509.Certificate]:
    """Return (key, certificate) for a unit; `ca=None` makes it self-signed."""
    key = generate_key(algorithm)
    certificate = issue_certificate(
        issuer=ca,
        key=key,
        subject=subject if subject is not None else unit_subject(uscc, name),
        not_before=not_before or now - datetime.timedelta(days=1),
        not_after=not_after or now + datetime.timedelta(days=365),
        extensions=[uscc_extension(uscc)] if extensions is None else extensions,
    )
    return key, certificate


def create_crl(
    ca: CertificateAuthority,
    *,
    revoked_serials: Iterable[int],
    now: datetime.datetime,
    next_update: datetime.datetime | None = None,
    signing_key: PrivateKey | None = None,
) -> x509.CertificateRevocationList:
    """A CRL in the CA's name; `signing_key` other than the CA's makes a forged one."""
    if isinstance(ca.key, Sm2PrivateKey):
        issuer_certificate = ca.certificate
        if signing_key is not None:
            # openssl signs a CRL only with the key of the certificate it names: a look-alike CA.
            issuer_certificate = issue_certificate(
                issuer=None,
                key=signing_key,
                subject=ca.certificate.subject,
                not_before=ca.certificate.not_valid_before_utc,
                not_after=ca.certificate.not_valid_after_utc,
                is_ca=True,
            )
        return testing_sm2.create_crl(
            issuer_certificate=issuer_certificate,
            key=signing_key or ca.key,
            revoked_serials=revoked_serials,
            now=now,
            next_update=next_update or now + datetime.timedelta(days=7),
        )
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now)
        .next_update(next_update or now + datetime.timedelta(days=7))
    )
    for serial in sorted(set(revoked_serials)):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
        )
    return builder.sign(signing_key or ca.key, hashes.SHA256())


def certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def key_pem(key: PrivateKey) -> bytes:
    if isinstance(key, Sm2PrivateKey):
        return key.pem
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def sign_challenge(key_pem: bytes, challenge: str) -> str:
    """Sign the UTF-8 challenge as a USB-Key does; base64.

    RSA PKCS#1 v1.5 or ECDSA over SHA-256; SM2 over SM3 with the default signer ID (GM/T 0009).
    """
    key = load_private_key(key_pem)
    data = challenge.encode("utf-8")
    if isinstance(key, Sm2PrivateKey):
        signature = testing_sm2.sign(key.pem, data)
    elif isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
    else:
        raise ValueError("only RSA, ECDSA and SM2 keys can sign here")
    return base64.b64encode(signature).decode("ascii")


def _load_or_create_ca(out_dir: Path, *, now, algorithm) -> CertificateAuthority:
    root_path, key_path = out_dir / ROOT_FILE, out_dir / ROOT_KEY_FILE
    if root_path.exists() and key_path.exists():
        ca = CertificateAuthority(
            key=load_private_key(key_path.read_bytes()),
            certificate=x509.load_pem_x509_certificate(root_path.read_bytes()),
        )
        if key_algorithm(ca.key) != algorithm:
            raise ValueError(
                f"{out_dir} 中已有{key_algorithm(ca.key).upper()}测试CA,"
                f"{algorithm.upper()}证书请输出到另一个目录"
            )
        return ca
    ca = create_test_ca(now=now, algorithm=algorithm)
    root_path.write_bytes(certificate_pem(ca.certificate))
    key_path.write_bytes(key_pem(ca.key))
    key_path.chmod(0o600)
    return ca


def _previously_revoked(out_dir: Path, ca: CertificateAuthority) -> set[int]:
    path = out_dir / CRL_FILE
    if not path.exists():
        return set()
    crl = x509.load_pem_x509_crl(path.read_bytes())
    if isinstance(ca.key, Sm2PrivateKey):
        if not sm2.signed_by(crl, ca.certificate):
            return set()
    elif not crl.is_signature_valid(ca.certificate.public_key()):
        return set()
    return {revoked.serial_number for revoked in crl}


def write_test_set(
    out_dir: Path, *, usccs: Sequence[str], now: datetime.datetime, algorithm: str = "rsa"
) -> list[Path]:
    """Write the test CA (reused if DIR already has one), unit certificates and the CRL."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ca = _load_or_create_ca(out_dir, now=now, algorithm=algorithm)
    written = [out_dir / ROOT_FILE, out_dir / ROOT_KEY_FILE]
    revoked = _previously_revoked(out_dir, ca)
    day = datetime.timedelta(days=1)
    for uscc in usccs:
        variants = {
            "": {"ca": ca},
            "-expired": {"ca": ca, "not_before": now - 730 * day, "not_after": now - day},
            "-revoked": {"ca": ca},
            "-selfsigned": {"ca": None},
            "-notyetvalid": {"ca": ca, "not_before": now + 30 * day, "not_after": now + 395 * day},
        }
        for suffix, options in variants.items():
            key, certificate = issue_unit_certificate(
                options.pop("ca"),
                uscc=uscc,
                now=now,
                name=f"测试单位{uscc[-6:]}",
                algorithm=algorithm,
                **options,
            )
            if suffix == "-revoked":
                revoked.add(certificate.serial_number)
            cert_path = out_dir / f"{uscc}{suffix}.pem"
            cert_path.write_bytes(certificate_pem(certificate))
            key_path = out_dir / f"{uscc}{suffix}.key.pem"
            key_path.write_bytes(key_pem(key))
            key_path.chmod(0o600)
            written += [cert_path, key_path]
    crl_path = out_dir / CRL_FILE
    crl_path.write_bytes(crl_pem(create_crl(ca, revoked_serials=revoked, now=now)))
    written.append(crl_path)
    return written
