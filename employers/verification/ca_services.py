"""Every write for CA certificates: trusted roots, CRLs and the single-use challenges."""

from __future__ import annotations

import datetime
import secrets

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from employers.models import (
    CAChallenge,
    CertificateRevocationList,
    RegistrationApplication,
    TrustedCARoot,
)
from employers.verification import sm2
from employers.verification.ca import (
    CertificateCheck,
    CertificateRejected,
    fingerprint,
    is_sm2_certificate,
    load_certificates,
    public_key_hash,
    trusted_roots,
    verify_unit_certificate,
)
from portal.audit import audit_log
from portal.models import AuditEvent

CHALLENGE_TTL = datetime.timedelta(minutes=5)
CHALLENGE_GONE = _("挑战值已失效,请重新获取")


@transaction.atomic
def ca_root_trust(
    *, pem: bytes, name: str, actor=None, now: datetime.datetime | None = None
) -> TrustedCARoot:
    """Trust a CA root certificate (PEM or DER); trusting the same root again changes nothing."""
    now = now or timezone.now()
    try:
        certificates = load_certificates(pem)
    except ValueError:
        raise ValidationError(_("文件不是有效的证书"), code="not_certificate") from None
    if len(certificates) != 1:
        raise ValidationError(_("请每次导入一个根证书"), code="bundle")
    cert = certificates[0]
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise ValidationError(
            _("该证书不是CA证书(基本约束未标明CA),不能作为受信任根证书"), code="not_ca"
        )
    if is_sm2_certificate(cert) and not sm2.has_sm2_key(cert):
        raise ValidationError(_("不支持该根证书的密钥算法"), code="unsupported_algorithm")
    if cert.not_valid_after_utc < now:
        raise ValidationError(_("该CA证书已过期,不能作为受信任根证书"), code="root_expired")

    digest = fingerprint(cert)
    root = TrustedCARoot.objects.select_for_update().filter(fingerprint_sha256=digest).first()
    if root is not None:
        if not root.is_active:
            root.is_active = True
            root.save(update_fields=["is_active"])
            audit_log(
                action="ca.root_trusted", actor=actor, obj=root, details={"fingerprint": digest}
            )
        return root
    root = TrustedCARoot(
        name=name,
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        fingerprint_sha256=digest,
        subject=cert.subject.rfc4514_string()[:500],
        not_after=cert.not_valid_after_utc,
    )
    root.full_clean()
    root.save()
    audit_log(action="ca.root_trusted", actor=actor, obj=root, details={"fingerprint": digest})
    return root


@transaction.atomic
def ca_root_set_active(*, root: TrustedCARoot, is_active: bool, actor=None) -> TrustedCARoot:
    """Stop or resume trusting a root; certificates under an inactive root are refused."""
    if root.is_active != is_active:
        root.is_active = is_active
        root.save(update_fields=["is_active"])
        audit_log(
            action="ca.root_trusted" if is_active else "ca.root_distrusted",
            actor=actor,
            obj=root,
            details={"fingerprint": root.fingerprint_sha256},
        )
    return root


def _load_crl(data: bytes) -> x509.CertificateRevocationList:
    data = bytes(data or b"")
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        raise ValidationError(_("文件不是有效的证书吊销列表(CRL)"), code="not_crl") from None


def _crl_signer(crl: x509.CertificateRevocationList) -> x509.Certificate | None:
    for root in trusted_roots():
        if root.subject != crl.issuer:
            continue
        if is_sm2_certificate(root):
            # SM2-with-SM3 over the TBSCertList, default signer ID (GM/T 0009), through openssl.
            try:
                if sm2.signed_by(crl, root):
                    return root
            except sm2.OpenSSLUnavailable as exc:
                raise ValidationError(
                    _("暂时无法验证SM2签名(openssl命令不可用),CRL未导入"), code="sm2_unavailable"
                ) from exc
            continue
        try:
            if crl.is_signature_valid(root.public_key()):
                return root
        except (TypeError, ValueError, UnsupportedAlgorithm):
            continue
    return None


@transaction.atomic
def ca_crl_load(*, data: bytes, actor=None) -> CertificateRevocationList:
    """Store a CRL (PEM or DER) signed by a trusted root, unless a newer one is already stored."""
    crl = _load_crl(data)
    signer = _crl_signer(crl)
    if signer is None:
        raise ValidationError(
            _("CRL不是由受信任的CA根证书签发(签名无法验证),未导入"), code="crl_untrusted"
        )
    issuer_key_hash = public_key_hash(signer)
    stored = (
        CertificateRevocationList.objects.select_for_update()
        .filter(issuer_key_hash=issuer_key_hash)
        .first()
    )
    if stored is not None and stored.this_update >= crl.last_update_utc:
        return stored
    stored = stored or CertificateRevocationList(issuer_key_hash=issuer_key_hash)
    stored.issuer = crl.issuer.rfc4514_string()[:500]
    stored.crl_der = crl.public_bytes(serialization.Encoding.DER)
    stored.this_update = crl.last_update_utc
    stored.next_update = crl.next_update_utc
    stored.revoked_count = len(crl)
    stored.full_clean()
    stored.save()
    audit_log(
        action="ca.crl_loaded",
        actor=actor,
        obj=stored,
        details={
            "issuer_key_hash": issuer_key_hash,
            "this_update": stored.this_update.isoformat(),
            "revoked_count": stored.revoked_count,
        },
    )
    return stored


@transaction.atomic
def ca_challenge_issue(
    *,
    purpose: str,
    application: RegistrationApplication | None = None,
    now: datetime.datetime | None = None,
) -> CAChallenge:
    """Issue a single-use challenge for the unit's USB-Key to sign; it expires in minutes."""
    if purpose not in CAChallenge.Purpose.values:
        raise ValueError(f"unknown challenge purpose {purpose!r}")
    if purpose == CAChallenge.Purpose.REGISTRATION and application is None:
        raise ValueError("a registration challenge belongs to an application")
    challenge = CAChallenge(
        nonce=secrets.token_urlsafe(32),
        purpose=purpose,
        application=application,
        expires_at=(now or timezone.now()) + CHALLENGE_TTL,
    )
    challenge.full_clean()
    challenge.save()
    return challenge


def _redeem(*, nonce, purpose, application, certificate, signature, expected_uscc, now):
    challenge = CAChallenge.objects.select_for_update().filter(nonce=nonce).first()
    if challenge is None:
        raise CertificateRejected("challenge_unknown", CHALLENGE_GONE)
    if challenge.used_at is not None:
        raise CertificateRejected("challenge_used", CHALLENGE_GONE)
    # Whatever happens next, this challenge has been presented once and is spent.
    challenge.used_at = now
    challenge.save(update_fields=["used_at"])
    if challenge.expires_at <= now:
        raise CertificateRejected("challenge_expired", CHALLENGE_GONE)
    if challenge.purpose != purpose or challenge.application_id != (
        application.pk if application is not None else None
    ):
        raise CertificateRejected("challenge_mismatch", CHALLENGE_GONE)
    return verify_unit_certificate(
        certificate=certificate,
        signature=signature,
        challenge=challenge.nonce,
        expected_uscc=expected_uscc,
        now=now,
    )


def ca_challenge_redeem(
    *,
    nonce: str,
    purpose: str,
    application: RegistrationApplication | None = None,
    certificate: bytes,
    signature: bytes | str,
    expected_uscc: str,
    actor=None,
    request=None,
    now: datetime.datetime | None = None,
) -> CertificateCheck:
    """Spend a challenge on one certificate and signature; raise CertificateRejected if refused.

    The challenge is spent and the attempt audited even when verification fails, so the
    transaction commits before the refusal is raised: call this outside any atomic block the
    refusal would roll back.
    """
    now = now or timezone.now()
    with transaction.atomic():
        try:
            check = _redeem(
                nonce=nonce,
                purpose=purpose,
                application=application,
                certificate=certificate,
                signature=signature,
                expected_uscc=expected_uscc,
                now=now,
            )
        except CertificateRejected as exc:
            refusal = exc
            outcome = AuditEvent.Outcome.FAILURE
            details = {"reason": exc.code, "serial": exc.serial, "fingerprint": exc.fingerprint}
        else:
            refusal = None
            outcome = AuditEvent.Outcome.SUCCESS
            details = {
                "serial": check.serial,
                "fingerprint": check.fingerprint,
                "algorithm": check.algorithm,
                "crl_status": check.crl_status,
            }
        audit_log(
            action="ca.verify",
            actor=actor,
            request=request,
            employer_id=application.employer_id if application is not None else None,
            outcome=outcome,
            obj=application,
            details={"purpose": purpose, **details},
        )
    if refusal is not None:
        raise refusal
    return check
