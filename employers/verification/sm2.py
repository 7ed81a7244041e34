"""SM2 with SM3 (GM/T 0003, 0004, 0009) through Debian's `openssl` 3 command.

The `cryptography` package parses SM2 certificates and CRLs but cannot load SM2 keys, so every
SM2 signature — a certificate's, a CRL's, the unit's over the challenge — is checked by one call of
`openssl dgst -sm3 -verify` with the signer ID of GM/T 0009 (1234567812345678). The command runs
with a fixed argument list (no shell), a timeout, and its inputs in a private temporary directory
that is removed afterwards.

The chain is built here rather than by `openssl verify`: openssl 3.0 applies `-vfyopt distid:` to
the leaf only and checks an intermediate CA's signature with an empty ID, which refuses real SM2
chains with an intermediate. `build_chain` follows issuer names, checks each signature with the
default ID, and checks each CA's basic constraints, key usage, path length and dates.
"""

from __future__ import annotations

import base64
import datetime
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

logger = logging.getLogger(__name__)

# GM/T 0009-2012 section 10: the signer ID when none was agreed (also RFC 8998).
DEFAULT_USER_ID = "1234567812345678"
SM2_WITH_SM3 = "1.2.156.10197.1.501"
SM2_CURVE_DER = bytes.fromhex("06082a811ccf5501822d")  # OID 1.2.156.10197.1.301
OPENSSL_TIMEOUT_SECONDS = 10
MAX_CHAIN_LENGTH = 6
# An uploaded bundle may hold many look-alike CA certificates: each costs one openssl call.
MAX_SIGNATURE_CHECKS = 12


class OpenSSLUnavailable(RuntimeError):
    """The openssl command is missing, failed to start or did not answer in time."""


def openssl_path() -> str:
    path = shutil.which("openssl")
    if path is None:
        raise OpenSSLUnavailable("the openssl command is not installed (Debian package openssl)")
    return path


def run_openssl(
    arguments: Callable[[Path], Sequence[str | Path]], files: dict[str, bytes]
) -> subprocess.CompletedProcess:
    """Write `files` into a fresh private directory and run openssl with `arguments(directory)`."""
    with tempfile.TemporaryDirectory(prefix="portal-sm2-") as tmp:
        directory = Path(tmp)
        for name, content in files.items():
            path = directory / name
            path.touch(mode=0o600)
            path.write_bytes(content)
        argv = [openssl_path(), *(str(argument) for argument in arguments(directory))]
        try:
            return subprocess.run(  # noqa: S603 (fixed argument list, no shell)
                argv,
                cwd=directory,
                capture_output=True,
                timeout=OPENSSL_TIMEOUT_SECONDS,
                check=False,
                env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise OpenSSLUnavailable(f"openssl {argv[1]} failed to run: {exc}") from exc


def _der_element(data: bytes, offset: int) -> tuple[int, int, int]:
    """Return (tag, start of contents, end of element) of the DER element at `offset`."""
    tag, length = data[offset], data[offset + 1]
    start = offset + 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(data[start : start + size], "big")
        start += size
    return tag, start, start + length


def spki_der(certificate: x509.Certificate) -> bytes:
    """The certificate's SubjectPublicKeyInfo exactly as encoded (RFC 5280 TBSCertificate)."""
    tbs = certificate.tbs_certificate_bytes
    _, position, _ = _der_element(tbs, 0)  # TBSCertificate SEQUENCE: step into it
    tag, _, end = _der_element(tbs, position)
    if tag == 0xA0:  # [0] version
        position = end
    # serialNumber, signature, issuer, validity, subject, then subjectPublicKeyInfo
    for _ in range(5):
        position = _der_element(tbs, position)[2]
    _, _, end = _der_element(tbs, position)
    return tbs[position:end]


def has_sm2_key(certificate: x509.Certificate) -> bool:
    return SM2_CURVE_DER in spki_der(certificate)


def public_key_pem(spki: bytes) -> bytes:
    body = base64.encodebytes(spki).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"-----BEGIN PUBLIC KEY-----\n" + b"\n".join(lines) + b"\n-----END PUBLIC KEY-----\n"


def der_signature(signature: bytes) -> bytes:
    """USB-Key drivers return either the DER SEQUENCE of r and s or the 64 bytes r || s."""
    if len(signature) == 64 and signature[:1] != b"\x30":
        r, s = signature[:32], signature[32:]
        return encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))
    return signature


def verify(spki: bytes, data: bytes, signature: bytes, *, user_id: str = DEFAULT_USER_ID) -> bool:
    """Check an SM2 signature over SM3(Z || data), Z computed from the key and `user_id`."""
    if not signature or SM2_CURVE_DER not in spki:
        return False
    result = run_openssl(
        lambda d: [
            "dgst", "-sm3", "-verify", d / "key.pem", "-sigopt", f"distid:{user_id}",
            "-signature", d / "signature.der", d / "data.bin",
        ],
        {"key.pem": public_key_pem(spki), "signature.der": der_signature(signature),
         "data.bin": data},
    )  # fmt: skip
    return result.returncode == 0 and b"Verified OK" in result.stdout


def signed_by(item: x509.Certificate | x509.CertificateRevocationList, issuer) -> bool:
    """Is a certificate or CRL signed with SM2-with-SM3 by `issuer`'s key (default signer ID)?"""
    if item.signature_algorithm_oid.dotted_string != SM2_WITH_SM3 or not has_sm2_key(issuer):
        return False
    if isinstance(item, x509.Certificate):
        tbs = item.tbs_certificate_bytes
    else:
        tbs = item.tbs_certlist_bytes
    return verify(spki_der(issuer), tbs, item.signature)


class ChainError(Exception):
    """No path from the certificate to a trusted root (the reason is for the log only)."""


def _valid_at(certificate: x509.Certificate, now: datetime.datetime) -> bool:
    return certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc


def _can_issue(ca: x509.Certificate, below: int) -> str | None:
    """Why `ca` may not sign a certificate with `below` CA certificates under it, or None."""
    try:
        constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return "no basic constraints"
    if not constraints.ca:
        return "not a CA"
    if constraints.path_length is not None and below > constraints.path_length:
        return "path length exceeded"
    try:
        usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    return None if usage.key_cert_sign else "key usage lacks keyCertSign"


def build_chain(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    now: datetime.datetime,
) -> list[x509.Certificate]:
    """Return [leaf, intermediates…, root] up to a trusted SM2 root; raise ChainError."""
    checks = 0

    def signed(certificate, issuer) -> bool:
        nonlocal checks
        checks += 1
        if checks > MAX_SIGNATURE_CHECKS:
            raise ChainError("too many candidate issuers")
        return signed_by(certificate, issuer)

    chain = [leaf]
    for _ in range(MAX_CHAIN_LENGTH):
        current = chain[-1]
        below = len(chain) - 1
        for root in roots:
            if root.subject == current.issuer and _can_issue(root, below) is None:
                if not _valid_at(root, now):
                    raise ChainError(f"root {root.subject.rfc4514_string()} is not valid now")
                if signed(current, root):
                    return [*chain, root]
        for candidate in intermediates:
            if candidate in chain or candidate.subject != current.issuer:
                continue
            if (reason := _can_issue(candidate, below)) is not None:
                raise ChainError(f"{candidate.subject.rfc4514_string()}: {reason}")
            if not _valid_at(candidate, now):
                raise ChainError(f"{candidate.subject.rfc4514_string()} is not valid now")
            if signed(current, candidate):
                chain.append(candidate)
                break
        else:
            raise ChainError(f"no trusted issuer for {current.subject.rfc4514_string()}")
    raise ChainError("chain too long")
