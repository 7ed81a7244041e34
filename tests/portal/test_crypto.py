import base64

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import connection

from employers.models import Agent, Employer
from portal.crypto import blind_index, decrypt, encrypt, envelope_key_id
from tests.portal.helpers_pii import KEY_1, KEY_2, KEYS_ROTATED, AgentFactory, EmployerFactory

ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"
BANK_ACCOUNT = "6222020200001234567"


@pytest.fixture
def key_1(settings):
    settings.PII_ENCRYPTION_KEYS = KEY_1
    return settings


def test_round_trip_returns_the_plain_text(key_1):
    for plain in [ID_NUMBER, "张三 13812345678", "x"]:
        assert decrypt(encrypt(plain)) == plain


def test_envelope_names_version_and_key_and_hides_the_value(key_1):
    envelope = encrypt(ID_NUMBER)
    assert envelope.startswith("v1:k1:")
    assert envelope_key_id(envelope) == "k1"
    assert ID_NUMBER not in envelope


def test_each_encryption_uses_a_fresh_nonce(key_1):
    envelopes = {encrypt(ID_NUMBER) for _ in range(20)}
    assert len(envelopes) == 20
    assert {decrypt(envelope) for envelope in envelopes} == {ID_NUMBER}


def test_rotated_keys_encrypt_with_the_first_and_decrypt_with_any(key_1):
    old = encrypt(ID_NUMBER)
    key_1.PII_ENCRYPTION_KEYS = KEYS_ROTATED
    new = encrypt(ID_NUMBER)
    assert new.startswith("v1:k2:")
    assert decrypt(old) == ID_NUMBER
    assert decrypt(new) == ID_NUMBER


def test_envelope_of_a_dropped_key_cannot_be_read(key_1):
    old = encrypt(ID_NUMBER)
    key_1.PII_ENCRYPTION_KEYS = KEY_2
    with pytest.raises(ImproperlyConfigured):
        decrypt(old)


def test_tampered_ciphertext_is_refused(key_1):
    version, key_id, payload = encrypt(ID_NUMBER).split(":", 2)
    data = bytearray(base64.b64decode(payload))
    data[-1] ^= 0x01
    with pytest.raises(InvalidTag):
        decrypt(f"{version}:{key_id}:{base64.b64encode(bytes(data)).decode()}")


def test_envelope_relabelled_with_another_key_id_is_refused(settings):
    # The key id is authenticated data: relabelling fails even when both ids hold the same key.
    raw_key = KEY_1.partition(":")[2]
    settings.PII_ENCRYPTION_KEYS = f"k1:{raw_key},k9:{raw_key}"
    envelope = encrypt(ID_NUMBER)
    with pytest.raises(InvalidTag):
        decrypt(envelope.replace("v1:k1:", "v1:k9:", 1))


def test_unknown_envelope_version_is_refused(key_1):
    with pytest.raises(ValueError, match="version"):
        decrypt(encrypt(ID_NUMBER).replace("v1:", "v0:", 1))


@pytest.mark.parametrize("spec", ["", "k1", ":key", "k1:", " , ", "k1:new,k1:old"])
def test_malformed_key_setting_is_refused(settings, spec):
    settings.PII_ENCRYPTION_KEYS = spec
    with pytest.raises(ImproperlyConfigured):
        encrypt(ID_NUMBER)


def test_blind_index_is_stable_and_keyed_by_kind():
    index = blind_index("id_number", ID_NUMBER)
    assert index == blind_index("id_number", ID_NUMBER)
    assert len(index) == 64 and int(index, 16) >= 0
    assert ID_NUMBER not in index
    assert blind_index("phone", PHONE) != blind_index("bank_account", PHONE)


def test_blind_index_normalises_spaces_case_and_separators():
    assert blind_index("id_number", " 110105 19491231 002x ") == blind_index("id_number", ID_NUMBER)
    assert blind_index("phone", "+86 138-1234-5678") == blind_index("phone", PHONE)
    assert blind_index("bank_account", "6222 0202 0000 1234 567") == blind_index(
        "bank_account", BANK_ACCOUNT
    )


def test_blind_index_depends_on_the_index_key(settings):
    before = blind_index("id_number", ID_NUMBER)
    settings.PII_INDEX_KEY = "another-index-key"
    assert blind_index("id_number", ID_NUMBER) != before


@pytest.mark.django_db
class TestEncryptedRows:
    @pytest.fixture
    def agent(self, key_1):
        employer = EmployerFactory(
            legal_rep_id_number="440524188001010014",
            contact_phone="13912345678",
            bank_account=BANK_ACCOUNT,
        )
        return AgentFactory(employer=employer, id_number=ID_NUMBER.lower(), phone=PHONE)

    @staticmethod
    def raw_row(table: str, pk: int) -> tuple:
        with connection.cursor() as cursor:
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted} WHERE id = %s", [pk])
            return cursor.fetchone()

    def test_database_row_holds_no_plain_personal_data(self, agent):
        secrets = {ID_NUMBER, ID_NUMBER.lower(), PHONE, BANK_ACCOUNT}
        secrets |= {"440524188001010014", "13912345678"}
        rows = [
            self.raw_row(Employer._meta.db_table, agent.employer_id),
            self.raw_row(Agent._meta.db_table, agent.pk),
        ]
        for row in rows:
            for column in row:
                for secret in secrets:
                    assert secret not in str(column)
        envelopes = [column for row in rows for column in row if str(column).startswith("v1:k1:")]
        assert len(envelopes) == 5  # three Employer fields, two Agent fields

    def test_blind_index_finds_the_agent_and_the_model_reads_plain_values(self, agent):
        found = Agent.objects.select_related("employer").get(
            id_number_index=blind_index("id_number", "11010519491231002x")
        )
        assert found.pk == agent.pk
        assert found.id_number == ID_NUMBER
        assert found.phone == PHONE
        assert Agent.objects.get(phone_index=blind_index("phone", "+86 138 1234 5678")) == found
        assert found.employer.legal_rep_id_number == "440524188001010014"
        assert found.employer.contact_phone == "13912345678"
        assert found.employer.bank_account == BANK_ACCOUNT
        assert found.masked_id_number == "110105********002X"
        assert found.masked_phone == "138****5678"

    def test_index_follows_a_changed_value(self, agent):
        agent.phone = "13700000000"
        agent.save(update_fields=["phone", "phone_index"])
        assert Agent.objects.get(phone_index=blind_index("phone", "13700000000")).pk == agent.pk
        assert not Agent.objects.filter(phone_index=blind_index("phone", PHONE)).exists()

    def test_ciphertext_columns_cannot_be_searched_directly(self, agent):
        with pytest.raises(FieldError):
            Agent.objects.filter(id_number=ID_NUMBER).exists()
        assert Agent.objects.filter(id_number__isnull=False).count() == 1
