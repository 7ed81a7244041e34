import pytest
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.template import engines
from django.urls import NoReverseMatch, reverse
from django.views.generic import View

from employers.models import Employer, Role
from employers.permissions import (
    PERMISSIONS,
    PermissionRequiredMixin,
    agent_has_permission,
    agent_permissions,
    permission_required,
    role_labels_for_permission,
)
from portal.models import User
from portal.navigation import MODULES
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

AGENTS_URL = "/unit/agents/"

ROLE_PERMISSIONS = {
    Role.ENROLMENT: {
        "unit.view",
        "enrollment.add",
        "enrollment.remove",
        "enrollment.batch",
        "enrollment.roster",
    },
    Role.CONTRIBUTIONS: {
        "unit.view",
        "contributions.declare",
        "contributions.monthly",
        "contributions.pay",
    },
    Role.QUERIES: {"unit.view", "queries.view", "queries.export", "proofs.print"},
    Role.BENEFITS: {"unit.view", "benefits.claim"},
}


def test_every_permission_names_only_known_roles_and_always_the_unit_admin():
    for name, roles in PERMISSIONS.items():
        assert roles <= set(Role.values), name
        assert Role.UNIT_ADMIN in roles, name


def test_unit_admin_may_do_everything():
    admin = create_agent(roles=[Role.UNIT_ADMIN])
    assert agent_permissions(admin) == set(PERMISSIONS)


@pytest.mark.parametrize("role", list(ROLE_PERMISSIONS))
def test_each_role_grants_exactly_its_business(role):
    agent = create_agent(roles=[role])
    assert agent_permissions(agent) == ROLE_PERMISSIONS[role]
    assert not agent_has_permission(agent, "agents.manage")


def test_roles_add_up():
    agent = create_agent(roles=[Role.QUERIES, Role.BENEFITS])
    assert agent_permissions(agent) == (
        ROLE_PERMISSIONS[Role.QUERIES] | ROLE_PERMISSIONS[Role.BENEFITS]
    )


def test_disabled_agent_and_no_agent_have_no_permission():
    agent = create_agent(roles=[Role.UNIT_ADMIN])
    agent.is_active = False
    assert agent_permissions(agent) == set()
    assert not agent_has_permission(None, "unit.view")


def test_unknown_permission_name_is_a_programming_error():
    agent = create_agent()
    with pytest.raises(ImproperlyConfigured):
        agent_has_permission(agent, "enrollment.ad")
    with pytest.raises(ImproperlyConfigured):

        class Misspelt(PermissionRequiredMixin, View):
            permission = "enrolment.add"

    with pytest.raises(ImproperlyConfigured):
        permission_required("nope")


def test_role_labels_name_the_business_role_then_the_admin():
    assert role_labels_for_permission("enrollment.add") == ["增减员经办", "单位管理员"]
    assert role_labels_for_permission("agents.manage") == ["单位管理员"]


def test_every_menu_item_declares_a_known_permission_and_a_working_url():
    for module in MODULES:
        for item in module.items:
            assert item.permission in PERMISSIONS, item.label
            if item.url_name:
                try:
                    reverse(item.url_name)
                except NoReverseMatch:  # pragma: no cover - the assertion message is the point
                    pytest.fail(f"menu item {item.label} names a missing URL {item.url_name}")


# The mixins, through HTTP.


def test_anonymous_visitor_is_sent_to_login_with_next(client):
    response = client.get(AGENTS_URL)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={AGENTS_URL}"


def test_clerk_without_agent_gets_a_chinese_403(client):
    clerk = User.objects.create_user(username="clerk-x", password="x", is_staff=True)
    client.force_login(clerk)
    response = client.get(AGENTS_URL)
    assert response.status_code == 403
    assert "此页面供参保单位经办人使用" in response.content.decode()


def test_agent_without_the_role_gets_403_naming_the_role_and_the_admin(client):
    agent = create_agent(roles=[Role.QUERIES])
    client.force_login(agent.user)
    response = client.get(AGENTS_URL)
    body = response.content.decode()
    assert response.status_code == 403
    assert "没有办理权限" in body and "单位管理员" in body
    assert "请联系本单位管理员" in body


def test_unit_admin_is_let_through(client):
    agent = create_agent(roles=[Role.UNIT_ADMIN])
    client.force_login(agent.user)
    assert client.get(AGENTS_URL).status_code == 200


def test_disabled_agent_is_logged_out_and_told_why(client):
    agent = create_agent(roles=[Role.UNIT_ADMIN])
    client.force_login(agent.user)
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "_auth_user_id" not in client.session
    assert any("已停用" in str(m) for m in response.wsgi_request._messages)


def test_agent_of_a_unit_under_review_goes_to_its_status_page(client):
    from tests.factories import create_submitted_application

    application = create_submitted_application()
    agent = create_agent(employer=application.employer)
    client.force_login(agent.user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "employers:register_status", args=[application.reference]
    )


def test_agent_of_a_disabled_unit_is_refused(client):
    agent = create_agent(employer=create_employer(status=Employer.Status.DISABLED))
    client.force_login(agent.user)
    response = client.get(reverse("dashboard"))
    assert response.status_code in (302, 403)
    if response.status_code == 403:
        assert "不可办理业务" in response.content.decode()


# The function decorator.


@permission_required("enrollment.add")
def add_employee_view(request):
    return HttpResponse(f"ok {request.agent.pk}")


def _request(rf, user):
    request = rf.get("/x/")
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def test_decorated_function_view_allows_the_role(rf):
    agent = create_agent(roles=[Role.ENROLMENT])
    response = add_employee_view(_request(rf, agent.user))
    assert response.status_code == 200 and response.content == f"ok {agent.pk}".encode()


def test_decorated_function_view_refuses_other_roles(rf):
    agent = create_agent(roles=[Role.QUERIES])
    response = add_employee_view(_request(rf, agent.user))
    response.render()
    assert response.status_code == 403
    assert "增减员经办" in response.content.decode()


# Menus and home tiles follow the permissions.


def _home(client, roles):
    """The top navigation and the home tiles (the home page's prose names every module)."""
    agent = create_agent(roles=roles)
    client.force_login(agent.user)
    page = client.get(reverse("home")).content.decode()
    nav = page[
        page.index('id="portal-nav-menu"') : page.index("</nav>", page.index("portal-nav-menu"))
    ]
    tiles_start = page.index('id="modules-title"')
    tiles = page[tiles_start : page.index("</section>", tiles_start)]
    return nav + tiles


def test_queries_agent_sees_only_queries_and_proofs(client):
    body = _home(client, [Role.QUERIES])
    for visible in ["查询统计", "打印证明", "缴费记录查询", "参保缴费证明", "单位基本信息"]:
        assert visible in body
    for hidden in ["职工参保管理", "新增参保人员", "缴费申报", "待遇申领", "经办人管理"]:
        assert hidden not in body


def test_benefits_agent_sees_the_benefit_claims_module(client):
    body = _home(client, [Role.BENEFITS])
    for visible in ["待遇申领", "生育津贴申领", "工伤认定申请", "工伤待遇申领"]:
        assert visible in body
    assert "新增参保人员" not in body and "缴费基数申报" not in body


def test_enrolment_agent_sees_enrolment_but_not_contributions(client):
    body = _home(client, [Role.ENROLMENT])
    assert "职工参保管理" in body and "新增参保人员" in body
    assert "缴费基数申报" not in body and "经办人管理" not in body


def test_unit_admin_sees_every_module_and_agent_management(client):
    body = _home(client, [Role.UNIT_ADMIN])
    # Every module, 待遇申领 included.
    for module in MODULES:
        assert str(module.label) in body
    # The unit module's tile opens 单位基本信息 and names 经办人管理 among its pages.
    assert 'href="/unit/"' in body and "经办人管理" in body


def test_left_menu_shows_only_the_items_the_agent_may_use(rf):
    agent = create_agent(roles=[Role.QUERIES])
    request = rf.get("/")
    request.user = agent.user
    content = (
        engines["django"]
        .from_string('{% extends "base.html" %}')
        .render({"current_module": "unit"}, request)
    )
    assert 'id="portal-sidemenu-title">单位信息管理</h2>' in content
    # Every agent reads the unit's details and the account in force; only the admin manages.
    assert "单位基本信息" in content and "银行账户信息" in content
    assert "经办人管理" not in content


def test_left_menu_of_a_module_the_agent_may_not_use_is_absent(rf):
    agent = create_agent(roles=[Role.QUERIES])
    request = rf.get("/")
    request.user = agent.user
    content = (
        engines["django"]
        .from_string('{% extends "base.html" %}')
        .render({"current_module": "enrollment"}, request)
    )
    assert "portal-sidemenu" not in content
