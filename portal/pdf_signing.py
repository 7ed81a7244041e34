"""The issuing agency's digital signature on official PDFs (PAdES with pyHanko).

A signed proof can be checked offline by anyone: any PDF reader shows who signed it and whether
the file changed since. The signature is PAdES baseline B-B (ETSI EN 319 142-1), or B-T when
``PROOF_TSA_URL`` names an RFC 3161 time-stamping service (B-B, with a warning in the log, while
that service cannot be reached). The file is signed as an incremental update after reportlab
has written it and is never rewritten afterwards: rewriting would break the signature.

The agency's certificate and key come from ops, never from the repository:
``PROOF_SIGNING_CERT`` (the signing certificate and any intermediate CA certificates)
and ``PROOF_SIGNING_KEY``, each a file path or the PEM text itself (an environment variable),
with an optional ``PROOF_SIGNING_KEY_PASSPHRASE``. Production refuses to start without them
(portal/settings.py). In development and tests, with neither set, a self-made test CA and
signing certificate under var/proof-signing/ are used, made on first use (or by
``manage.py proof_signing_dev_cert``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import io
import logging
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import SigningCertificateV2Provider
from pyhanko.sign.general import as_signing_certificate_v2, get_pyca_cryptography_hash
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes, SignedAttributeProviderSpec
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError
from pyhanko_certvalidator.registry import SimpleCertificateStore

logger = logging.getLogger(__name__)

SIGNATURE_FIELD = "AgencySignature"
DEV_DIR_NAME = "proof-signing"
DEV_ROOT_FILE = "dev-root.pem"
DEV_CERT_FILE = "dev-signer.pem"  # the signing certificate, then the test root
DEV_KEY_FILE = "dev-signer.key.pem"
DEV_ROOT_NAME = "社保门户开发测试签章根CA(非正式)"
DEV_SIGNER_NAME = "社保门户开发测试签章(非正式)"
DEV_ORGANISATION = "演示社会保险经办机构(测试)"
TSA_TIMEOUT_SECONDS = 10


class SigningNotConfigured(ImproperlyConfigured):
    """The agency's signing certificate or key is missing or cannot be read."""


@dataclass(frozen=True)
class DevSigningFiles:
    root: Path
    cert: Path
    key: Path


def dev_signing_dir() -> Path:
    return Path(settings.VAR_DIR) / DEV_DIR_NAME


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(*, subject, issuer, public_key, signing_key, is_ca, days, now):
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                # Non-repudiation (content commitment): what a document signature asserts.
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
            critical=False,
        )
    )
    return builder.sign(signing_key, hashes.SHA256())


def dev_signing_files(*, create: bool = True, replace: bool = False) -> DevSigningFiles | None:
    """The development test CA and signing certificate under var/, made when missing."""
    directory = dev_signing_dir()
    files = DevSigningFiles(
        directory / DEV_ROOT_FILE, directory / DEV_CERT_FILE, directory / DEV_KEY_FILE
    )
    if all(path.exists() for path in (files.root, files.cert, files.key)) and not replace:
        return files
    if not create:
        return None
    now = datetime.datetime.now(datetime.UTC)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _certificate(
        subject=_name(DEV_ROOT_NAME),
        issuer=_name(DEV_ROOT_NAME),
        public_key=root_key.public_key(),
        signing_key=root_key,
        is_ca=True,
        days=3650,
        now=now,
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _certificate(
        subject=_name(DEV_SIGNER_NAME),
        issuer=root.subject,
        public_key=key.public_key(),
        signing_key=root_key,
        is_ca=False,
        days=3 * 365,
        now=now,
    )
    pem = serialization.Encoding.PEM
    directory.parent.mkdir(parents=True, exist_ok=True)
    # Written in a fresh directory, then renamed into place: two processes starting at once
    # never pair one's certificate with the other's key.
    staging = Path(tempfile.mkdtemp(prefix=".proof-signing-", dir=directory.parent))
    (staging / DEV_ROOT_FILE).write_bytes(root.public_bytes(pem))
    (staging / DEV_CERT_FILE).write_bytes(cert.public_bytes(pem) + root.public_bytes(pem))
    key_path = staging / DEV_KEY_FILE
    key_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    if replace and directory.exists():
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()
    try:
        os.rename(staging, directory)
    except OSError:  # another process made them first: use those
        for path in staging.iterdir():
            path.unlink()
        staging.rmdir()
    _signer.cache_clear()
    return files


def _pem(value: str, setting: str) -> bytes:
    """A setting holding PEM text itself or the path of a PEM/DER file."""
    if value.lstrip().startswith("-----BEGIN"):
        # An env file holds one line: its line breaks may be written as \n.
        return value.strip().replace("\\n", "\n").encode("ascii")
    try:
        return Path(value).read_bytes()
    except OSError as exc:
        raise SigningNotConfigured(f"{setting}: cannot read {value}: {exc.strerror}") from None


def _material() -> tuple[bytes, bytes, bytes | None]:
    cert = getattr(settings, "PROOF_SIGNING_CERT", "")
    key = getattr(settings, "PROOF_SIGNING_KEY", "")
    passphrase = getattr(settings, "PROOF_SIGNING_KEY_PASSPHRASE", "") or None
    if not cert and not key and not getattr(settings, "PRODUCTION", False):
        files = dev_signing_files(create=True)
        cert, key, passphrase = str(files.cert), str(files.key), None
    if not cert or not key:
        raise SigningNotConfigured("PROOF_SIGNING_CERT and PROOF_SIGNING_KEY must both be set")
    return (
        _pem(cert, "PROOF_SIGNING_CERT"),
        _pem(key, "PROOF_SIGNING_KEY"),
        passphrase.encode() if passphrase else None,
    )


@lru_cache(maxsize=4)
def _signer(cert_data: bytes, key_data: bytes, passphrase: bytes | None) -> signers.SimpleSigner:
    try:
        certificates = list(load_certs_from_pemder_data(cert_data))
        key = load_private_key_from_pemder_data(key_data, passphrase=passphrase)
    except (ValueError, TypeError) as exc:
        raise SigningNotConfigured(f"the proof signing certificate or key: {exc}") from None
    # The certificate of this key signs, wherever it is in the bundle; a key that belongs to
    # none of them would make signatures that every reader reports as invalid.
    public = _public_key_der(serialization.load_der_private_key(key.dump(), None).public_key())
    own = [
        cert
        for cert in certificates
        if _public_key_der(x509.load_der_x509_certificate(cert.dump()).public_key()) == public
    ]
    if not own:
        raise SigningNotConfigured(
            "PROOF_SIGNING_KEY does not belong to any certificate in PROOF_SIGNING_CERT"
        )
    return LoadedKeySigner(
        signing_cert=own[0],
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs(
            [cert for cert in certificates if cert is not own[0]]
        ),
    )


class _SigningCertificateV2Once(SigningCertificateV2Provider):
    """The signing-certificate-v2 attribute's value, made once per certificate and re-read.

    asn1crypto re-encodes a value built from Python objects each time it is encoded, with every
    value inside it, and pyHanko encodes the signed attributes several times (to sign them, in
    SignerInfo, in the file): this attribute cost about 11 of the 15 ms of CPU a signature took.
    Parsed from its own DER, the value keeps its encoding.
    """

    def __init__(self, signing_cert):
        super().__init__(signing_cert)
        self.value = tsp.SigningCertificateV2.load(as_signing_certificate_v2(signing_cert).dump())

    async def build_attr_value(self, dry_run=False) -> tsp.SigningCertificateV2:
        return self.value


class PadesSignedAttributes(SignedAttributeProviderSpec):
    """The signed attributes pyHanko gives a PAdES signature, signing-certificate-v2 made once.

    pyHanko adds content-type and message-digest itself; for PAdES its default
    (CAdESSignedAttributeProviderSpec) adds signing-certificate-v2 and no signing-time (ETSI EN
    319 142-1: the time is the signature dictionary's /M). The portal sets no other CAdES
    attribute (signature policy, content time-stamp).
    """

    def __init__(self, signing_cert):
        self.signing_certificate = _SigningCertificateV2Once(signing_cert)

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str):
        yield self.signing_certificate


class LoadedKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner with the private key parsed once, not at every signature.

    SimpleSigner re-reads its key from DER for each signature it makes (twice a PDF: once to
    estimate the signature's size, once to sign), which for an RSA key is most of the cost of
    signing. This signer keeps the parsed key for the process (``_signer`` is cached) and makes
    RSA PKCS#1 v1.5 and ECDSA signatures with it; any other mechanism (RSA-PSS among them) goes
    to SimpleSigner as before. Its signed attributes are made once too (PadesSignedAttributes).
    """

    def __init__(self, *, signing_cert, signing_key, cert_registry):
        super().__init__(
            signing_cert=signing_cert, signing_key=signing_key, cert_registry=cert_registry
        )
        self.private_key = serialization.load_der_private_key(signing_key.dump(), None)
        self.signed_attr_prov_spec = PadesSignedAttributes(signing_cert)
        self._reserved: int | None = None

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism_spec = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            mechanism = mechanism_spec.signature_algo
        except ValueError:
            mechanism = mechanism_spec["algorithm"].native
        key = self.private_key
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return super().sign_raw(data, digest_algorithm)

    def bytes_reserved(self) -> int:
        """The space a signature of this key takes in the PDF (hex), estimated once.

        The same estimate pyHanko makes before every signature without a time-stamp (a dry run
        of the CMS, doubled for hex, plus half again as a margin): without a TSA nothing in the
        CMS varies in size from one PDF to the next but the signature value, which the margin
        covers (an ECDSA signature varies by a few bytes).
        """
        if self._reserved is None:
            cms = asyncio.run(
                self.async_sign(
                    hashes.Hash(hashes.SHA256()).finalize(),
                    "sha256",
                    use_pades=True,
                    dry_run=True,
                    signed_attr_settings=PdfCMSSignedAttributes(
                        signing_time=datetime.datetime.now(datetime.UTC)
                    ),
                )
            )
            length = len(cms.dump()) * 2
            self._reserved = length + 2 * (length // 4)
        return self._reserved


def _public_key_der(public_key) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def signing_certificate_name() -> str:
    """The common name of the certificate that signs (what a PDF reader shows as the signer)."""
    return _signer(*_material()).signing_cert.subject.native.get("common_name", "")


def _outside_event_loop(func):
    """Call ``func`` here, or in a short-lived thread when this thread runs an event loop:
    pyHanko's synchronous API calls asyncio.run(), which a running loop refuses (an ASGI
    server's thread, a test driving a browser)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return func()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(func).result()


def sign_pdf(data: bytes, *, reason: str) -> bytes:
    """Sign the PDF ``data`` with the agency's certificate (PAdES B-B, or B-T with a TSA)."""
    return _outside_event_loop(lambda: _sign_pdf(data, reason=reason))


@lru_cache(maxsize=4)
def _timestamper(url: str) -> HTTPTimeStamper:
    """One time-stamper per TSA address for the process: pyHanko asks the TSA once for a dummy
    token to size the signature and keeps it in the time-stamper, so a time-stamper made per PDF
    sent two requests per PDF instead of one."""
    return HTTPTimeStamper(url, timeout=TSA_TIMEOUT_SECONDS)


def _sign_pdf(data: bytes, *, reason: str) -> bytes:
    signer = _signer(*_material())
    tsa_url = getattr(settings, "PROOF_TSA_URL", "")
    timestamper = _timestamper(tsa_url) if tsa_url else None
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        reason=reason,
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    try:
        output = signers.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(data)),
            metadata,
            signer=signer,
            timestamper=timestamper,
            # With a TSA, pyHanko sizes the signature with the TSA's dummy token each time.
            bytes_reserved=None if timestamper else signer.bytes_reserved(),
        )
    except TimestampRequestError:
        # A proof without a time-stamp (B-B) is still a valid signature; refusing every proof
        # while the time-stamping service is down would stop the counter's work.
        logger.warning("time-stamping service unreachable; PDF signed without a time-stamp")
        output = signers.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(data)),
            metadata,
            signer=signer,
            bytes_reserved=signer.bytes_reserved(),
        )
    return output.getvalue()
