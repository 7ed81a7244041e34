"""站内消息 (issue 16 item 5): every notification to a unit in its inbox; list, read, unread."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from employers.inbox.selectors import inbox_unread_count
from employers.models import RegistrationApplication, Role
from portal.inbox import inbox_category_for
from portal.models import InboxCategory, InboxMessage, InboxRead, Notification
from portal.notifications import notification_create
from portal.review import review_decide
from tests.factories import (
    create_agent,
    create_clerk,
    create_employer,
    create_submitted_application,
)

pytestmark = pytest.mark.django_db

LIST = "/unit/inbox/"


def message(unit, title="审核结果", *, agent=None, category=InboxCategory.REVIEW, minutes_ago=0):
    return InboxMessage.objects.create(
        employer_id=unit.pk,
        agent_id=agent.pk if agent else None,
        category=category,
        template="test",
        title=title,
        body=f"{title}的全文",
        reference="ZY20260101AAAA0001",
        created_at=timezone.now() - datetime.timedelta(minutes=minutes_ago),
    )


@pytest.fixture
def unit():
    return create_employer(name="站内消息测试有限公司")


@pytest.fixture
def agent(unit):
    # The narrowest role: every agent reads the unit's messages.
    return create_agent(employer=unit, roles=[Role.QUERIES], name="查询员甲")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent.user)
    return client


# Written with the notification ------------------------------------------------------------


def test_a_review_result_reaches_the_inbox_once_with_the_clerks_comment(
    django_capture_on_commit_callbacks,
):
    employer = create_employer(name="注册测试有限公司", status="unverified")
    employer.contact_email = "hr@example.com"
    employer.save(update_fields=["contact_email"])
    with django_capture_on_commit_callbacks(execute=True):
        application = create_submitted_application(employer=employer)
    with django_capture_on_commit_callbacks(execute=True):
        review_decide(
            model=RegistrationApplication,
            pk=application.pk,
            actor=create_clerk(),
            decision="reject",
            comment="营业执照照片不清晰,请重新上传。",
        )
    rejected = Notification.objects.filter(template="registration_rejected")
    assert sorted(rejected.values_list("channel", flat=True)) == ["email", "sms"]
    inbox = InboxMessage.objects.filter(employer_id=employer.pk)
    assert sorted(inbox.values_list("template", flat=True)) == [
        "registration_rejected",
        "registration_submitted",
    ]
    result = inbox.get(template="registration_rejected")
    assert result.title == f"单位注册申请未通过审核（编号{application.reference}）"
    assert result.reference == application.reference
    assert result.category == InboxCategory.REVIEW and result.agent_id is None
    assert "营业执照照片不清晰" in result.body and "重新提交" in result.body
    # The short SMS carries the reference, never the comment.
    sms = rejected.get(channel="sms")
    assert application.reference in sms.body and "营业执照" not in sms.body


def test_verification_codes_and_clerk_reminders_stay_out_of_the_inbox(unit):
    notification_create(
        channel=Notification.Channel.SMS,
        recipient="13900000001",
        template="sms_code",
        context={"code": "123456", "purpose": "变更手机号", "minutes": 5},
        employer_id=unit.pk,
        expires_at=timezone.now() + datetime.timedelta(minutes=5),
    )
    notification_create(
        channel=Notification.Channel.EMAIL,
        recipient="clerk@si.example",
        template="review_reminder",
        context={"count": 2, "type": "增员", "hours": 4},
    )
    assert not InboxMessage.objects.exists()


def test_without_an_inbox_template_the_message_is_the_sent_text(unit, agent):
    notification_create(
        channel=Notification.Channel.EMAIL,
        recipient="hr@example.com",
        template="review_reminder",
        context={"count": 2, "type": "增员", "hours": 4},
        employer_id=unit.pk,
        agent_id=agent.pk,
    )
    inbox = InboxMessage.objects.get()
    assert inbox.title == "【审核提醒】2 件增员即将到期"
    assert "请登录经办管理系统及时处理" in inbox.body
    assert inbox.agent_id == agent.pk and inbox.category == InboxCategory.REMINDER


@pytest.mark.parametrize(
    ("template", "category"),
    [
        ("registration_approved", InboxCategory.REVIEW),
        ("add_employee_rejected", InboxCategory.REVIEW),
        ("registration_submitted", InboxCategory.REVIEW),
        ("question_answered", InboxCategory.ANSWER),
        ("bill_issued", InboxCategory.BILL),
        ("login_locked", InboxCategory.SECURITY),
        ("payment_due_reminder", InboxCategory.REMINDER),
        ("something_else", InboxCategory.NOTICE),
    ],
)
def test_the_category_follows_the_templates_name(template, category):
    assert inbox_category_for(template) == category


def test_every_inbox_template_has_a_title_line_and_a_body():
    from pathlib import Path

    from django.conf import settings
    from django.template.loader import render_to_string

    folder = Path(settings.BASE_DIR) / "templates" / "notifications" / "inbox"
    names = sorted(path.stem for path in folder.glob("*.txt"))
    assert len(names) >= 10
    inbox_only = {"bill_issued"}  # every unit gets one a month: the inbox only, no SMS
    for name in names:
        if name not in inbox_only:
            assert (folder.parent / "sms" / f"{name}.txt").exists(), f"{name}: no SMS of that name"
        text = render_to_string(f"notifications/inbox/{name}.txt", {"reference": "X1"}).strip()
        title, _sep, body = text.partition("\n")
        assert title and len(title) <= 200 and body.strip(), name


# The list ------------------------------------------------------------------------------------


def test_list_shows_the_units_messages_newest_first_with_unread_marked(agent_client, unit, agent):
    old = message(unit, "较早的消息", minutes_ago=10)
    new = message(unit, "最新的消息")
    InboxRead.objects.create(message=old, agent_id=agent.pk)
    other = create_employer(name="别家单位")
    message(other, "别家单位的消息")
    colleague = create_agent(employer=unit, roles=[Role.ENROLMENT])
    message(unit, "写给同事的消息", agent=colleague)

    response = agent_client.get(LIST)

    body = response.content.decode()
    assert response.status_code == 200
    assert body.index("最新的消息") < body.index("较早的消息")
    assert f'data-inbox-message="{new.pk}" class="portal-unread" data-unread' in body
    assert f'data-inbox-message="{old.pk}">' in body
    assert "别家单位的消息" not in body and "写给同事的消息" not in body


def test_list_filters_unread_and_by_category(agent_client, unit, agent):
    read = message(unit, "已读的审核结果")
    InboxRead.objects.create(message=read, agent_id=agent.pk)
    message(unit, "未读的审核结果")
    message(unit, "未读的留言答复", category=InboxCategory.ANSWER)

    unread = agent_client.get(LIST, {"show": "unread"}).content.decode()
    answers = agent_client.get(LIST, {"category": "answer"}).content.decode()

    assert "未读的审核结果" in unread and "未读的留言答复" in unread
    assert "已读的审核结果" not in unread
    assert "未读的留言答复" in answers and "审核结果" not in answers.split("<tbody>")[1]


def test_a_bad_filter_shows_everything_with_the_error_next_to_the_field(agent_client, unit):
    message(unit, "一条消息")
    body = agent_client.get(LIST, {"category": "nonsense"}).content.decode()
    assert "一条消息" in body and "请选择列表中的类别。" in body


@pytest.mark.parametrize("count", [1, 30])
def test_list_takes_a_constant_number_of_queries(
    agent_client, unit, count, django_assert_num_queries
):
    for n in range(count):
        message(unit, f"消息{n}")
    agent_client.get(LIST)  # the first request after login settles the session
    with django_assert_num_queries(LIST_QUERIES):
        response = agent_client.get(LIST)
    assert response.content.decode().count("data-inbox-message=") == min(count, 20)


# session, user, agent with its unit, the unread count (header), the page's count and its rows
LIST_QUERIES = 6


def test_the_list_is_refused_to_visitors_and_clerks(admin_client):
    assert Client().get(LIST)["Location"].startswith(reverse("accounts:login"))
    assert admin_client.get(LIST).status_code == 403


# One message ---------------------------------------------------------------------------------


def test_opening_a_message_marks_it_read_for_this_agent_only(agent_client, unit, agent):
    inbox = message(unit, "增员申请已审核通过")
    colleague = create_agent(employer=unit, roles=[Role.ENROLMENT])

    response = agent_client.get(reverse("inbox:detail", args=[inbox.pk]))

    assert response.status_code == 200
    assert "增员申请已审核通过的全文" in response.content.decode()
    assert InboxRead.objects.filter(message=inbox, agent_id=agent.pk).count() == 1
    assert inbox_unread_count(agent=agent) == 0
    assert inbox_unread_count(agent=colleague) == 1
    agent_client.get(reverse("inbox:detail", args=[inbox.pk]))  # again: nothing changes
    assert InboxRead.objects.count() == 1


def test_another_units_message_is_not_found(agent_client):
    foreign = message(create_employer(name="别家单位"), "别家单位的消息")
    response = agent_client.get(reverse("inbox:detail", args=[foreign.pk]))
    assert response.status_code == 404
    assert not InboxRead.objects.exists()


def test_a_message_to_one_agent_is_seen_by_that_agent_only(client, unit, agent):
    colleague = create_agent(employer=unit, roles=[Role.UNIT_ADMIN])
    private = message(unit, "您的留言已答复", agent=agent, category=InboxCategory.ANSWER)
    url = reverse("inbox:detail", args=[private.pk])
    client.force_login(colleague.user)
    assert client.get(url).status_code == 404
    assert inbox_unread_count(agent=colleague) == 0
    client.force_login(agent.user)
    assert client.get(url).status_code == 200


# Mark all read ---------------------------------------------------------------------------


def test_mark_all_read_reads_every_message_of_the_agent_and_nothing_else(agent_client, unit, agent):
    for n in range(3):
        message(unit, f"消息{n}")
    colleague = create_agent(employer=unit, roles=[Role.ENROLMENT])
    message(unit, "写给同事的消息", agent=colleague)
    other_unit = message(create_employer(name="别家单位"), "别家单位的消息")

    response = agent_client.post(reverse("inbox:read_all"))

    assert response.status_code == 302 and response["Location"] == LIST
    assert inbox_unread_count(agent=agent) == 0
    assert inbox_unread_count(agent=colleague) == 4
    assert not InboxRead.objects.filter(message=other_unit).exists()
    assert agent_client.get(reverse("inbox:read_all")).status_code == 405
    assert agent_client.post(reverse("inbox:read_all")).status_code == 302  # nothing left: fine


# The header --------------------------------------------------------------------------------


def test_the_header_shows_the_unread_count_on_agent_pages(agent_client, unit, agent):
    for n in range(3):
        message(unit, f"消息{n}")
    body = agent_client.get(reverse("dashboard")).content.decode()
    assert 'data-inbox-unread="3"' in body and f'href="{LIST}"' in body
    agent_client.post(reverse("inbox:read_all"))
    body = agent_client.get(reverse("dashboard")).content.decode()
    assert "data-inbox-unread" not in body and "data-inbox-link" in body


def test_the_header_caps_the_count_at_99(agent_client, unit):
    InboxMessage.objects.bulk_create(
        [
            InboxMessage(employer_id=unit.pk, template="t", title=f"消息{n}", body="全文")
            for n in range(120)
        ]
    )
    body = agent_client.get(reverse("dashboard")).content.decode()
    assert 'data-inbox-unread="100"' in body and "99+" in body


def test_visitors_and_clerks_see_no_inbox_link(admin_client):
    assert "data-inbox-link" not in Client().get(reverse("home")).content.decode()
    assert "data-inbox-link" not in admin_client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("count", [0, 1, 120])
def test_the_unread_count_costs_one_query(agent, unit, count, django_assert_num_queries):
    for n in range(count):
        message(unit, f"消息{n}")
    with django_assert_num_queries(1):
        assert inbox_unread_count(agent=agent) == min(count, 100)
