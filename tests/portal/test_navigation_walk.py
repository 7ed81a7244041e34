"""Every menu item leads to a working page for an agent allowed to use it, and to the 403 page
for every other agent (issue 16: no dead ends)."""

import pytest
from django.urls import reverse

from employers.models import Role
from employers.permissions import agent_has_permission
from portal.navigation import MODULES
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

ITEMS = [item for module in MODULES for item in module.items]


def test_every_menu_item_has_a_page():
    assert [str(item.label) for item in ITEMS if not item.url_name] == []


@pytest.mark.parametrize("role", Role.values)
def test_each_role_walks_the_whole_menu(client, role):
    unit = create_employer(name="菜单巡检有限公司")
    agent = create_agent(employer=unit, roles=[role])
    client.force_login(agent.user)
    home = client.get(reverse("dashboard")).content.decode()
    for item in ITEMS:
        if not item.url_name:
            continue
        url = reverse(item.url_name)
        response = client.get(url)
        if agent_has_permission(agent, item.permission):
            assert response.status_code == 200, (role, url, response.status_code)
            assert f'href="{url}"' in home, (role, url)
        else:
            assert response.status_code == 403, (role, url, response.status_code)
            assert "没有办理权限" in response.content.decode()
            assert f'href="{url}"' not in home, (role, url)
