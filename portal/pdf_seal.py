"""The electronic seal image printed on official PDFs: drawn from the agency's name, or ops' file.

A red round seal in the shape of a Chinese 业务专用章 (GA 241 gives the shape of official seals):
the agency's name along the upper arc, a five-pointed star in the middle, the seal's purpose
below it. It is drawn at run time from the configured name, so no agency's real seal is ever
kept in the repository; ops who hold the agency's electronic seal image set
``PROOF_SEAL_IMAGE`` to its file (PNG with transparency is best), or ``PROOF_SEAL_IMAGES`` per
region code, and it is used as it is.

The image only shows who issued the document; what a third party can check offline is the
digital signature (portal.pdf_signing).
"""

from __future__ import annotations

import io
import logging
import math
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

SEAL_PURPOSE = "业务专用章"
SEAL_RED = (214, 26, 32, 215)  # a little of the text under the seal shows through
SIZE = 600  # pixels; printed at 40 mm this is about 380 dpi


def _font(size: int) -> ImageFont.FreeTypeFont | None:
    # The same files as the PDF text (portal.pdf): FreeType also reads the OpenType Noto CJK
    # collection that reportlab refuses.
    from portal.pdf import FONT_CANDIDATES

    configured = getattr(settings, "ENROLMENT_PDF_FONT", "")
    for path in ([configured] if configured else []) + list(FONT_CANDIDATES):
        try:
            return ImageFont.truetype(path, size, index=0)
        except OSError:
            continue
    return None


def _star(draw: ImageDraw.ImageDraw, centre: float, outer: float) -> None:
    inner = outer * math.sin(math.radians(18)) / math.sin(math.radians(126))
    points = []
    for index in range(10):
        radius = outer if index % 2 == 0 else inner
        angle = math.pi * index / 5
        points.append((centre + radius * math.sin(angle), centre - radius * math.cos(angle)))
    draw.polygon(points, fill=SEAL_RED)


def _glyph(char: str, font: ImageFont.FreeTypeFont, box: int) -> Image.Image:
    mask = Image.new("L", (box, box), 0)
    ImageDraw.Draw(mask).text((box / 2, box / 2), char, font=font, fill=255, anchor="mm")
    return mask


def draw_seal(name: str, *, purpose: str = SEAL_PURPOSE) -> Image.Image:
    """A round red seal with ``name`` along the upper arc, a star and ``purpose`` (RGBA)."""
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    centre = SIZE / 2
    ring = round(SIZE * 0.035)
    draw.ellipse(
        (ring / 2, ring / 2, SIZE - ring / 2, SIZE - ring / 2), outline=SEAL_RED, width=ring
    )
    _star(draw, centre, SIZE * 0.15)

    chars = [char for char in name if not char.isspace()]
    # Long names get smaller characters so that they stay within about 250 degrees of arc.
    char_size = round(
        min(SIZE * 0.115, 2 * math.pi * SIZE * 0.33 * (250 / 360) / max(len(chars), 1))
    )
    font = _font(char_size)
    if font is None:
        logger.warning("no CJK font file for the seal text; the seal is drawn without its text")
        return image
    radius = centre - ring * 1.6 - char_size * 0.55
    step = min(250 / max(len(chars), 1), math.degrees(char_size * 1.1 / radius))
    span = step * len(chars)
    box = round(char_size * 1.5)
    for index, char in enumerate(chars):
        angle = -span / 2 + step * (index + 0.5)  # degrees clockwise from the top
        glyph = _glyph(char, font, box).rotate(-angle, resample=Image.Resampling.BICUBIC)
        x = centre + radius * math.sin(math.radians(angle)) - box / 2
        y = centre - radius * math.cos(math.radians(angle)) - box / 2
        image.paste(SEAL_RED, (round(x), round(y), round(x) + box, round(y) + box), glyph)

    purpose_font = _font(round(SIZE * 0.085))
    draw.text((centre, SIZE * 0.73), purpose, font=purpose_font, fill=SEAL_RED, anchor="mm")
    return image


@lru_cache(maxsize=16)
def _configured_seal(path: str) -> bytes:
    try:
        with Image.open(Path(path)) as configured:
            configured.load()
            buffer = io.BytesIO()
            configured.convert("RGBA").save(buffer, format="PNG")
    except OSError as exc:
        raise ImproperlyConfigured(f"PROOF_SEAL_IMAGE cannot be read as an image: {exc}") from None
    return buffer.getvalue()


@lru_cache(maxsize=64)
def _drawn_seal(name: str) -> bytes:
    buffer = io.BytesIO()
    draw_seal(name).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def seal_png(issuer_name: str, region_code: str = "") -> bytes:
    """The seal image for ``issuer_name`` as PNG bytes: ops' file when configured, else drawn."""
    by_region = getattr(settings, "PROOF_SEAL_IMAGES", {}) or {}
    configured = by_region.get(region_code) or getattr(settings, "PROOF_SEAL_IMAGE", "")
    if configured:
        return _configured_seal(configured)
    return _drawn_seal(issuer_name)
