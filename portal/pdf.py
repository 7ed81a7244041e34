"""What every PDF of the portal shares: the CJK font, and text that is always escaped.

reportlab's Paragraph reads its text as markup (``<font>``, ``<img>``, ``<a>``, ``<br/>``): a
person's name such as ``<font size="28" color="red">已审核通过</font>`` would print as forged
official text, and an ``<img src=…>`` name makes reportlab fail. So no module builds a Paragraph
from text itself: ``text_paragraph`` escapes what it is given, and ``lines_paragraph`` escapes
each line and joins them with line breaks (tests/test_architecture.py keeps it that way).

The font: forms and proofs are printed and archived, so an installed TrueType CJK font is
embedded (subset) when one is found; otherwise the text is set in the CID font STSong-Light,
which needs no file but is not embedded (viewers substitute a Song face). reportlab reads
TrueType outlines only: the OpenType/CFF Noto CJK collection that Debian's fonts-noto-cjk
installs is refused ("postscript outlines are not supported"), so it is tried last;
fonts-wqy-microhei or fonts-wqy-zenhei give an embedded font. ``ENROLMENT_PDF_FONT`` (a path)
overrides the search.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from functools import cache
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import translation
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph

logger = logging.getLogger(__name__)

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)
FALLBACK_FONT = "STSong-Light"


def in_form_language(func):
    """Run ``func`` with LANGUAGE_CODE (Chinese) active, whatever language the page uses.

    Official forms (the PDFs, a proof's stored content) are Chinese documents: a choice label or
    a lazy text they print must not follow an agent who browses in English.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with translation.override(settings.LANGUAGE_CODE):
            return func(*args, **kwargs)

    return wrapper


@cache
def cjk_font() -> str:
    """Register and return the name of the font for Chinese text (embedded when possible)."""
    configured = getattr(settings, "ENROLMENT_PDF_FONT", "")
    for index, path in enumerate(([configured] if configured else []) + list(FONT_CANDIDATES)):
        name = f"PortalCJK{index}"
        try:
            pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
        except Exception:  # noqa: BLE001 — missing file or outlines reportlab cannot read
            continue
        return name
    logger.info("no embeddable CJK TrueType font found; using %s (not embedded)", FALLBACK_FONT)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT


def pdf_text(value) -> str:
    """The value as Paragraph text that reportlab prints literally (markup escaped)."""
    # Control characters other than the line breaks are dropped: they have no glyph.
    text = "".join(ch for ch in str(value) if ch >= " " or ch in "\n\t")
    return escape(text, {'"': "&quot;"})


def text_paragraph(value, style: ParagraphStyle) -> Paragraph:
    """A paragraph that prints ``value`` exactly as it is."""
    return Paragraph(pdf_text(value), style)


def lines_paragraph(lines: Iterable, style: ParagraphStyle) -> Paragraph:
    """A paragraph of several lines, each printed exactly as it is."""
    return Paragraph("<br/>".join(pdf_text(line) for line in lines), style)
