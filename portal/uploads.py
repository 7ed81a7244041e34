"""Uploaded scans and photos (JPG/PNG/PDF): checked by what the file is, not by what it is called.

One check for every upload a clerk will open (增员 attachments, 留言板 attachments). Images are
opened and verified by Pillow with its decompression-bomb limit; PDFs must have a PDF's structure
(header, cross-reference, end-of-file marker), parse with pypdf, and hold no active content
(scripts, actions, launch, embedded files: PDF_ACTIVE_KEYS and PDF_ACTIVE_NAMES). The name's
extension and the browser's content type must agree with the content. Callers store the bytes
through Django's storage API under random names.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, UnidentifiedImageError

DEFAULT_MAX_BYTES = 5 * 1024 * 1024

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
EXTENSIONS = {"jpg": JPEG, "jpeg": JPEG, "png": PNG, "pdf": PDF}
TYPE_LABELS = {JPEG: "JPG", PNG: "PNG", PDF: "PDF"}
# Browsers send these when they do not know better; they say nothing about the content.
VAGUE_CONTENT_TYPES = {"", "application/octet-stream", "binary/octet-stream"}
CONTENT_TYPE_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "image/x-png": PNG}

ALLOWED_HINT = gettext_lazy("JPG、PNG或PDF")


@dataclass(frozen=True)
class CheckedFile:
    """An upload whose content passed the checks; ``data`` is what will be stored."""

    original_name: str
    content_type: str
    size: int
    sha256: str
    data: bytes


def sniff(data: bytes) -> str | None:
    """Return the content type the first bytes announce, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def _describe_unknown(data: bytes) -> str:
    head = data[:512].lstrip().lower()
    if data.startswith(b"MZ") or data.startswith(b"\x7fELF"):
        return _("该文件是可执行程序,不能作为附件上传。请上传%s格式的扫描件或照片。") % ALLOWED_HINT
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<svg", b"<script")):
        return _("该文件是网页或脚本,不是图片或PDF。请上传%s格式的扫描件或照片。") % ALLOWED_HINT
    return _("无法识别该文件的内容,只接受%s格式的文件。") % ALLOWED_HINT


def _verify_image(data: bytes, expected: str) -> None:
    """Open and verify an image; refuse decompression bombs (Pillow's MAX_IMAGE_PIXELS)."""
    broken = _("图片文件已损坏或格式不正确,请重新扫描或拍照后上传。")
    bomb = _("图片像素过大(可能是恶意构造的文件),请缩小后重新上传。")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                limit = Image.MAX_IMAGE_PIXELS
                if limit and image.width * image.height > limit:
                    raise ValidationError(bomb, code="decompression_bomb")
                if image.format != {JPEG: "JPEG", PNG: "PNG"}[expected]:
                    raise ValidationError(broken, code="image_format")
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(bomb, code="decompression_bomb") from None
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ValidationError(broken, code="image_broken") from None


# What makes a PDF act rather than show: scripts, actions run on opening or on events, launching
# programs, fetching or submitting elsewhere, embedded files and media, XFA forms. A clerk opens
# these files in a browser or reader: none of it belongs in a scanned document.
PDF_ACTIVE_KEYS = frozenset(
    {"/JS", "/JavaScript", "/OpenAction", "/AA", "/EmbeddedFiles", "/RichMedia", "/XFA"}
)
PDF_ACTIVE_NAMES = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/EmbeddedFile",
        "/SubmitForm",
        "/ImportData",
        "/GoToR",
        "/GoToE",
        "/RichMedia",
        "/Sound",
        "/Movie",
    }
)
# A scanned contract has a few hundred objects; far more is refused rather than walked for long.
PDF_MAX_OBJECTS = 50_000
PDF_ACTIVE = _(
    "PDF文件中含有脚本、自动执行的动作或嵌入的文件,出于安全考虑不能上传。"
    "请用扫描件或“打印为PDF”重新生成后上传。"
)


# What the walk does with an object, by its class. pypdf's objects derive from a typing
# Protocol, so each isinstance() against their classes goes through typing's slow
# _ProtocolMeta.__instancecheck__ (a third of a small PDF's walk); for these concrete classes
# the answer depends on the class alone, so it is asked once per class and kept.
_OTHER, _INDIRECT, _DICTIONARY, _ARRAY, _NAME = range(5)
_PDF_KINDS: dict[type, int] = {}


def _pdf_kind(cls: type) -> int:
    kind = _PDF_KINDS.get(cls)
    if kind is None:
        from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

        kind = _OTHER
        for base, found in (
            (IndirectObject, _INDIRECT),
            (DictionaryObject, _DICTIONARY),  # streams are dictionaries too
            (ArrayObject, _ARRAY),
            (NameObject, _NAME),
        ):
            if issubclass(cls, base):
                kind = found
                break
        _PDF_KINDS[cls] = kind
    return kind


def _pdf_active_content(reader) -> bool:
    """Walk every object reachable from the trailer; tell whether any of it is active content."""
    seen: set[tuple[int, int]] = set()
    stack = [reader.trailer]
    visited = 0
    while stack:
        obj = stack.pop()
        kind = _pdf_kind(type(obj))
        if kind == _INDIRECT:
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
            kind = _pdf_kind(type(obj))
        visited += 1
        if visited > PDF_MAX_OBJECTS:
            return True
        if kind == _DICTIONARY:
            if PDF_ACTIVE_KEYS.intersection(obj.keys()):
                return True
            stack.extend(value for name, value in obj.items() if name != "/Parent")
        elif kind == _ARRAY:
            stack.extend(obj)
        elif kind == _NAME and obj in PDF_ACTIVE_NAMES:
            return True
    return False


def _verify_pdf(data: bytes) -> None:
    """A real PDF: header, a cross-reference, %%EOF near the end; pages; no active content."""
    broken = _("PDF文件结构不完整或已损坏,请重新导出或扫描后上传。")
    tail = data[-2048:]
    if b"%%EOF" not in tail or not (b"startxref" in tail or b"trailer" in data or b"xref" in data):
        raise ValidationError(broken, code="pdf_structure")
    import pypdf

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ValidationError(
                _("PDF文件已加密,经办人员无法查看。请去除密码后上传。"), code="pdf_encrypted"
            )
        if len(reader.pages) < 1:
            raise ValidationError(broken, code="pdf_empty")
        active = _pdf_active_content(reader)
    except ValidationError:
        raise
    except Exception:  # noqa: BLE001 — pypdf raises many types for a malformed file
        raise ValidationError(broken, code="pdf_parse") from None
    if active:
        raise ValidationError(PDF_ACTIVE, code="pdf_active_content")


def upload_check(upload, *, max_bytes: int = DEFAULT_MAX_BYTES) -> CheckedFile:
    """Check one uploaded file (Django UploadedFile or any file with ``name``); return it read."""
    limit = max_bytes
    name = str(getattr(upload, "name", "") or "")
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError(
            _("文件大小为 %(size).1f MB,超过 %(limit)d MB 的上限,请压缩或分辨率调低后上传。")
            % {"size": size / 1024 / 1024, "limit": limit // (1024 * 1024)},
            code="too_large",
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    upload.seek(0)
    if len(data) > limit:
        raise ValidationError(
            _("文件超过 %(limit)d MB 的上限,请压缩或分辨率调低后上传。")
            % {"limit": limit // (1024 * 1024)},
            code="too_large",
        )
    if not data:
        raise ValidationError(_("文件是空的,请重新选择。"), code="empty")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    declared = EXTENSIONS.get(extension)
    if declared is None:
        raise ValidationError(
            _("只接受%(allowed)s格式的文件(扩展名 .jpg .jpeg .png .pdf),所选文件是“.%(ext)s”。")
            % {"allowed": ALLOWED_HINT, "ext": extension or _("无扩展名")},
            code="extension",
        )
    actual = sniff(data)
    if actual is None:
        raise ValidationError(_describe_unknown(data), code="content")
    if actual != declared:
        raise ValidationError(
            _("文件扩展名是 .%(ext)s,但内容是%(actual)s文件。请上传真实的%(declared)s文件。")
            % {"ext": extension, "actual": TYPE_LABELS[actual], "declared": TYPE_LABELS[declared]},
            code="mismatch",
        )
    content_type = (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    content_type = CONTENT_TYPE_ALIASES.get(content_type, content_type)
    if content_type not in VAGUE_CONTENT_TYPES and content_type != actual:
        raise ValidationError(
            _("文件类型(%(declared)s)与文件内容(%(actual)s)不一致,请重新选择文件。")
            % {"declared": content_type, "actual": TYPE_LABELS[actual]},
            code="content_type",
        )
    if actual == PDF:
        _verify_pdf(data)
    else:
        _verify_image(data, actual)
    return CheckedFile(
        original_name=name.replace("\\", "/").rsplit("/", 1)[-1][:200],
        content_type=actual,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
    )
