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

Official documents (proofs, 个人权益记录, 缴费通知单) end with the issuing agency's name under its
electronic seal and are signed by the agency's certificate: ``official_pdf`` builds such a
document from a story, ``seal_block`` and ``sign_pdf`` are its two steps for a document built
another way. The agency's name is a setting per deployment (``PROOF_ISSUER_NAME``) or per
pooling region (``PROOF_ISSUER_NAMES``, by region code).
"""

from __future__ import annotations

import copy
import functools
import io
import logging
import re
import weakref
import zlib
from collections.abc import Callable, Iterable
from functools import cache
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import translation
from reportlab import rl_config
from reportlab.lib import textsplit
from reportlab.lib.colors import Color
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.rl_accel import fp_str
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate
from reportlab.platypus import paragraph as rl_paragraph
from reportlab.platypus.paragraph import cleanBlockQuotedText, textTransformFrags
from reportlab.platypus.paraparser import ParaFrag, ParaParser

from portal.pdf_seal import seal_png
from portal.pdf_signing import sign_pdf

logger = logging.getLogger(__name__)

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)
FALLBACK_FONT = "STSong-Light"

# reportlab writes compressed streams (the seal image, the pages, the embedded font) as
# ASCII85 text by default, a pure-Python encoder that cost most of a proof's PDF time; binary
# streams are what every other PDF writer produces and read the same everywhere.
rl_config.useA85 = 0


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


@functools.lru_cache(maxsize=32)
def _font_subset(face: TTFontFace, codes: tuple[int, ...]) -> tuple[bytes, bytes]:
    """reportlab's subset of ``face`` for these characters (in this order), and the subset
    compressed as reportlab compresses it (``PDFZCompress``): made once for documents that use
    the same characters, as a unit's proofs do."""
    content = TTFontFace.makeSubset(face, codes)
    return content, zlib.compress(content)


class _Deflated:
    """A FlateDecode stream filter whose output was computed beforehand (``_font_subset``)."""

    pdfname = "FlateDecode"

    def __init__(self, compressed: bytes):
        self.compressed = compressed

    def encode(self, content) -> bytes:
        return self.compressed


class _SubsetCachingFace(TTFontFace):
    """A TrueType face whose subsets are made and compressed once per set of characters.

    Cutting the glyphs of a subset out of the font and compressing them took about 3 ms of
    each PDF. The PDF objects are the ones reportlab's ``addSubsetObjects`` makes, around the
    same font stream (same content, same compressed bytes).
    """

    def makeSubset(self, subset):
        return _font_subset(self, tuple(subset))[0]

    def addSubsetObjects(self, doc, fontname, subset):
        reference = super().addSubsetObjects(doc, fontname, subset)
        if doc.compression:  # reportlab gave the font stream the one filter PDFZCompress
            font_file = doc.idToObject["fontFile:%s(%s)" % (self.filename, fontname)]  # noqa: UP031
            font_file.filters = [_Deflated(_font_subset(self, tuple(subset))[1])]
        return reference


@cache
def cjk_font() -> str:
    """Register and return the name of the font for Chinese text (embedded when possible)."""
    configured = getattr(settings, "ENROLMENT_PDF_FONT", "")
    for index, path in enumerate(([configured] if configured else []) + list(FONT_CANDIDATES)):
        name = f"PortalCJK{index}"
        try:
            font = TTFont(name, path, subfontIndex=0)
        except Exception:  # noqa: BLE001 — missing file or outlines reportlab cannot read
            continue
        # The face reportlab made, its subsets made once per set of characters (it has no
        # state of its own to set up).
        font.face.__class__ = _SubsetCachingFace
        pdfmetrics.registerFont(font)
        return name
    logger.info("no embeddable CJK TrueType font found; using %s (not embedded)", FALLBACK_FONT)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT


def pdf_text(value) -> str:
    """The value as Paragraph text that reportlab prints literally (markup escaped)."""
    # Control characters other than the line breaks are dropped: they have no glyph.
    text = str(value)
    if _CONTROL.search(text):
        text = "".join(ch for ch in text if ch >= " " or ch in "\n\t")
    if _MARKUP.search(text) is None:  # most cells: nothing to escape
        return text
    return escape(text, {'"': "&quot;"})


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")  # what pdf_text drops
_MARKUP = re.compile('[&<>"]')  # what pdf_text escapes
# Text that reportlab's cleanBlockQuotedText leaves as it is: words of characters that are
# neither whitespace (str.isspace, which \s matches) nor the zero width space reportlab also
# splits at, one ASCII space between two words, none at either end.
_CLEAN = re.compile("[^\\s\u200b]+(?: [^\\s\u200b]+)*\\Z")


def clean_text(text: str) -> str:
    """reportlab's ``cleanBlockQuotedText(text)``, what Paragraph does to its text (whitespace
    collapsed to single spaces), without splitting text that it would leave as it is."""
    return text if _CLEAN.match(text) else cleanBlockQuotedText(text)


# The fragment reportlab's parser makes for a style's plain text, by style (see text_paragraph),
# taken when the style is first used: the portal's styles are not changed once made.
_plain_fragments: weakref.WeakKeyDictionary[ParagraphStyle, ParaFrag] = weakref.WeakKeyDictionary()


def _plain_fragment(style: ParagraphStyle, text: str) -> ParaFrag:
    """The fragment reportlab's parser makes of ``text`` without markup, in ``style``."""
    template = _plain_fragments.get(style)
    if template is None:
        parser = ParaParser()
        parser.caseSensitive = 1  # what Paragraph gives its parser
        _style, (template,), _bullet = parser.parse("x", style)
        _plain_fragments[style] = template
    # A shallow copy; the parser gives each paragraph lists of its own (links, underlines).
    return _clone(template, link=[], us_lines=[], text=text)


def _clone(fragment: ParaFrag, **changes) -> ParaFrag:
    """``fragment.clone(**changes)``: the same class and attributes, made with one dict copy
    instead of a call with every attribute as a keyword argument."""
    copied = object.__new__(type(fragment))
    copied.__dict__ = {**fragment.__dict__, **changes}
    return copied


# The width of each character reportlab has measured, by font and size: what
# reportlab.lib.textsplit.getCharWidths gives, one stringWidth call per character of every line.
_char_widths: dict[tuple[str, float], dict[str, float]] = {}


def char_widths(text: str, font_name: str, font_size: float) -> list[float]:
    """``getCharWidths(text, font_name, font_size)``, each character measured once a process."""
    known = _char_widths.get((font_name, font_size))
    if known is None:
        known = _char_widths[font_name, font_size] = {}
    try:
        return [known[char] for char in text]
    except KeyError:
        for char in text:
            if char not in known:
                known[char] = pdfmetrics.stringWidth(char, font_name, font_size)
        return [known[char] for char in text]


class _PlainParagraph(Paragraph):
    """A paragraph that keeps its lines for the width it was last wrapped at.

    A table wraps each cell's paragraphs twice at the column's width, to size the row and again
    to draw it; the second time breaks the same text into the same lines. The lines of a CJK
    paragraph are reportlab's (``breakLinesCJK`` for one fragment: ``wordSplit``), found with
    the characters' widths measured once a process (``char_widths``) and, for text that fits
    on its first line, without cutting it character by character.
    """

    _wrapped_at: tuple[float, tuple[float, float]] | None = None

    def wrap(self, availWidth, availHeight):
        if self._wrapped_at is None or self._wrapped_at[0] != availWidth:
            self._wrapped_at = (availWidth, super().wrap(availWidth, availHeight))
        return self._wrapped_at[1]

    def breakLinesCJK(self, maxWidths):
        frags = self.frags
        if (
            len(frags) != 1
            or self.bulletText
            or self.style.endDots
            or hasattr(frags[0], "cbDefn")
            or not hasattr(frags[0], "text")
            or getattr(self, "_splitpara", 0)
        ):
            return super().breakLinesCJK(maxWidths)
        if not isinstance(maxWidths, list | tuple):
            maxWidths = [maxWidths]
        self.height = 0
        fragment = frags[0]
        text = fragment.text
        widths = char_widths(text, fragment.fontName, fragment.fontSize)
        used = 0
        for width in widths:  # added in order, as dumbSplit adds them (not sum())
            used += width
        if used <= maxWidths[0] + textsplit._FUZZ:
            # dumbSplit keeps the whole text on the first line: no prefix is wider than it.
            lines = [[maxWidths[0] - used, text]] if used > 0 else []
        else:
            lines = textsplit.dumbSplit(text, widths, maxWidths)
        return _clone(
            fragment,
            kind=0,
            lines=[(space, [line]) for space, line in lines],
            ascent=fragment.fontSize,
            descent=-0.2 * fragment.fontSize,
        )

    def drawOn(self, canvas, x, y, _sW=0):
        """Flowable.drawOn and Paragraph.drawPara for a paragraph of one plain line.

        A proof draws about 110 table cells of one line each; reportlab spends most of a cell's
        time on the machinery around its one text operator (two saved graphics states, a
        translation, a text object). This writes the operators reportlab writes for such a
        line, in the same order and formatted by the same functions: ``q``, the translation,
        ``q``, the text colour, ``BT`` … ``ET``, ``Q``, ``Q``, the text split into the embedded
        font's subsets by the font itself (which numbers the characters as reportlab does).
        What it does not cover (several lines, links, underlines, a background, a bullet,
        justified or right-to-left text, a font that is not embedded TrueType) goes to
        reportlab.
        """
        line = self._one_plain_line(canvas)
        if line is None:
            return super().drawOn(canvas, x, y, _sW)
        font, text, start = line
        fragment = self.blPara
        size = fragment.fontSize
        if rl_paragraph.paraFontSizeHeightOffset:
            top = self.height - size
        else:
            top = self.height - getattr(fragment, "ascent", size)
        _write_line(
            canvas,
            self._hAlignAdjust(x, _sW),
            y,
            font=font,
            text=text,
            origin=(self.style.leftIndent, top),
            start=start,
            size=size,
            leading=self.style.leading,
            colour=fragment.textColor,
        )

    def _one_plain_line(self, canvas):
        """(font, text, x offset) of a paragraph that ``drawOn`` draws itself, else None."""
        paragraph = self.blPara
        style = self.style
        lines = paragraph.lines
        if (
            paragraph.kind != 0
            or len(lines) != 1
            or self.bulletText
            or self.debug
            or getattr(self, "_showBoundary", None)
            or hasattr(self, "_offsets")
            or style.backColor
            or (style.borderColor and style.borderWidth)
            or getattr(self, "autoLeading", getattr(style, "autoLeading", ""))
            or style.wordWrap in ("LTR", "RTL")
            or style.alignment not in (TA_LEFT, TA_CENTER, TA_RIGHT)
            or paragraph.us_lines
            or paragraph.link
            or not canvas.bottomup
        ):
            return None
        font = pdfmetrics.getFont(paragraph.fontName)
        space, words = lines[0]
        text = " ".join(words)
        if not font._dynamicFont or type(text) is not str or space <= -1e-8:
            return None
        start = style.firstLineIndent
        if style.alignment == TA_CENTER:
            start += 0.5 * space
        elif style.alignment == TA_RIGHT:
            start += space
        return font, text, start


def _write_line(canvas, x, y, *, font, text, origin, start, size, leading, colour) -> None:
    """The operators reportlab's Flowable.drawOn and Paragraph.drawPara write for a paragraph
    of one line at (x, y): the text origin within it, the line's x offset (alignment), the
    font's size and the style's leading, the text colour (see _PlainParagraph.drawOn)."""
    code = ["BT", f"1 0 0 1 {fp_str(*origin)} Tm"]
    if start > 1e-6 or start < -1e-6:  # paragraph.setXPos
        code.append(f"{fp_str(start, 0)} Td")
    document, escape_text, subset_now = canvas._doc, canvas._escape, -1
    chunks = []
    for subset, chunk in font.splitString(text, document):  # textobject._formatText
        if subset != subset_now:
            name = font.getSubsetInternalName(subset, document)
            chunks.append(f"{name} {fp_str(size)} Tf {fp_str(leading)} TL")
            subset_now = subset
        chunks.append(f"({escape_text(chunk)}) Tj")
    code.append(" ".join(chunks) + " T*")
    if start > 1e-6 or start < -1e-6:
        code.append(f"{fp_str(-start, 0)} Td")
    code.append("ET")
    colour_operator = _fill_colour(canvas, colour)
    if colour_operator is None:  # what canvas.setFillColor writes is not known beforehand
        canvas._code += ["q", f"{fp_str(1, 0, 0, 1, x, y)} cm"]  # saveState, translate
        canvas.saveState()
        canvas.setFillColor(colour)
        canvas._code.append(" ".join(code))
        canvas.restoreState()
        canvas._code.append("Q")
        return
    # Between the outer q and Q nothing changes the canvas's own state: the operators are
    # those of saveState, translate, saveState, setFillColor, drawText and two restoreState.
    translate = f"{fp_str(1, 0, 0, 1, x, y)} cm"
    canvas._code += ["q", translate, "q", colour_operator, " ".join(code), "Q", "Q"]


def _fill_colour(canvas, colour) -> str | None:
    """What ``canvas.setFillColor(colour)`` writes for an RGB colour whose opacity is the
    canvas's already (so that it writes no ``gs``), else None. As setFillColor, a colour with
    an opacity makes the document a PDF 1.4 (transparency)."""
    if type(colour) is not Color or canvas._enforceColorSpace:
        return None
    alpha = getattr(colour, "alpha", None)
    if alpha is not None:
        if alpha != canvas._extgstate.getValue("ca"):
            return None
        canvas._doc.ensureMinPdfVersion("transparency")
    return f"{fp_str((colour.red, colour.green, colour.blue))} rg"


def text_paragraph(value, style: ParagraphStyle) -> Paragraph:
    """A paragraph that prints ``value`` exactly as it is.

    Text without markup is one fragment of the style: that fragment is given to the paragraph
    instead of having reportlab's HTML parser find it again in every table cell (about 5 ms of
    a proof's 136 paragraphs), and the paragraph is not wrapped twice at one width
    (``_PlainParagraph``). Text with an escaped character (&, <, >, ") goes through the parser,
    which splits it there.
    """
    text = pdf_text(value)
    if "&" in text:
        return Paragraph(text, style)
    text = clean_text(text)  # what Paragraph does to its text: whitespace collapsed
    if not text:
        return Paragraph(text, style)
    fragments = [_plain_fragment(style, text)]
    textTransformFrags(fragments, style)
    return _PlainParagraph(text, style, frags=fragments)


def lines_paragraph(lines: Iterable, style: ParagraphStyle) -> Paragraph:
    """A paragraph of several lines, each printed exactly as it is (wrapped once per width)."""
    return _PlainParagraph("<br/>".join(pdf_text(line) for line in lines), style)


SEAL_SIZE = 40 * mm  # 业务专用章 are commonly 38–42 mm across
MARGINS = {
    "leftMargin": 20 * mm,
    "rightMargin": 20 * mm,
    "topMargin": 18 * mm,
    "bottomMargin": 18 * mm,
}


def issuer_name(region_code: str = "") -> str:
    """The issuing agency's name: the region's own when configured, else the deployment's."""
    by_region = getattr(settings, "PROOF_ISSUER_NAMES", {}) or {}
    return by_region.get(region_code) or settings.PROOF_ISSUER_NAME


@functools.lru_cache(maxsize=32)
def _seal_image(png: bytes) -> pdfdoc.PDFImageXObject:
    """The seal as a PDF image object (with its transparency mask), compressed once per image.

    What ``canvas.drawImage(ImageReader(png), mask="auto")`` makes for every PDF: decoding the
    PNG, naming it by a digest of its pixels and compressing them took about 20 ms a PDF. Keyed
    by the PNG itself (seal_png keeps one bytes object per seal, so the key is cheap), it follows
    the seal settings.
    """
    image = ImageReader(io.BytesIO(png))
    pixels = image.getRGBData()  # sets _dataA, the alpha channel, when there is one
    alpha = image._dataA
    name = pdfdoc._digester(pixels + (alpha.getRGBData() if alpha else b"auto"))
    return pdfdoc.PDFImageXObject(name, image, mask="auto")


def _draw_image_object(canvas, template: pdfdoc.PDFImageXObject, x, y, width, height) -> None:
    """``canvas.drawImage`` for an image object made beforehand (``_seal_image``).

    The same steps as reportlab's drawImage after it has made the object: a copy of the object
    (and of its mask) is registered in this document, then drawn scaled to the box.
    """
    document = canvas._doc
    name = template.name
    reg_name = document.getXObjectName(name)
    if reg_name not in document.idToObject:
        image = copy.copy(template)
        canvas._setXObjects(image)
        document.Reference(image, reg_name)
        document.addForm(name, image)
        smask = getattr(template, "_smask", None)
        if smask is not None:
            del image._smask
            mask_name = document.getXObjectName(smask.name)
            if mask_name not in document.idToObject:
                smask = copy.copy(smask)
                canvas._setXObjects(smask)
                image.smask = document.Reference(smask, mask_name)
            else:
                image.smask = pdfdoc.PDFObjectReference(mask_name)
    canvas._currentPageHasImages = 1
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(width, height)
    canvas._code.append(f"/{reg_name} Do")
    canvas.restoreState()
    canvas._formsinuse.append(name)


class SealBlock(Flowable):
    """The issuer's name and the date, right-aligned, under the agency's seal image."""

    def __init__(self, issuer: str, date_text: str, *, font: str, region_code: str = ""):
        super().__init__()
        self.issuer = issuer
        self.date_text = date_text
        self.font = font
        self.seal = _seal_image(seal_png(issuer, region_code))

    def wrap(self, available_width, available_height):
        self.width = available_width
        self.height = SEAL_SIZE
        return self.width, self.height

    def draw(self):
        canvas = self.canv
        size = 11
        lines = [f"出具机构:{self.issuer}", self.date_text]
        widths = [pdfmetrics.stringWidth(line, self.font, size) for line in lines]
        right = self.width - 4 * mm
        centre_x = right - max(widths) / 2
        centre_y = self.height / 2
        canvas.setFont(self.font, size)
        canvas.drawRightString(right, centre_y + 2, lines[0])
        canvas.drawRightString(right, centre_y - size - 4, lines[1])
        # The seal over the name, as a stamped seal sits over the signature line of a paper form.
        _draw_image_object(
            canvas,
            self.seal,
            centre_x - SEAL_SIZE / 2,
            centre_y - SEAL_SIZE / 2,
            SEAL_SIZE,
            SEAL_SIZE,
        )


def seal_block(issuer: str, date_text: str, *, region_code: str = "") -> Flowable:
    """The closing block of an official document: agency, date and seal (see ``official_pdf``)."""
    return SealBlock(issuer, date_text, font=cjk_font(), region_code=region_code)


def official_pdf(
    story: list,
    *,
    title: str,
    footer_text: str,
    issuer: str,
    date_text: str,
    reason: str,
    region_code: str = "",
    on_page: Callable | None = None,
) -> bytes:
    """Build an official A4 document: ``story``, then the seal block; signed by the agency.

    Every page carries ``footer_text`` and its page number (``on_page(canvas, document)`` may
    draw more). The returned bytes are final: signing is an incremental update, so the file
    must be stored or sent as it is.
    """
    font = cjk_font()

    def footer(canvas, document):
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(20 * mm, 10 * mm, footer_text)
        canvas.drawRightString(A4[0] - 20 * mm, 10 * mm, f"第 {document.page} 页")
        canvas.restoreState()
        if on_page is not None:
            on_page(canvas, document)

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=title,
        author=issuer,
        creator=str(settings.PORTAL_NAME),
        **MARGINS,
    )
    story = [*story, seal_block(issuer, date_text, region_code=region_code)]
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return sign_pdf(buffer.getvalue(), reason=reason)
