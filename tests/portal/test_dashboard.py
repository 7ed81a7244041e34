import pytest
from django.urls import reverse
from django.utils import timezone

from employers.models import Role
from portal.models import User
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

DASHBOARD = "/dashboard/"
# session, user, agent with its unit (shared by the view and the menus), the unread inbox count
# (header), the unit's filings by outcome (attention list); an admin also one statement of its
# figures: agent counts, bills awaiting payment, the period to declare, locked agents, the CA
# certificate's expiry.
ADMIN_QUERIES = 6
AGENT_QUERIES = 5


@pytest.fixture
def unit():
    return create_employer(name="工作台测试有限公司")


def page(client, agent) -> str:
    client.force_login(agent.user)
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    return response.content.decode()


def test_dashboard_url_is_named():
    assert reverse("dashboard") == DASHBOARD


def test_unit_admin_sees_the_unit_masked_its_roles_shortcuts_and_agent_count(client, unit):
    admin = create_agent(employer=unit, roles=[Role.UNIT_ADMIN], name="管理员甲")
    create_agent(employer=unit, roles=[Role.QUERIES])
    body = page(client, admin)
    assert "工作台测试有限公司" in body and unit.ss_number in body
    assert unit.contact_phone not in body and unit.contact_phone[-4:] in body
    assert unit.bank_account not in body and unit.masked_bank_account in body
    assert "正常" in body
    assert "管理员甲" in body and admin.masked_id_number in body and "单位管理员" in body
    assert 'data-agent-count="2"' in body and "共 2 人,其中启用 2 人" in body
    assert f'href="{reverse("agents:list")}"' in body
    for key in ["unit", "enrollment", "contributions", "queries", "benefits", "proofs"]:
        assert f'data-module="{key}"' in body


def test_queries_agent_sees_only_its_shortcuts_and_no_agent_count(client, unit):
    agent = create_agent(employer=unit, roles=[Role.QUERIES])
    body = page(client, agent)
    shortcuts = body[body.index('id="shortcuts-title"') :]
    assert "缴费记录查询" in shortcuts and "参保缴费证明" in shortcuts
    assert "新增参保人员" not in shortcuts and "经办人管理" not in shortcuts
    assert 'data-module="enrollment"' not in shortcuts
    assert "data-agent-count" not in body
    assert "信息查询员" in body


def test_the_shortcuts_rendered_once_per_process_follow_each_agents_roles(client, unit):
    # The shortcuts block is a {% constant_fragment %} keyed on the agent's modules: an admin's
    # block, then a queries agent's, then the admin's again, each with its own items.
    admin = create_agent(employer=unit, roles=[Role.UNIT_ADMIN])
    queries = create_agent(employer=unit, roles=[Role.QUERIES])
    bodies = [page(client, who) for who in (admin, queries, admin)]
    shortcuts = [body[body.index('id="shortcuts-title"') :] for body in bodies]
    assert 'data-module="enrollment"' in shortcuts[0] and "新增参保人员" in shortcuts[0]
    assert 'data-module="enrollment"' not in shortcuts[1] and "缴费记录查询" in shortcuts[1]
    assert shortcuts[2] == shortcuts[0]


def test_agent_without_roles_is_told_to_ask_the_admin(client, unit):
    agent = create_agent(employer=unit, roles=[])
    assert "请联系本单位管理员" in page(client, agent)


def test_last_login_is_shown(client, unit):
    agent = create_agent(employer=unit)
    client.force_login(agent.user)  # sets last_login to now
    agent.user.refresh_from_db()
    body = client.get(DASHBOARD).content.decode()
    assert timezone.localtime(agent.user.last_login).strftime("%Y-%m-%d %H:%M") in body


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={DASHBOARD}"


def test_clerk_without_an_agent_gets_403(client):
    client.force_login(User.objects.create_user(username="clerk-d", password="x", is_staff=True))
    assert client.get(DASHBOARD).status_code == 403


@pytest.mark.parametrize("count", [1, 30])
def test_admin_dashboard_takes_a_constant_number_of_queries(
    client, unit, count, django_assert_num_queries
):
    admin = create_agent(employer=unit, roles=[Role.UNIT_ADMIN])
    for _n in range(count - 1):
        create_agent(employer=unit, roles=[Role.ENROLMENT])
    client.force_login(admin.user)
    client.get(DASHBOARD)  # the first request after login settles the session
    with django_assert_num_queries(ADMIN_QUERIES):
        response = client.get(DASHBOARD)
    assert f'data-agent-count="{count}"' in response.content.decode()


@pytest.mark.parametrize("count", [1, 30])
def test_agent_dashboard_takes_a_constant_number_of_queries(
    client, unit, count, django_assert_num_queries
):
    agent = create_agent(employer=unit, roles=[Role.QUERIES])
    for _n in range(count - 1):
        create_agent(employer=unit, roles=[Role.ENROLMENT])
    client.force_login(agent.user)
    client.get(DASHBOARD)
    with django_assert_num_queries(AGENT_QUERIES):
        assert client.get(DASHBOARD).status_code == 200


@pytest.mark.parametrize("role", list(Role.values))
def test_the_shortcuts_are_the_navigations_modules_read_once_a_page(
    client, unit, monkeypatch, role
):
    import re

    from portal import context_processors

    agent = create_agent(employer=unit, roles=[role])
    client.force_login(agent.user)
    client.get(DASHBOARD)
    calls = []
    modules_for = context_processors.modules_for
    monkeypatch.setattr(
        context_processors, "modules_for", lambda allowed: calls.append(1) or modules_for(allowed)
    )
    response = client.get(DASHBOARD)
    body = response.content.decode()
    shortcuts = body[body.index('id="shortcuts-title"') :]
    expected = [module.key for module in response.context["nav_modules"]]
    assert expected and re.findall(r'data-module="([^"]+)"', shortcuts) == expected
    assert len(calls) == 1
