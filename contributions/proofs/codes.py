"""A proof's verification code and the addresses that check it."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.urls import reverse

# 16 characters of 31 (no 0/O, 1/I/L): about 79 bits, read aloud and typed without confusion.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


CODE_LENGTH = 16


CODE_GROUP = 4


CODE_INPUT_MAX = 64


def proof_code_new() -> str:
    """Return a fresh random verification code (16 characters, no look-alikes)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def proof_code_normalise(text) -> str:
    """Bring a typed or scanned code to the stored form: no spaces or dashes, upper case."""
    text = str(text or "")[:CODE_INPUT_MAX]
    return re.sub(r"[\s\-‐‑‒–—_]+", "", text).upper()


def proof_code_looks_valid(code: str) -> bool:
    """Tell whether a normalised code is made of letters and digits only (safe in a URL)."""
    return bool(re.fullmatch(r"[0-9A-Z]{1,32}", code))


def proof_code_display(code: str) -> str:
    """Group a code for reading: ABCD-EFGH-JKMN-PQRS."""
    return "-".join(code[i : i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))


def _public_base() -> str:
    return str(getattr(settings, "PORTAL_PUBLIC_BASE_URL", "") or "").rstrip("/")


def _absolute(path: str, request=None) -> str:
    base = _public_base()
    if base:
        return base + path
    if request is not None:
        return request.build_absolute_uri(path)
    return path


def proof_check_url(code: str, request=None) -> str:
    """The absolute address of the public check page of ``code`` (what the QR code holds).

    PORTAL_PUBLIC_BASE_URL (the address the public reaches the portal at) wins over the host of
    the request: an agent may issue the proof from an intranet address the public cannot reach.
    """
    return _absolute(reverse("proof_public:check", args=[code]), request)


def proof_form_url(request=None) -> str:
    """The absolute address of the public page where a code is typed in."""
    return _absolute(reverse("proof_public:form"), request)
