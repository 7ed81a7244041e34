"""Official PDFs: the agency's seal image and its PAdES signature (portal.pdf, pyHanko)."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import io
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.management import call_command
from PIL import Image, ImageDraw
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from reportlab.lib.styles import ParagraphStyle

from portal import pdf_signing
from portal.pdf import cjk_font, official_pdf, text_paragraph
from portal.pdf_seal import draw_seal, seal_png
from portal.pdf_signing import DEV_SIGNER_NAME, SigningNotConfigured, dev_signing_files
from tests.contributions.proof_helpers import pdf_text
from tests.portal.pdf_signing_helpers import pdf_images, red_share, signature_status

ISSUER = "演示市社会保险事业管理中心"


def build(**kwargs) -> bytes:
    style = ParagraphStyle("body", fontName=cjk_font(), fontSize=11, leading=18)
    options = {
        "title": "测试文书",
        "footer_text": "测试文书 页脚",
        "issuer": ISSUER,
        "date_text": "开具日期:2026年12月04日",
        "reason": "测试文书",
    }
    options.update(kwargs)
    return official_pdf([text_paragraph("兹证明:正文第一行。", style)], **options)


def test_signed_document_validates_intact_trusted_and_covers_the_whole_file():
    data = build()

    status = signature_status(data)

    assert status.intact and status.valid and status.trusted
    assert status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.signing_cert.subject.native["common_name"] == DEV_SIGNER_NAME
    assert status.md_algorithm == "sha256"
    signature = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES


def test_signing_works_in_a_thread_that_runs_an_event_loop():
    """pyHanko's synchronous API calls asyncio.run(): under a running loop (an ASGI thread, a
    browser test) sign_pdf moves to a thread of its own instead of failing."""

    async def inside_a_loop() -> bytes:
        return build()

    data = asyncio.run(inside_a_loop())

    assert signature_status(data).intact


def test_a_changed_byte_breaks_the_signature():
    data = build()
    date = data.index(b"/CreationDate (D:") + len(b"/CreationDate (D:")
    digit = b"1" if data[date : date + 1] != b"1" else b"2"
    tampered = data[:date] + digit + data[date + 1 :]

    status = signature_status(tampered)

    assert not status.intact and not status.bottom_line


def test_a_signature_from_another_root_is_not_trusted(tmp_path, settings):
    data = build()
    settings.VAR_DIR = tmp_path  # another dev root, made on demand
    pdf_signing._signer.cache_clear()

    status = signature_status(data, root=dev_signing_files().root)

    assert status.intact and not status.trusted


def test_certificate_and_encrypted_key_given_as_pem_text(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    files = dev_signing_files()
    key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase-1"),
    )
    (tmp_path / "proof-signing").rename(tmp_path / "elsewhere")  # not the dev default
    settings.PROOF_SIGNING_CERT = (tmp_path / "elsewhere" / files.cert.name).read_text()
    # As an env file holds it: one line, the line breaks written as \n.
    settings.PROOF_SIGNING_KEY = encrypted.decode().replace("\n", "\\n")
    settings.PROOF_SIGNING_KEY_PASSPHRASE = "passphrase-1"

    data = build()

    status = signature_status(data, root=tmp_path / "elsewhere" / files.root.name)
    assert status.bottom_line and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert not (tmp_path / "proof-signing").exists()  # no dev certificate was made


def test_a_key_of_another_certificate_is_refused_rather_than_signing_invalidly(tmp_path, settings):
    settings.VAR_DIR = tmp_path / "one"
    cert = str(dev_signing_files().cert)
    settings.VAR_DIR = tmp_path / "two"
    settings.PROOF_SIGNING_CERT = cert
    settings.PROOF_SIGNING_KEY = str(dev_signing_files().key)

    with pytest.raises(SigningNotConfigured, match="does not belong"):
        build()


def test_an_ec_key_signs_too_and_two_pdfs_share_the_loaded_key(tmp_path, settings):
    """The signer parses its key once per process (LoadedKeySigner); an ECDSA key, whose
    signatures vary in length, still fits the space estimated once for the key."""
    now = datetime.datetime.now(datetime.UTC)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = pdf_signing._certificate(
        subject=pdf_signing._name("EC test root"),
        issuer=pdf_signing._name("EC test root"),
        public_key=root_key.public_key(),
        signing_key=root_key,
        is_ca=True,
        days=30,
        now=now,
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = pdf_signing._certificate(
        subject=pdf_signing._name("EC test signer"),
        issuer=root.subject,
        public_key=key.public_key(),
        signing_key=root_key,
        is_ca=False,
        days=30,
        now=now,
    )
    pem = serialization.Encoding.PEM
    (tmp_path / "root.pem").write_bytes(root.public_bytes(pem))
    settings.PROOF_SIGNING_CERT = (cert.public_bytes(pem) + root.public_bytes(pem)).decode()
    settings.PROOF_SIGNING_KEY = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()

    first, second = build(), build(title="第二份")

    signer = pdf_signing._signer(*pdf_signing._material())
    assert isinstance(signer, pdf_signing.LoadedKeySigner)
    for data in (first, second):
        status = signature_status(data, root=tmp_path / "root.pem")
        assert status.bottom_line and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        assert status.signing_cert.subject.native["common_name"] == "EC test signer"


def test_the_signature_is_byte_for_byte_the_one_pyhanko_s_own_signer_makes():
    """LoadedKeySigner does once what SimpleSigner does at every signature (the key parsed, the
    signing-certificate-v2 attribute encoded): RSA PKCS#1 v1.5 being deterministic, its CMS for
    a digest is SimpleSigner's, at the first signature and at the next."""
    signer = pdf_signing._signer(*pdf_signing._material())
    plain = signers.SimpleSigner(
        signing_cert=signer.signing_cert,
        signing_key=signer.signing_key,
        cert_registry=signer.cert_registry,
    )
    digest = hashlib.sha256(b"%PDF-1.4 ...").digest()

    def cms(with_signer) -> bytes:
        return asyncio.run(with_signer.async_sign(digest, "sha256", use_pades=True)).dump()

    expected = cms(plain)
    assert isinstance(signer.private_key, rsa.RSAPrivateKey)
    assert cms(signer) == expected
    assert cms(signer) == expected


def test_production_never_falls_back_to_a_test_certificate(settings, tmp_path):
    settings.PRODUCTION = True
    settings.VAR_DIR = tmp_path
    with pytest.raises(SigningNotConfigured):
        build()
    settings.PROOF_SIGNING_CERT = str(tmp_path / "missing.pem")
    settings.PROOF_SIGNING_KEY = str(tmp_path / "missing.key.pem")
    with pytest.raises(SigningNotConfigured, match="cannot read"):
        build()
    assert not (tmp_path / "proof-signing").exists()


def test_the_seal_image_and_the_issuer_are_in_the_pdf_and_the_text_extracts():
    data = build()

    text = pdf_text(data)
    assert f"出具机构:{ISSUER}" in text and "兹证明" in text and "2026年12月04日" in text
    seals = [image for image in pdf_images(data) if image.width >= 500]
    assert len(seals) == 1 and red_share(seals[0]) > 0.05


def test_drawn_seal_is_a_red_ring_with_a_star_and_the_name():
    seal = draw_seal(ISSUER)

    assert seal.size == (600, 600) and seal.mode == "RGBA"
    assert seal.getpixel((300, 300))[:3] == (214, 26, 32)  # the star's middle
    assert seal.getpixel((300, 20))[3] > 0  # the ring at the top
    assert seal.getpixel((40, 40))[3] == 0  # outside the ring: transparent
    # The name and the purpose add red beyond the ring and the star.
    assert red_share(draw_seal("")) < red_share(seal)


def test_ops_seal_image_replaces_the_drawn_one(tmp_path, settings):
    blue = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    ImageDraw.Draw(blue).ellipse((0, 0, 511, 511), fill=(20, 40, 200, 255))
    path = tmp_path / "seal.png"
    blue.save(path)
    settings.PROOF_SEAL_IMAGES = {"110105": str(path)}

    assert seal_png(ISSUER) != seal_png(ISSUER, "110105")
    data = build(region_code="110105")
    (seal,) = [image for image in pdf_images(data) if image.width >= 500]
    assert seal.convert("RGB").getpixel((256, 256)) == (20, 40, 200)


def test_dev_certificate_command_makes_it_once_and_refuses_in_production(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("proof_signing_dev_cert", stdout=out)
    cert = (tmp_path / "proof-signing" / "dev-signer.pem").read_bytes()
    call_command("proof_signing_dev_cert", stdout=out)
    assert (tmp_path / "proof-signing" / "dev-signer.pem").read_bytes() == cert
    assert "已沿用" in out.getvalue()
    call_command("proof_signing_dev_cert", "--force", stdout=out)
    assert (tmp_path / "proof-signing" / "dev-signer.pem").read_bytes() != cert

    settings.PRODUCTION = True
    with pytest.raises(Exception, match="生产环境"):
        call_command("proof_signing_dev_cert")


# PAdES B-T: a time-stamp from an RFC 3161 service (a stub on 127.0.0.1) ----------------------


def tsa_certificate(tmp_path):
    """A time-stamping certificate (critical EKU timeStamping) from its own test root."""
    now = datetime.datetime.now(datetime.UTC)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "测试时间戳根CA")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # the stub is RSA-only
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "测试时间戳服务")]))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    der = serialization.Encoding.DER
    key_der = key.private_bytes(
        der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "tsa-root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    return (
        asn1_x509.Certificate.load(cert.public_bytes(der)),
        asn1_keys.PrivateKeyInfo.load(key_der),
        tmp_path / "tsa-root.pem",
    )


@pytest.fixture
def tsa_server(tmp_path):
    """An RFC 3161 time-stamping service on 127.0.0.1; yields (url, root path, request count)."""
    cert, key, root = tsa_certificate(tmp_path)
    stamper = DummyTimeStamper(tsa_cert=cert, tsa_key=key)
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(self.headers["Content-Type"])
            answer = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/tsa", root, requests
    finally:
        server.shutdown()
        server.server_close()


def test_with_a_tsa_the_signature_carries_a_trusted_time_stamp(tsa_server, settings):
    url, tsa_root, requests = tsa_server
    settings.PROOF_TSA_URL = url

    data = build()

    # pyHanko asks once more beforehand, to size the space the signature takes; the
    # time-stamper keeps that dummy token, so a second PDF costs one request only.
    assert len(requests) == 2 and set(requests) == {"application/timestamp-query"}
    second = build(title="第二份")
    assert len(requests) == 3
    roots = [
        load_cert_from_pemder(str(dev_signing_files().root)),
        load_cert_from_pemder(str(tsa_root)),
    ]
    for pdf in (data, second):
        signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
        status = validate_pdf_signature(signature, ValidationContext(trust_roots=roots))
        assert status.bottom_line and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        assert status.timestamp_validity is not None and status.timestamp_validity.trusted


def test_an_unreachable_tsa_leaves_a_valid_signature_without_a_time_stamp(settings, caplog):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.PROOF_TSA_URL = f"http://127.0.0.1:{port}/tsa"

    status = signature_status(build())

    assert status.bottom_line and status.timestamp_validity is None
    assert "without a time-stamp" in caplog.text


def test_the_seal_made_once_draws_the_same_bytes_as_reportlab_draw_image():
    """portal.pdf keeps the compressed seal image for the process; what it writes is what
    canvas.drawImage writes (twice on a page and on a second page: one image object)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    from portal.pdf import _draw_image_object, _seal_image

    png = seal_png(ISSUER)

    def document(draw) -> bytes:
        buffer = io.BytesIO()
        canvas = Canvas(buffer, invariant=1)
        for _page in range(2):
            for x in (10, 60):
                draw(canvas, x)
            canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    drawn = document(
        lambda canvas, x: canvas.drawImage(
            ImageReader(io.BytesIO(png)), x, 20, 100, 100, mask="auto"
        )
    )
    cached = document(
        lambda canvas, x: _draw_image_object(canvas, _seal_image(png), x, 20, 100, 100)
    )

    assert cached == drawn
