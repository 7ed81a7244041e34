"""Personal data at rest: AES-256-GCM envelopes and an HMAC-SHA256 blind index.

ID numbers, phone numbers and bank accounts (PIPL art. 28 sensitive or identifying data) are
stored only as ciphertext. Exact look-ups and unique constraints use a keyed hash of the
normalised value, kept in a column of its own. Both keys come from settings (the environment),
never from the database; the encryption key list allows rotation: the first key encrypts, every
listed key decrypts, and ``manage.py rotate_pii_keys`` re-encrypts old rows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from portal.identifiers import normalise_mobile, normalise_resident_id

ENVELOPE_VERSION = "v1"
NONCE_BYTES = 12


def _derive_key(raw: str) -> bytes:
    """Return 32 key bytes from a configured key (base64 of 32 bytes, or any passphrase)."""
    try:
        decoded = base64.b64decode(raw, validate=True)
    except ValueError:
        decoded = b""
    if len(decoded) == 32:
        return decoded
    return hashlib.sha256(raw.encode()).digest()


@lru_cache(maxsize=8)
def _parse_keys(spec: str) -> tuple[tuple[str, bytes], ...]:
    keys = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        key_id, sep, raw = item.partition(":")
        if not sep or not key_id or not raw or ":" in key_id:
            raise ImproperlyConfigured("PII_ENCRYPTION_KEYS must look like 'id:key,id:key'")
        # A repeated id would encrypt with the first key and decrypt with the last one.
        if key_id in {existing for existing, _ in keys}:
            raise ImproperlyConfigured(f"PII_ENCRYPTION_KEYS lists key id {key_id!r} twice")
        keys.append((key_id, _derive_key(raw)))
    if not keys:
        raise ImproperlyConfigured("PII_ENCRYPTION_KEYS is empty")
    return tuple(keys)


def encryption_keys() -> tuple[tuple[str, bytes], ...]:
    return _parse_keys(settings.PII_ENCRYPTION_KEYS)


# The configured keys as ciphers, by key id, for the key tuple they were made from: a page
# decrypts a document number per row, and building AESGCM(key) and a dict of the keys for each
# cost more than the decryption itself. Tied to the identity of encryption_keys()' tuple (one
# tuple per setting value, lru-cached), so a changed setting (rotation, a test's override) is
# picked up on the next call, however it was changed.
_CIPHERS: tuple[tuple | None, dict[str, tuple[AESGCM, bytes]]] = (None, {})


def _ciphers() -> tuple[tuple, dict[str, tuple[AESGCM, bytes]]]:
    """The current keys and, by key id, each key's cipher with the id as authenticated data."""
    global _CIPHERS
    keys = encryption_keys()
    made_from, ciphers = _CIPHERS
    if made_from is not keys:
        ciphers = {key_id: (AESGCM(key), key_id.encode()) for key_id, key in keys}
        _CIPHERS = (keys, ciphers)
    return keys, ciphers


def encrypt(plaintext: str) -> str:
    """Encrypt text with the current key; the result names the key that was used."""
    keys, ciphers = _ciphers()
    key_id = keys[0][0]
    cipher, associated = ciphers[key_id]
    nonce = os.urandom(NONCE_BYTES)
    sealed = cipher.encrypt(nonce, plaintext.encode(), associated)
    return f"{ENVELOPE_VERSION}:{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(envelope: str) -> str:
    """Decrypt an envelope made by :func:`encrypt` with whichever configured key made it."""
    version, key_id, payload = envelope.split(":", 2)
    if version != ENVELOPE_VERSION:
        raise ValueError(f"unknown envelope version {version!r}")
    cipher = _ciphers()[1].get(key_id)
    if cipher is None:
        raise ImproperlyConfigured(f"no PII encryption key with id {key_id!r} is configured")
    data = base64.b64decode(payload)
    return cipher[0].decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], cipher[1]).decode()


# The keys the entries were made with, and (mask, envelope) -> mask(decrypt(envelope)).
_MASKED: tuple[tuple | None, dict[tuple[Callable[[str], str], str], str]] = (None, {})
# A bound, not a size to reach: some 300 bytes an entry (an envelope of ~90 characters and a
# masked value of ~20), 15 MB at most a process; emptied when full (list pages read their rows
# again). A unit's masked export puts two entries a person (document number and phone): 10,000
# was emptied every few minutes by the load benchmark's exports of 16 units.
MASKED_MAX = 50_000


def masked(envelope: str, mask: Callable[[str], str]) -> str:
    """``mask(decrypt(envelope))``, remembered per process for each envelope (ciphertext).

    A list page shows every row's document number masked (110105********1234); decrypting 50
    of them for every page view cost more than the rest of building the rows. Only the masked
    form is kept, which every page showing the row prints anyway: never the plain value. The
    key is the ciphertext itself (random nonce, authenticated): the same envelope always
    decrypts to the same value under the same key, and one that fails to decrypt raises as
    :func:`decrypt` does and is not kept. The entries are dropped whenever the configured keys
    change (rotation, a test's override: checked by the identity of encryption_keys()' tuple),
    so a dropped key's envelope fails here as in decrypt(). Memory is bounded (MASKED_MAX).
    """
    return masked_many([envelope], mask)[0]


def masked_many(envelopes: list[str], mask: Callable[[str], str]) -> list[str]:
    """:func:`masked` of each envelope (a page's rows: the keys checked once)."""
    global _MASKED
    keys = encryption_keys()
    made_with, entries = _MASKED
    if made_with is not keys:
        entries = {}
        _MASKED = (keys, entries)
    out = []
    for envelope in envelopes:
        entry = (mask, envelope)
        value = entries.get(entry)
        if value is None:
            value = mask(decrypt(envelope))
            if len(entries) >= MASKED_MAX:
                entries.clear()
            entries[entry] = value
        out.append(value)
    return out


def as_stored(column: str) -> models.ExpressionWrapper:
    """The column as stored, read without its field's conversion: an EncryptedTextField's
    envelope (not decrypted), a JSONField's text (not parsed). The same column in the SQL."""
    return models.ExpressionWrapper(models.F(column), output_field=models.TextField())


def envelope_key_id(envelope: str) -> str:
    return envelope.split(":", 2)[1]


def normalise(kind: str, value: str) -> str:
    """Return the canonical form of a personal-data value for indexing and storage."""
    if kind in {"id_number", "document_number"}:
        return normalise_resident_id(value)
    if kind == "phone":
        # The same form the validator accepts: "+86 138-1234-5678" and "13812345678" are one value.
        return normalise_mobile(value)
    if kind == "message":
        return str(value)  # free text (a message body): kept exactly as written
    value = "".join(str(value).split())
    if kind == "bank_account":
        return value.replace("-", "")
    return value


def blind_index(kind: str, value: str) -> str:
    """Return the keyed hash used to find or de-duplicate a value without storing it."""
    message = f"{kind}:{normalise(kind, value)}".encode()
    return hmac.new(settings.PII_INDEX_KEY.encode(), message, hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column holding only ciphertext; Python code sees the normalised plain value."""

    def __init__(self, *args, kind: str = "text", **kwargs):
        self.kind = kind
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["kind"] = self.kind
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(f"{ENVELOPE_VERSION}:"):
            return decrypt(value)
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(normalise(self.kind, value))

    def get_lookup(self, lookup_name):
        # Ciphertext is randomised: only null checks make sense; use the blind index to search.
        if lookup_name not in {"isnull"}:
            return None
        return super().get_lookup(lookup_name)


class BlindIndexField(models.CharField):
    """The keyed hash of another field's value, filled in on every save."""

    def __init__(self, *args, source: str = "", kind: str = "text", **kwargs):
        self.source = source
        self.kind = kind
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs["kind"] = self.kind
        for key, default in (("max_length", 64), ("editable", False), ("db_index", True)):
            if kwargs.get(key) == default:
                kwargs.pop(key)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        plain = getattr(model_instance, self.source)
        value = blind_index(self.kind, plain) if plain else (None if self.null else "")
        setattr(model_instance, self.attname, value)
        return value
