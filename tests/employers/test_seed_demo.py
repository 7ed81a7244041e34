import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from employers.models import Agent, Employer, OpenedAccount
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_unit_agents_and_clerk_and_is_idempotent(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")

    assert OpenedAccount.objects.count() == 3
    employer = Employer.objects.get()
    assert employer.status == Employer.Status.ACTIVE
    assert Agent.objects.filter(employer=employer).count() == 3
    clerk = get_user_model().objects.get(username="clerk")
    assert clerk.is_superuser and clerk.is_staff
    assert "Demo2026portal" in first and "演示" in first
    assert AuditEvent.objects.filter(action="agent.created").count() == 3


def test_demo_agents_can_authenticate_with_printed_password():
    call_command("seed_demo", password="Other2026pass")
    for agent in Agent.objects.select_related("user"):
        assert agent.user.check_password("Other2026pass")
        assert agent.user.username.startswith("agent-")


def test_demo_identifiers_pass_the_national_checks():
    from portal.identifiers import validate_resident_id, validate_uscc

    call_command("seed_demo")
    for account in OpenedAccount.objects.all():
        validate_uscc(account.uscc)
    for agent in Agent.objects.all():
        validate_resident_id(agent.id_number)
