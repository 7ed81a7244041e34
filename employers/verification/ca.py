"""Verify a unit's CA certificate (USB-Key) and its signature over a server challenge.

No HTTP and no writes: the trusted roots and CRLs come from the tables ops fill
(employers.verification.ca_services); everything else is passed in, including the time, so that
callers and tests decide what "now" is.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from employers.models import CertificateRevocationList, TrustedCARoot
from employers.verification import sm2
from portal.identifiers import USCC_CHARS, normalise_uscc

logger = logging.getLogger(__name__)

# GM/T 0015-2012 (基于SM2密码算法的数字证书格式) private extensions for the holder's identifiers.
OID_ORGANISATION_CODE = x509.ObjectIdentifier("1.2.156.10260.4.1.4")
OID_USCC = x509.ObjectIdentifier("1.2.156.10260.4.4")
# GM/T 0006: SM2 curve and SM2-with-SM3 signature (and the rest of the 1.2.156.10197 arc).
SM_ALGORITHM_ARC = "1.2.156.10197."
SM2_CURVE_DER = bytes.fromhex("06082a811ccf5501822d")

SUBJECT_IDENTIFIER_ATTRIBUTES = (
    NameOID.COMMON_NAME,
    NameOID.ORGANIZATION_NAME,
    NameOID.ORGANIZATIONAL_UNIT_NAME,
    NameOID.SERIAL_NUMBER,
)
# An 18-character USCC standing alone or inside a longer value ("91350100M000100Y43@北京演示",
# "USCC:91350100M000100Y43"), but not a slice of a longer run of letters and digits.
USCC_IN_TEXT = re.compile(rf"(?<![0-9A-Z])[{USCC_CHARS}]{{18}}(?![0-9A-Z])")
# GB 11714-1997 organisation code: 8 characters, optional hyphen, check character.
ORGANISATION_CODE = re.compile(r"(?<![0-9A-Z])([0-9A-Z]{8})-?([0-9X])(?![0-9A-Z])")

# DER string types CAs use for these values (X.690 universal tags).
DER_STRING_TAGS = {
    0x0C: "utf-8",  # UTF8String
    0x13: "ascii",  # PrintableString
    0x16: "ascii",  # IA5String
    0x14: "latin-1",  # T61String
    0x1E: "utf-16-be",  # BMPString
    0x04: None,  # OCTET STRING: decode its contents again
}


class CertificateRejected(ValidationError):
    """A certificate or signature the portal does not accept; `code` says why."""

    def __init__(self, code: str, message, *, serial: str = "", fingerprint: str = ""):
        super().__init__(message, code=code)
        self.serial = serial
        self.fingerprint = fingerprint

    def __reduce__(self):
        # The base class rebuilds from (message, code, params); keep copy and pickle working.
        return self.__class__, (self.code, self.message), self.__dict__


@dataclass(frozen=True)
class CertificateCheck:
    """What a successful verification established about the unit's certificate."""

    subject: str
    issuer: str
    serial: str
    not_after: datetime.datetime
    fingerprint: str
    uscc: str
    algorithm: str
    # "current", "stale" (next update passed, used anyway) or "missing" (ops loaded none).
    crl_status: str

    def as_evidence(self) -> dict[str, str]:
        """A JSON-ready record for the application's verification evidence."""
        return {
            "method": "ca",
            "subject": self.subject,
            "issuer": self.issuer,
            "serial": self.serial,
            "not_after": self.not_after.isoformat(),
            "fingerprint": self.fingerprint,
            "uscc": self.uscc,
            "algorithm": self.algorithm,
            "crl_status": self.crl_status,
        }


def public_key_hash(cert: x509.Certificate) -> str:
    """Identify an issuer by the SHA-256 of its SubjectPublicKeyInfo (CRLs are stored by it)."""
    if is_sm2_certificate(cert):
        return hashlib.sha256(sm2.spki_der(cert)).hexdigest()
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Parse PEM (one or more certificates, leaf first) or DER; ValueError when it is neither."""
    data = bytes(data or b"")
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def _decode_der_string(raw: bytes) -> str:
    """Return the text of a DER string value, or the bytes decoded leniently if not DER."""
    if len(raw) >= 2 and raw[0] in DER_STRING_TAGS:
        length, offset = raw[1], 2
        if length & 0x80:
            size = length & 0x7F
            length, offset = int.from_bytes(raw[2 : 2 + size], "big"), 2 + size
        body = raw[offset : offset + length]
        encoding = DER_STRING_TAGS[raw[0]]
        if len(body) == length and encoding is None:
            return _decode_der_string(body)
        if len(body) == length:
            try:
                return body.decode(encoding)
            except UnicodeDecodeError:
                pass
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _identifiers_in(text: str, *, organisation_code: bool = False) -> set[str]:
    text = text.upper()
    found = set(USCC_IN_TEXT.findall(text))
    if organisation_code:
        found.update(code + check for code, check in ORGANISATION_CODE.findall(text))
    return found


def extract_unit_identifiers(cert: x509.Certificate) -> set[str]:
    """Return the USCCs (18 characters) and organisation codes (9) a certificate carries."""
    found: set[str] = set()
    for oid in SUBJECT_IDENTIFIER_ATTRIBUTES:
        for attribute in cert.subject.get_attributes_for_oid(oid):
            value = attribute.value
            if isinstance(value, bytes):
                value = _decode_der_string(value)
            # serialNumber is where some CAs put a bare organisation code (12345678-9).
            found |= _identifiers_in(value, organisation_code=oid == NameOID.SERIAL_NUMBER)
    for oid in (OID_USCC, OID_ORGANISATION_CODE):
        try:
            extension = cert.extensions.get_extension_for_oid(oid)
        except x509.ExtensionNotFound:
            continue
        raw = getattr(extension.value, "value", b"")
        found |= _identifiers_in(
            _decode_der_string(raw), organisation_code=oid == OID_ORGANISATION_CODE
        )
    return found


def _matching_identifier(identifiers: set[str], expected_uscc: str) -> str | None:
    expected = normalise_uscc(expected_uscc)
    if expected in identifiers:
        return expected
    # GB 32100-2015: characters 9–17 of a USCC are the unit's former organisation code, which
    # certificates issued before the USCC carry instead.
    if len(expected) == 18 and expected[8:17] in identifiers:
        return expected[8:17]
    return None


def is_sm2_certificate(cert: x509.Certificate) -> bool:
    if cert.signature_algorithm_oid.dotted_string.startswith(SM_ALGORITHM_ARC):
        return True
    try:
        cert.public_key()
    except (UnsupportedAlgorithm, ValueError):
        return SM2_CURVE_DER in cert.public_bytes(serialization.Encoding.DER)
    return False


def _client_verifier(roots: Sequence[x509.Certificate], now: datetime.datetime):
    # Unit certificates from Chinese CAs rarely carry a SubjectAlternativeName, which the
    # default Web PKI end-entity policy requires.
    ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    return (
        PolicyBuilder()
        .store(Store(list(roots)))
        .time(now)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee_policy)
        .build_client_verifier()
    )


def trusted_roots() -> list[x509.Certificate]:
    """Return the active trusted CA roots."""
    return [
        x509.load_pem_x509_certificate(pem.encode())
        for pem in TrustedCARoot.objects.filter(is_active=True).values_list(
            "certificate_pem", flat=True
        )
    ]


def _crl_status(chain: Sequence[x509.Certificate], now: datetime.datetime, reject) -> str:
    """Check every certificate below the root against its issuer's stored CRL."""
    issuers = {public_key_hash(cert): cert for cert in chain[1:]}
    crls = {
        row.issuer_key_hash: row
        for row in CertificateRevocationList.objects.filter(issuer_key_hash__in=issuers)
    }
    status = "current"
    for cert, issuer in zip(chain, chain[1:], strict=False):
        row = crls.get(public_key_hash(issuer))
        if row is None:
            logger.warning("no CRL loaded for CA %s", issuer.subject.rfc4514_string())
            status = "missing"
            continue
        if row.next_update is not None and row.next_update < now:
            logger.warning(
                "CRL for CA %s is past its next update (%s); using it anyway",
                row.issuer,
                row.next_update.isoformat(),
            )
            status = "stale" if status == "current" else status
        crl = x509.load_der_x509_crl(bytes(row.crl_der))
        if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            reject("revoked", _("该CA证书已被吊销,请联系CA机构重新办理"))
    return status


def decode_signature(signature: bytes | str) -> bytes:
    """Accept the signature as base64 text (what the signing helper prints) or raw bytes."""
    if isinstance(signature, str):
        signature = signature.encode("ascii", "ignore")
    compact = b"".join(bytes(signature).split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return bytes(signature)


def _verify_signature(public_key, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            return True
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            candidates = [signature]
            size = (public_key.curve.key_size + 7) // 8
            # Some USB-Key drivers return r || s instead of the DER SEQUENCE.
            if len(signature) == 2 * size:
                r, s = signature[:size], signature[size:]
                candidates.append(
                    encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))
                )
            for candidate in candidates:
                try:
                    public_key.verify(candidate, data, ec.ECDSA(hashes.SHA256()))
                    return True
                except InvalidSignature:
                    continue
            return False
    except (InvalidSignature, ValueError):
        return False
    return False


def _rejecter(leaf: x509.Certificate):
    serial = format(leaf.serial_number, "x")
    digest = fingerprint(leaf)

    def reject(code, message):
        raise CertificateRejected(code, message, serial=serial, fingerprint=digest)

    return reject


def _verify_chain(leaf, intermediates, roots, now, reject) -> list[x509.Certificate]:
    """The path to a trusted root: SM2 certificates through openssl, the others in-process."""
    digest = fingerprint(leaf)
    if is_sm2_certificate(leaf):
        try:
            return sm2.build_chain(
                leaf, intermediates, [r for r in roots if is_sm2_certificate(r)], now
            )
        except sm2.ChainError as exc:
            logger.info("SM2 certificate %s refused by chain verification: %s", digest, exc)
            reject("untrusted", _("证书不是由受信任的CA机构签发"))
    # cryptography cannot load SM2 keys: SM2 roots stay out of its store.
    roots = [root for root in roots if not is_sm2_certificate(root)]
    if not roots:
        reject("untrusted", _("证书不是由受信任的CA机构签发"))
    try:
        return _client_verifier(roots, now).verify(leaf, intermediates).chain
    except VerificationError as exc:
        logger.info("certificate %s refused by chain verification: %s", digest, exc)
        reject("untrusted", _("证书不是由受信任的CA机构签发"))


def check_unit_certificate(
    *,
    certificate: bytes,
    expected_uscc: str | None,
    now: datetime.datetime,
    roots: Iterable[x509.Certificate] | None = None,
) -> CertificateCheck:
    """Verify chain, dates, revocation and holder (no signature); raise CertificateRejected.

    `certificate` is the unit's certificate in PEM or DER; a PEM bundle may add intermediate CA
    certificates after it. `roots` defaults to the active TrustedCARoot rows. Without
    `expected_uscc` the holder is not compared (the USCC found, else an organisation code, is
    reported).
    """
    try:
        leaf, *intermediates = load_certificates(certificate)
    except ValueError:
        raise CertificateRejected("not_certificate", _("上传的文件不是有效的数字证书")) from None
    reject = _rejecter(leaf)

    if is_sm2_certificate(leaf):
        if not sm2.has_sm2_key(leaf):
            reject("unsupported_algorithm", _("不支持该证书的密钥算法,请使用SM2、RSA或ECDSA证书"))
        algorithm = "SM2-SM3"
    else:
        public_key = leaf.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            reject("unsupported_algorithm", _("不支持该证书的密钥算法,请使用SM2、RSA或ECDSA证书"))
        algorithm = "RSA-SHA256" if isinstance(public_key, rsa.RSAPublicKey) else "ECDSA-SHA256"

    # Dates first: an expired certificate gets its own message (renew at the CA) rather than
    # the chain verifier's generic refusal.
    if now > leaf.not_valid_after_utc:
        reject("expired", _("CA证书已过期,请联系CA机构续期"))
    if now < leaf.not_valid_before_utc:
        reject("not_yet_valid", _("CA证书尚未生效,请核对证书有效期或本机时间"))

    roots = list(trusted_roots() if roots is None else roots)
    try:
        chain = _verify_chain(leaf, intermediates, roots, now, reject)
    except sm2.OpenSSLUnavailable:
        logger.exception("SM2 certificate %s could not be checked", fingerprint(leaf))
        reject("sm2_unavailable", _("暂时无法验证SM2证书,请稍后再试或联系经办机构"))

    crl_status = _crl_status(chain, now, reject)

    identifiers = extract_unit_identifiers(leaf)
    if expected_uscc is None:
        uscc = min(identifiers, key=lambda code: (-len(code), code), default="")
    else:
        uscc = _matching_identifier(identifiers, expected_uscc)
        if uscc is None:
            reject("wrong_unit", _("证书不属于本单位:证书中的信用代码与本单位不一致"))

    return CertificateCheck(
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        serial=format(leaf.serial_number, "x"),
        not_after=leaf.not_valid_after_utc,
        fingerprint=fingerprint(leaf),
        uscc=uscc,
        algorithm=algorithm,
        crl_status=crl_status,
    )


def verify_unit_certificate(
    *,
    certificate: bytes,
    signature: bytes | str,
    challenge: str,
    expected_uscc: str,
    now: datetime.datetime,
    roots: Iterable[x509.Certificate] | None = None,
) -> CertificateCheck:
    """Verify chain, dates, revocation, holder and challenge signature; raise CertificateRejected.

    The challenge is signed as UTF-8: RSA PKCS#1 v1.5 or ECDSA over SHA-256, or SM2 over SM3 with
    the default signer ID 1234567812345678 (GM/T 0009).
    """
    check = check_unit_certificate(
        certificate=certificate, expected_uscc=expected_uscc, now=now, roots=roots
    )
    leaf = load_certificates(certificate)[0]
    reject = _rejecter(leaf)
    data, raw = challenge.encode("utf-8"), decode_signature(signature)
    if check.algorithm == "SM2-SM3":
        try:
            good = sm2.verify(sm2.spki_der(leaf), data, raw)
        except sm2.OpenSSLUnavailable:
            logger.exception("SM2 signature of %s could not be checked", check.fingerprint)
            reject("sm2_unavailable", _("暂时无法验证SM2证书,请稍后再试或联系经办机构"))
    else:
        good = _verify_signature(leaf.public_key(), raw, data)
    if not good:
        reject("bad_signature", _("签名验证失败:签名与本次挑战值不符,请重新签名"))
    return check
