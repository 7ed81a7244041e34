import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from employers.agents.forms import AgentAddForm
from employers.agents.services import (
    agent_disable,
    agent_enable,
    agent_password_reset_by_admin,
    agent_roles_change,
)
from employers.models import Agent, Role
from portal.models import AuditEvent
from tests.factories import create_agent, create_employer, make_phone, make_resident_id

pytestmark = pytest.mark.django_db

LIST = "/unit/agents/"
ADD = "/unit/agents/add/"
NEW_PASSWORD = "Temp2026pass"


def roles_url(agent):
    return f"/unit/agents/{agent.pk}/roles/"


def password_url(agent):
    return f"/unit/agents/{agent.pk}/password/"


def disable_url(agent):
    return f"/unit/agents/{agent.pk}/disable/"


def enable_url(agent):
    return f"/unit/agents/{agent.pk}/enable/"


def code_from(outbox) -> str:
    return re.search(r"验证码\s*(\d{6})", outbox[-1].text).group(1)


@pytest.fixture
def unit():
    return create_employer()


@pytest.fixture
def admin(unit):
    return create_agent(employer=unit, roles=[Role.UNIT_ADMIN], name="管理员甲")


@pytest.fixture
def clerk_agent(unit):
    return create_agent(employer=unit, roles=[Role.ENROLMENT], name="经办员乙")


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin.user)
    return client


def login(agent) -> Client:
    other = Client()
    other.force_login(agent.user)
    return other


def actions(**filters):
    return list(AuditEvent.objects.filter(**filters).values_list("action", flat=True))


# The list.


def test_list_shows_the_units_agents_masked_with_roles_state_and_last_login(
    admin_client, admin, clerk_agent
):
    admin.user.last_login = timezone.make_aware(timezone.datetime(2026, 3, 4, 9, 30))
    admin.user.save(update_fields=["last_login"])
    Agent.objects.filter(pk=clerk_agent.pk).update(is_active=False)
    foreign = create_agent(name="别家经办人")
    body = admin_client.get(LIST).content.decode()
    assert "管理员甲" in body and "经办员乙" in body
    assert clerk_agent.masked_id_number in body and clerk_agent.id_number not in body
    assert clerk_agent.masked_phone in body and clerk_agent.phone not in body
    assert "增减员经办" in body and "单位管理员" in body
    assert "已停用" in body and "从未登录" in body
    assert "别家经办人" not in body and foreign.masked_id_number not in body


@pytest.mark.parametrize("count", [1, 30])
def test_list_takes_a_constant_number_of_queries(
    admin_client, admin, unit, count, django_assert_num_queries
):
    for n in range(count - 1):
        create_agent(employer=unit, roles=[Role.QUERIES], name=f"经办人{n}")
    admin_client.get(LIST)  # the first request after login settles the session
    with django_assert_num_queries(LIST_QUERIES):
        response = admin_client.get(LIST)
    assert response.content.decode().count("data-agent=") == count


# session, user, agent with its unit, the unread inbox count (header), the unit's agents with
# their logins
LIST_QUERIES = 5


def test_list_is_refused_to_an_agent_without_the_admin_role(client, clerk_agent):
    client.force_login(clerk_agent.user)
    assert client.get(LIST).status_code == 403


# Adding an agent.


def add_data(**changes):
    data = {
        "name": "新经办人",
        "id_number": make_resident_id("19950505", "male"),
        "phone": "13700001111",
        "roles": [Role.QUERIES],
        "password": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    return {**data, **changes}


def send_code(client, phone, django_capture_on_commit_callbacks, data=None):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(ADD, {**(data or {}), "phone": phone, "send_code": "1"})


def test_admin_adds_an_agent_whose_phone_is_confirmed_by_sms(
    admin_client, admin, sms_outbox, django_capture_on_commit_callbacks
):
    data = add_data()
    response = send_code(admin_client, data["phone"], django_capture_on_commit_callbacks, data)
    assert response.status_code == 200
    assert sms_outbox[-1].phone == data["phone"] and "添加经办人" in sms_outbox[-1].text
    body = response.content.decode()
    assert data["name"] in body and data["id_number"] in body  # nothing typed is lost
    # The passwords too (issue 19), on a page no cache keeps.
    assert response.context["form"]["password"].value() == data["password"]
    assert f'value="{data["password"]}"' in body
    assert "no-store" in response["Cache-Control"]

    response = admin_client.post(ADD, {**data, "code": code_from(sms_outbox)})
    assert response.status_code == 302 and response["Location"] == LIST
    added = Agent.objects.get(employer=admin.employer, name="新经办人")
    assert added.roles == [Role.QUERIES] and added.is_active
    assert added.phone == data["phone"] and added.user.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action="agent.created", object_id=str(added.pk))
    assert event.actor == admin.user and event.employer_id == admin.employer_id
    assert event.details == {"roles": [Role.QUERIES]}


def test_added_agent_with_only_queries_cannot_open_agent_management(
    admin_client, sms_outbox, django_capture_on_commit_callbacks
):
    data = add_data()
    send_code(admin_client, data["phone"], django_capture_on_commit_callbacks)
    admin_client.post(ADD, {**data, "code": code_from(sms_outbox)})
    added = Agent.objects.get(name="新经办人")
    assert login(added).get(LIST).status_code == 403


def test_wrong_code_is_refused_next_to_the_field_and_nothing_is_added(
    admin_client, sms_outbox, django_capture_on_commit_callbacks
):
    data = add_data()
    send_code(admin_client, data["phone"], django_capture_on_commit_callbacks)
    wrong = "000000" if code_from(sms_outbox) != "000000" else "111111"
    response = admin_client.post(ADD, {**data, "code": wrong})
    body = response.content.decode()
    assert response.status_code == 200 and "验证码不正确" in body
    assert data["name"] in body and data["id_number"] in body
    assert not Agent.objects.filter(name="新经办人").exists()


def test_code_sent_to_another_phone_does_not_confirm_this_one(
    admin_client, sms_outbox, django_capture_on_commit_callbacks
):
    send_code(admin_client, "13700002222", django_capture_on_commit_callbacks)
    response = admin_client.post(ADD, add_data(code=code_from(sms_outbox)))
    assert "验证码" in response.content.decode()
    assert not Agent.objects.filter(name="新经办人").exists()


def test_bad_phone_for_the_code_gets_a_field_message(admin_client, sms_outbox):
    response = admin_client.post(ADD, add_data(phone="12345", send_code="1"))
    assert response.status_code == 200
    assert "手机号" in response.content.decode() and sms_outbox == []


def test_id_number_already_used_in_the_unit_is_refused(
    admin_client, clerk_agent, sms_outbox, django_capture_on_commit_callbacks
):
    data = add_data(id_number=clerk_agent.id_number)
    send_code(admin_client, data["phone"], django_capture_on_commit_callbacks)
    response = admin_client.post(ADD, {**data, "code": code_from(sms_outbox)})
    assert "本单位已有使用该身份证号的经办人" in response.content.decode()
    assert Agent.objects.filter(employer=clerk_agent.employer).count() == 2


def test_same_person_may_act_for_another_unit(
    admin_client, sms_outbox, django_capture_on_commit_callbacks
):
    other_units_agent = create_agent(name="他单位同一人")
    data = add_data(id_number=other_units_agent.id_number)
    send_code(admin_client, data["phone"], django_capture_on_commit_callbacks)
    response = admin_client.post(ADD, {**data, "code": code_from(sms_outbox)})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password": "short1", "password2": "short1"}, "密码须为8-20位"),
        ({"password": "OnlyLetters", "password2": "OnlyLetters"}, "密码须为8-20位"),
        ({"password2": "Other2026pass"}, "两次输入的密码不一致"),
        ({"roles": []}, "请至少选择一个角色"),
        ({"roles": ["superuser"]}, "所选角色不存在"),
        ({"name": ""}, "请填写此项"),
        ({"name": "名" * 10_000}, "姓名不能超过50个字"),
        ({"id_number": "110105199505051234"}, "身份证号"),
    ],
)
def test_bad_input_is_refused_next_to_its_field(admin_client, changes, message):
    response = admin_client.post(ADD, {**add_data(**changes), "code": "123456"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Agent.objects.filter(name="新经办人").exists()


def test_password_containing_the_phone_is_refused(admin_client):
    data = add_data(password="a13700001111", password2="a13700001111")
    response = admin_client.post(ADD, {**data, "code": "123456"})
    assert "密码不能包含身份证号或手机号" in response.content.decode()


def test_html_in_the_name_is_refused_and_shown_back_as_text(
    admin_client, sms_outbox, django_capture_on_commit_callbacks
):
    data = add_data(name="<b>x</b>' OR 1=1--")
    send_code(admin_client, data["phone"], django_capture_on_commit_callbacks)
    agents = Agent.objects.count()
    response = admin_client.post(ADD, {**data, "code": code_from(sms_outbox)})
    assert "姓名只能由汉字、字母、空格和间隔号" in response.context["form"].errors["name"][0]
    body = response.content.decode()
    assert "&lt;b&gt;x&lt;/b&gt;" in body and "<b>x</b>" not in body
    assert Agent.objects.count() == agents


def test_add_is_refused_to_an_agent_without_the_admin_role(client, clerk_agent, sms_outbox):
    client.force_login(clerk_agent.user)
    assert client.get(ADD).status_code == 403
    response = client.post(ADD, add_data(send_code="1"))
    assert response.status_code == 403 and sms_outbox == []


def test_post_without_csrf_token_is_refused(admin, clerk_agent):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin.user)
    response = strict.post(disable_url(clerk_agent))
    assert response.status_code == 403
    clerk_agent.refresh_from_db()
    assert clerk_agent.is_active


# Roles.


def test_admin_changes_roles_with_an_audit_row(admin_client, admin, clerk_agent):
    response = admin_client.get(roles_url(clerk_agent))
    assert response.status_code == 200 and "经办员乙" in response.content.decode()
    response = admin_client.post(
        roles_url(clerk_agent), {"roles": [Role.CONTRIBUTIONS, Role.QUERIES]}
    )
    assert response.status_code == 302
    clerk_agent.refresh_from_db()
    assert clerk_agent.roles == [Role.CONTRIBUTIONS, Role.QUERIES]
    event = AuditEvent.objects.get(action="agent.roles_changed")
    assert event.actor == admin.user and event.object_id == str(clerk_agent.pk)
    assert event.details == {"before": ["enrolment"], "after": ["contributions", "queries"]}


def test_roles_change_shows_in_the_agents_menu(admin_client, clerk_agent):
    agent_client = login(clerk_agent)
    assert "查询统计" not in agent_client.get(reverse("dashboard")).content.decode()
    admin_client.post(roles_url(clerk_agent), {"roles": [Role.QUERIES]})
    assert "查询统计" in agent_client.get(reverse("dashboard")).content.decode()


def test_last_admin_cannot_give_up_the_admin_role(admin_client, admin):
    response = admin_client.post(roles_url(admin), {"roles": [Role.QUERIES]})
    assert response.status_code == 200
    assert "至少需要保留一名启用的单位管理员" in response.content.decode()
    admin.refresh_from_db()
    assert admin.roles == [Role.UNIT_ADMIN]
    assert actions(action="agent.roles_changed") == []


def test_admin_may_hand_over_the_admin_role_then_give_up_its_own(admin_client, admin, unit):
    second = create_agent(employer=unit, roles=[Role.QUERIES], name="接任管理员")
    admin_client.post(roles_url(second), {"roles": [Role.UNIT_ADMIN]})
    response = admin_client.post(roles_url(admin), {"roles": [Role.QUERIES]})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    admin.refresh_from_db()
    assert admin.roles == [Role.QUERIES]
    assert admin_client.get(LIST).status_code == 403


def test_a_disabled_admin_does_not_count_as_the_remaining_admin(admin_client, admin, unit):
    create_agent(employer=unit, roles=[Role.UNIT_ADMIN], name="停用的管理员")
    Agent.objects.filter(name="停用的管理员").update(is_active=False)
    response = admin_client.post(roles_url(admin), {"roles": [Role.QUERIES]})
    assert "至少需要保留一名启用的单位管理员" in response.content.decode()


def test_roles_page_is_refused_to_a_non_admin(client, admin, clerk_agent):
    client.force_login(clerk_agent.user)
    assert client.get(roles_url(admin)).status_code == 403
    assert client.post(roles_url(clerk_agent), {"roles": [Role.UNIT_ADMIN]}).status_code == 403
    clerk_agent.refresh_from_db()
    assert clerk_agent.roles == [Role.ENROLMENT]


@pytest.mark.parametrize("page", [roles_url, password_url, disable_url, enable_url])
def test_another_units_agent_is_not_found_like_a_missing_one(admin_client, page):
    foreign = create_agent(name="别家经办人")
    method = admin_client.get if page in (roles_url, password_url) else admin_client.post
    assert method(page(foreign)).status_code == 404
    foreign.pk = 999_999
    assert method(page(foreign)).status_code == 404


# Disable and enable.


def test_admin_disables_and_enables_an_agent_with_audit_rows(admin_client, clerk_agent):
    agent_client = login(clerk_agent)
    assert agent_client.get(reverse("dashboard")).status_code == 200

    response = admin_client.post(disable_url(clerk_agent))
    assert response.status_code == 302 and response["Location"] == LIST
    clerk_agent.refresh_from_db()
    assert not clerk_agent.is_active
    response = agent_client.get(reverse("dashboard"))
    assert response.status_code == 302  # its session ends at the next request

    admin_client.post(enable_url(clerk_agent))
    clerk_agent.refresh_from_db()
    assert clerk_agent.is_active
    assert actions(object_id=str(clerk_agent.pk), action__startswith="agent.") == [
        "agent.enabled",
        "agent.disabled",
        "agent.created",
    ]


def test_last_active_admin_cannot_be_disabled(admin_client, admin):
    response = admin_client.post(disable_url(admin), follow=True)
    assert "至少需要保留一名启用的单位管理员" in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active


def test_disable_and_enable_accept_only_post(admin_client, clerk_agent):
    assert admin_client.get(disable_url(clerk_agent)).status_code == 405
    assert admin_client.get(enable_url(clerk_agent)).status_code == 405
    clerk_agent.refresh_from_db()
    assert clerk_agent.is_active


def test_disable_and_enable_are_refused_to_a_non_admin(client, admin, clerk_agent):
    client.force_login(clerk_agent.user)
    assert client.post(disable_url(admin)).status_code == 403
    assert client.post(enable_url(admin)).status_code == 403
    admin.refresh_from_db()
    assert admin.is_active


# Password reset by the admin.


def test_admin_resets_a_password_ending_the_agents_sessions_with_an_sms_notice(
    admin_client, admin, clerk_agent, sms_outbox, django_capture_on_commit_callbacks
):
    agent_client = login(clerk_agent)
    assert agent_client.get(reverse("dashboard")).status_code == 200
    assert admin_client.get(password_url(clerk_agent)).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            password_url(clerk_agent), {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
        )
    assert response.status_code == 302
    clerk_agent.user.refresh_from_db()
    assert clerk_agent.user.check_password(NEW_PASSWORD)
    assert agent_client.get(reverse("dashboard")).status_code == 302
    assert "_auth_user_id" not in agent_client.session
    assert sms_outbox[-1].phone == clerk_agent.phone and "重置" in sms_outbox[-1].text
    event = AuditEvent.objects.get(action="agent.password_reset")
    assert event.actor == admin.user and event.object_id == str(clerk_agent.pk)
    assert NEW_PASSWORD not in str(event.details)


def test_reset_password_must_follow_the_rules(admin_client, clerk_agent, sms_outbox):
    phone_password = f"a{clerk_agent.phone}"
    response = admin_client.post(
        password_url(clerk_agent), {"password": phone_password, "password2": phone_password}
    )
    assert "密码不能包含身份证号或手机号" in response.content.decode()
    response = admin_client.post(
        password_url(clerk_agent), {"password": NEW_PASSWORD, "password2": "Other2026x"}
    )
    assert "两次输入的密码不一致" in response.content.decode()
    clerk_agent.user.refresh_from_db()
    assert clerk_agent.user.check_password("Test2026pass") and sms_outbox == []


def test_admin_cannot_reset_its_own_password_here(admin_client, admin):
    response = admin_client.post(
        password_url(admin), {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert "不能在此重置本人的密码" in response.content.decode()
    admin.user.refresh_from_db()
    assert not admin.user.check_password(NEW_PASSWORD)


def test_reset_is_refused_to_a_non_admin(client, admin, clerk_agent):
    client.force_login(clerk_agent.user)
    assert client.get(password_url(admin)).status_code == 403
    response = client.post(
        password_url(admin), {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 403
    admin.user.refresh_from_db()
    assert not admin.user.check_password(NEW_PASSWORD)


# The services refuse on their own, whoever calls them.


@pytest.mark.parametrize(
    "call",
    [
        lambda actor, agent: agent_roles_change(actor=actor, agent=agent, roles=["queries"]),
        lambda actor, agent: agent_disable(actor=actor, agent=agent),
        lambda actor, agent: agent_enable(actor=actor, agent=agent),
        lambda actor, agent: agent_password_reset_by_admin(
            actor=actor, agent=agent, password=NEW_PASSWORD
        ),
    ],
)
def test_services_refuse_a_non_admin_and_another_units_agent(call, admin, clerk_agent):
    with pytest.raises(PermissionDenied):
        call(clerk_agent, admin)
    with pytest.raises(PermissionDenied):
        call(admin, create_agent(name="别家经办人"))


def test_service_refuses_the_last_admin_with_a_coded_error(admin):
    with pytest.raises(ValidationError) as caught:
        agent_disable(actor=admin, agent=admin)
    assert caught.value.code == "last_admin"


def test_unchanged_roles_write_no_audit_row(admin, clerk_agent):
    agent_roles_change(actor=admin, agent=clerk_agent, roles=[Role.ENROLMENT])
    assert actions(action="agent.roles_changed") == []


def test_new_agents_phone_and_id_are_kept_encrypted(
    admin_client, sms_outbox, django_capture_on_commit_callbacks
):
    phone = make_phone()
    data = add_data(phone=phone)
    send_code(admin_client, phone, django_capture_on_commit_callbacks)
    admin_client.post(ADD, {**data, "code": code_from(sms_outbox)})
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, id_number FROM employers_agent WHERE name = %s", ["新经办人"])
        stored_phone, stored_id = cursor.fetchone()
    assert phone not in stored_phone and data["id_number"] not in stored_id


def test_add_page_renders_every_field_and_the_code_button(admin_client):
    body = admin_client.get(ADD).content.decode()
    for name in AgentAddForm.base_fields:
        assert f'name="{name}"' in body, name
    assert 'name="send_code"' in body and "获取验证码" in body
