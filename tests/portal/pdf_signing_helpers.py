"""Reading back what portal.pdf puts in an official PDF: the signature and the seal image."""

from __future__ import annotations

import io
from pathlib import Path

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from portal.pdf_signing import dev_signing_files


def dev_root() -> Path:
    return dev_signing_files().root


def signature_status(data: bytes, root: Path | None = None) -> PdfSignatureStatus:
    """Validate the PDF's one signature with pyHanko, trusting ``root`` (the dev test root)."""
    signatures = PdfFileReader(io.BytesIO(data)).embedded_signatures
    assert len(signatures) == 1
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(root or dev_root()))])
    return validate_pdf_signature(signatures[0], context)


def red_share(image) -> float:
    """The share of an image's pixels that are seal red."""
    data = image.convert("RGB").tobytes()
    pixels = [data[index : index + 3] for index in range(0, len(data), 3)]
    red = sum(1 for r, g, b in pixels if r > 150 and g < 90 and b < 90)
    return red / len(pixels)


def pdf_images(data: bytes) -> list:
    """Every image drawn on the PDF's pages, as Pillow images."""
    return [item.image for page in PdfReader(io.BytesIO(data)).pages for item in page.images]
