from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from employers.models import Agent, Employer
from portal.crypto import blind_index
from portal.models import AuditEvent
from tests.portal.helpers_pii import KEY_1, KEY_2, KEYS_ROTATED, AgentFactory

pytestmark = pytest.mark.django_db

ENCRYPTED_COLUMNS = {
    Employer: ["legal_rep_id_number", "contact_phone", "bank_account"],
    Agent: ["id_number", "phone"],
}


def raw_columns(model, pk) -> list[str]:
    columns = ", ".join(connection.ops.quote_name(name) for name in ENCRYPTED_COLUMNS[model])
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE id = %s", [pk])
        return list(cursor.fetchone())


def rotate(*args) -> str:
    out = StringIO()
    call_command("rotate_pii_keys", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def agents(settings):
    """Three agents of two employers, written under key k1 only."""
    settings.PII_ENCRYPTION_KEYS = KEY_1
    first = AgentFactory()
    second = AgentFactory(employer=first.employer)
    third = AgentFactory()
    return [first, second, third]


def test_rows_written_with_an_old_key_are_reencrypted_with_the_current_one(settings, agents):
    employers = {agent.employer for agent in agents}
    assert all(value.startswith("v1:k1:") for value in raw_columns(Agent, agents[0].pk))
    settings.PII_ENCRYPTION_KEYS = KEYS_ROTATED

    output = rotate("--batch-size", "2")

    assert "employers.Agent: 3" in output
    assert "employers.Employer: 2" in output
    for agent in agents:
        assert all(value.startswith("v1:k2:") for value in raw_columns(Agent, agent.pk))
    for employer in employers:
        assert all(value.startswith("v1:k2:") for value in raw_columns(Employer, employer.pk))
    # Readable with k2 alone: nothing depends on the retired key any more.
    settings.PII_ENCRYPTION_KEYS = KEY_2
    for agent in agents:
        stored = Agent.objects.select_related("employer").get(pk=agent.pk)
        assert stored.id_number == agent.id_number
        assert stored.phone == agent.phone
        assert stored.employer.bank_account == agent.employer.bank_account
        assert stored.employer.legal_rep_id_number == agent.employer.legal_rep_id_number
        assert stored.id_number_index == blind_index("id_number", agent.id_number)


def test_second_run_changes_nothing(settings, agents):
    settings.PII_ENCRYPTION_KEYS = KEYS_ROTATED
    rotate()
    before = raw_columns(Agent, agents[0].pk)

    output = rotate()

    assert "employers.Agent: 0" in output
    assert raw_columns(Agent, agents[0].pk) == before


def test_dry_run_counts_and_writes_nothing(settings, agents):
    settings.PII_ENCRYPTION_KEYS = KEYS_ROTATED
    before = raw_columns(Agent, agents[0].pk)

    output = rotate("--dry-run")

    assert "employers.Agent: 3" in output
    assert raw_columns(Agent, agents[0].pk) == before
    assert not AuditEvent.objects.filter(action="pii_keys_rotated").exists()


def test_rotation_is_audited_with_counts_and_no_personal_data(settings, agents):
    settings.PII_ENCRYPTION_KEYS = KEYS_ROTATED
    rotate()
    event = AuditEvent.objects.get(action="pii_keys_rotated")
    assert event.details["key_id"] == "k2"
    assert event.details["rows"]["employers.Agent"] == 3
    assert agents[0].id_number not in str(event.details)


def test_reindex_recomputes_blind_indexes_under_a_new_index_key(settings, agents):
    settings.PII_INDEX_KEY = "new-index-key"
    agent = agents[0]
    assert not Agent.objects.filter(
        id_number_index=blind_index("id_number", agent.id_number)
    ).exists()

    rotate()  # without --reindex only the encryption is looked at
    assert not Agent.objects.filter(phone_index=blind_index("phone", agent.phone)).exists()

    output = rotate("--reindex")

    assert "employers.Agent: 3" in output
    assert Agent.objects.get(id_number_index=blind_index("id_number", agent.id_number)) == agent
    assert Agent.objects.get(phone_index=blind_index("phone", agent.phone)) == agent


def test_row_under_an_unconfigured_key_stops_the_command_with_its_location(settings, agents):
    settings.PII_ENCRYPTION_KEYS = KEY_2
    with pytest.raises(CommandError, match=r"pk=\d+: cannot decrypt"):
        rotate()
