import pytest
from django.db import IntegrityError

from employers.models import Role
from employers.selectors import agent_find
from tests.factories import create_agent, create_employer, make_resident_id

pytestmark = pytest.mark.django_db


def test_agent_find_locates_agent_by_id_number_in_lower_case():
    agent = create_agent(id_number="11010519491231002X")
    found = agent_find(employer=agent.employer, id_number="11010519491231002x")
    assert found == agent


def test_agent_find_does_not_cross_units():
    agent = create_agent()
    other = create_employer()
    assert agent_find(employer=other, id_number=agent.id_number) is None


def test_same_id_number_twice_in_one_unit_is_refused():
    employer = create_employer()
    id_number = make_resident_id()
    create_agent(employer=employer, id_number=id_number)
    with pytest.raises(IntegrityError):
        create_agent(employer=employer, id_number=id_number)


def test_unit_admin_has_every_role_and_others_only_theirs():
    admin = create_agent(roles=[Role.UNIT_ADMIN])
    clerk = create_agent(roles=[Role.QUERIES])
    assert admin.has_role(Role.ENROLMENT)
    assert clerk.has_role(Role.QUERIES)
    assert not clerk.has_role(Role.ENROLMENT)


def test_unknown_role_is_refused():
    with pytest.raises(ValueError):
        create_agent(roles=["superpowers"])
