"""Clerk screens of units and agents: Chinese, masked, and read-only where a service owns the
change (issue 15)."""

import pytest
from django.utils import timezone

from employers.models import LoginLock, Role
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db


def test_an_agents_page_shows_roles_by_name_and_masks_personal_data(admin_client):
    agent = create_agent(roles=[Role.ENROLMENT, Role.QUERIES])
    body = admin_client.get(f"/admin/employers/agent/{agent.pk}/change/").content.decode()
    assert "增减员经办、信息查询员" in body
    assert '["enrolment"' not in body
    assert agent.id_number not in body and agent.masked_id_number in body
    assert agent.phone not in body


def test_a_units_page_is_read_only_and_masked(admin_client):
    unit = create_employer(name="后台只读测试有限公司")
    create_agent(employer=unit, roles=[Role.UNIT_ADMIN])
    response = admin_client.get(f"/admin/employers/employer/{unit.pk}/change/")
    body = response.content.decode()
    assert response.status_code == 200 and "后台只读测试有限公司" in body
    assert unit.legal_rep_id_number not in body and unit.bank_account not in body
    assert unit.contact_phone not in body
    assert 'name="_save"' not in body and "单位管理员" in body


def test_the_agent_list_filters_locked_agents(admin_client):
    locked = create_agent(name="锁定的经办人")
    create_agent(name="正常的经办人")
    LoginLock.objects.create(
        key=locked.user.get_username(), locked_until=timezone.now() + timezone.timedelta(minutes=9)
    )
    body = admin_client.get("/admin/employers/agent/", {"locked": "yes"}).content.decode()
    assert "锁定的经办人" in body and "正常的经办人" not in body
