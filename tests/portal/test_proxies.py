"""The client's address behind TRUSTED_PROXY_COUNT reverse proxies (portal/proxies.py)."""

import pytest

from portal.models import AuditEvent
from portal.proxies import forwarded_client


@pytest.mark.parametrize(
    ("header", "proxies", "client"),
    [
        ("203.0.113.7", 1, "203.0.113.7"),
        ("198.51.100.1, 203.0.113.7", 1, "203.0.113.7"),  # the leftmost is the client's word
        ("198.51.100.1, 203.0.113.7, 10.0.0.2", 2, "203.0.113.7"),
        ("203.0.113.7", 2, None),  # fewer entries than proxies: not believed
        ("not-an-address", 1, None),
        ("", 1, None),
        ("203.0.113.7", 0, None),
    ],
)
def test_the_client_is_the_entry_the_trusted_proxies_wrote(header, proxies, client):
    assert forwarded_client(header, proxies) == client


@pytest.mark.django_db
def test_behind_one_proxy_the_audit_log_records_the_forwarded_address(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.post(
        "/login/",
        {"unit": "X", "id_number": "1", "password": "x"},
        headers={"x-forwarded-for": "198.51.100.1, 203.0.113.7"},
    )
    assert AuditEvent.objects.get(action="agent.login").ip_address == "203.0.113.7"


@pytest.mark.django_db
def test_without_trusted_proxies_the_header_is_ignored(client):
    client.post(
        "/login/",
        {"unit": "X", "id_number": "1", "password": "x"},
        headers={"x-forwarded-for": "203.0.113.7"},
    )
    assert AuditEvent.objects.get(action="agent.login").ip_address == "127.0.0.1"
