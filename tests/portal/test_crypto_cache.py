"""portal.crypto's per-process state: the ciphers made once per key setting, and masked(), the
masked form of an envelope remembered per ciphertext (never the plain value)."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ImproperlyConfigured

from portal import crypto
from portal.crypto import decrypt, encrypt, masked, masked_many
from portal.identifiers import mask_id_number, mask_phone
from tests.portal.helpers_pii import KEY_1, KEY_2, KEYS_ROTATED

ID_NUMBER = "11010519491231002X"
OTHER_RAW_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def key_1(settings):
    settings.PII_ENCRYPTION_KEYS = KEY_1
    return settings


@pytest.fixture
def decrypt_calls(monkeypatch):
    """The envelopes masked() decrypted (it calls the module's decrypt)."""
    calls = []

    def counted(envelope):
        calls.append(envelope)
        return decrypt(envelope)

    monkeypatch.setattr(crypto, "decrypt", counted)
    return calls


def test_a_key_of_the_same_id_changed_is_used_at_once(settings):
    # The ciphers are made once per setting value: a new key under the old id must not be
    # served by the old key's cipher (it would decrypt what the new key cannot).
    settings.PII_ENCRYPTION_KEYS = KEY_1
    envelope = encrypt(ID_NUMBER)
    assert decrypt(envelope) == ID_NUMBER
    settings.PII_ENCRYPTION_KEYS = f"k1:{OTHER_RAW_KEY}"
    with pytest.raises(InvalidTag):
        decrypt(envelope)
    assert decrypt(encrypt(ID_NUMBER)) == ID_NUMBER
    settings.PII_ENCRYPTION_KEYS = KEY_1
    assert decrypt(envelope) == ID_NUMBER


def test_encrypt_follows_the_current_key_after_a_change(key_1):
    assert encrypt(ID_NUMBER).startswith("v1:k1:")
    key_1.PII_ENCRYPTION_KEYS = KEYS_ROTATED
    assert encrypt(ID_NUMBER).startswith("v1:k2:")
    key_1.PII_ENCRYPTION_KEYS = KEY_1
    assert encrypt(ID_NUMBER).startswith("v1:k1:")


def test_masked_is_the_mask_of_the_plain_value(key_1):
    for plain in [ID_NUMBER, "11010519491231002x", "440524188001010014", "12345"]:
        envelope = encrypt(plain)
        assert masked(envelope, mask_id_number) == mask_id_number(decrypt(envelope))
    phone = encrypt("13812345678")
    assert masked(phone, mask_phone) == "138****5678"
    # The same envelope under another mask is another entry.
    assert masked(phone, mask_id_number) == mask_id_number("13812345678")


def test_masked_decrypts_an_envelope_once(key_1, decrypt_calls):
    envelope, other = encrypt(ID_NUMBER), encrypt(ID_NUMBER)
    for _ in range(3):
        assert masked(envelope, mask_id_number) == "110105********002X"
    assert masked(other, mask_id_number) == "110105********002X"
    assert decrypt_calls == [envelope, other]


def test_masked_keeps_no_plain_value(key_1):
    envelope = encrypt(ID_NUMBER)
    masked(envelope, mask_id_number)
    keys, entries = crypto._MASKED
    assert keys is crypto.encryption_keys()
    assert entries[(mask_id_number, envelope)] == "110105********002X"
    assert all(ID_NUMBER not in value for value in entries.values())
    assert all(ID_NUMBER not in part for key in entries for part in key if isinstance(part, str))


def test_masked_refuses_a_dropped_key_it_has_seen(key_1, decrypt_calls):
    envelope = encrypt(ID_NUMBER)
    assert masked(envelope, mask_id_number) == "110105********002X"
    key_1.PII_ENCRYPTION_KEYS = KEY_2
    with pytest.raises(ImproperlyConfigured):
        masked(envelope, mask_id_number)
    key_1.PII_ENCRYPTION_KEYS = KEYS_ROTATED  # k1 kept: readable again, decrypted again
    assert masked(envelope, mask_id_number) == "110105********002X"
    assert decrypt_calls == [envelope, envelope, envelope]


def test_masked_refuses_a_tampered_envelope_and_keeps_nothing(key_1):
    version, key_id, payload = encrypt(ID_NUMBER).split(":", 2)
    data = bytearray(base64.b64decode(payload))
    data[-1] ^= 0x01
    tampered = f"{version}:{key_id}:{base64.b64encode(bytes(data)).decode()}"
    for _ in range(2):
        with pytest.raises(InvalidTag):
            masked(tampered, mask_id_number)
    assert (mask_id_number, tampered) not in crypto._MASKED[1]


def test_masked_memory_is_bounded(key_1, monkeypatch, decrypt_calls):
    monkeypatch.setattr(crypto, "MASKED_MAX", 3)
    envelopes = [encrypt(ID_NUMBER) for _ in range(7)]
    for envelope in envelopes:
        assert masked(envelope, mask_id_number) == "110105********002X"
        assert len(crypto._MASKED[1]) <= 3
    assert masked(envelopes[-1], mask_id_number) == "110105********002X"
    assert len(decrypt_calls) == 7  # the last one was still there


def test_masked_many_masks_each_envelope_in_order(key_1, decrypt_calls):
    plains = [ID_NUMBER, "440524188001010014", ID_NUMBER, "12345"]
    envelopes = [encrypt(plain) for plain in plains]
    expected = [mask_id_number(plain) for plain in plains]
    assert masked_many(envelopes, mask_id_number) == expected
    assert masked_many([*envelopes, envelopes[0]], mask_id_number) == [*expected, expected[0]]
    assert [masked(envelope, mask_id_number) for envelope in envelopes] == expected
    assert decrypt_calls == envelopes  # each once
    assert masked_many([], mask_id_number) == []
