"""留言板 and the help pages (issue 16 items 6 and 7)."""

import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from employers.helpdesk.services import (
    question_answer,
    question_ask,
    question_due_at,
    question_follow_up,
    questions_mark_overdue,
)
from employers.models import Question, QuestionMessage, QuestionTopic, Role
from employers.tasks import questions_mark_overdue as questions_mark_overdue_task
from portal.celery import app as celery_app
from portal.models import (
    AuditEvent,
    InboxCategory,
    InboxMessage,
    Notification,
    ReviewState,
    WorkdayOverride,
)
from tests.enrollment.add_helpers import jpg_bytes, pdf_bytes, upload
from tests.factories import RegionFactory, create_agent, create_clerk, create_employer

pytestmark = pytest.mark.django_db

LIST = "/unit/questions/"
ASK = "/unit/questions/ask/"


@pytest.fixture
def unit():
    return create_employer(name="留言板测试有限公司")


@pytest.fixture
def agent(unit):
    # The narrowest role: every agent may ask.
    return create_agent(employer=unit, roles=[Role.QUERIES], name="查询员甲")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent.user)
    return client


@pytest.fixture
def clerk():
    return create_clerk()


def ask(agent, subject="缴费记录查不到", text="本月增员的职工查不到缴费记录。", **kwargs):
    return question_ask(
        agent=agent,
        topic=kwargs.pop("topic", QuestionTopic.RECORDS),
        subject=subject,
        text=text,
        idempotency_key=kwargs.pop("idempotency_key", uuid.uuid4()),
        **kwargs,
    )


def ask_form(**overrides):
    return {
        "idempotency_key": str(uuid.uuid4()),
        "topic": "records",
        "subject": "缴费记录查不到",
        "text": "本月增员的职工查不到缴费记录。",
        **overrides,
    }


# Asking ----------------------------------------------------------------------------------


def test_an_agent_asks_and_lands_on_the_thread(agent_client, agent):
    form = ask_form(upload=upload("截图.jpg", jpg_bytes(), "image/jpeg"))

    response = agent_client.post(ASK, form)

    question = Question.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("helpdesk:detail", args=[question.reference])
    assert question.employer_id == agent.employer_id and question.agent == agent
    assert question.region_id == agent.employer.region_id
    assert question.state == Question.State.OPEN and not question.is_overdue
    assert question.due_at == question_due_at(question.created_at)
    [first] = question.messages.all()
    assert first.agent == agent and first.attachment_name == "截图.jpg"
    assert first.attachment_type == "image/jpeg" and "截图" not in first.attachment.name
    assert AuditEvent.objects.filter(action="question.asked", object_id=str(question.pk)).exists()
    page = agent_client.get(response["Location"]).content.decode()
    assert "缴费记录查不到" in page and "本月增员的职工查不到缴费记录。" in page


def test_the_due_time_is_the_close_of_the_second_working_day():
    # Friday 2026-06-05: Monday 06-08 is a holiday here, so the 2nd working day is Wednesday.
    WorkdayOverride.objects.create(date=datetime.date(2026, 6, 8), is_working_day=False)
    asked = datetime.datetime(2026, 6, 5, 10, 0, tzinfo=timezone.get_current_timezone())
    due = timezone.localtime(question_due_at(asked))
    assert (due.date(), due.hour, due.minute) == (datetime.date(2026, 6, 10), 17, 30)


def test_a_disguised_file_is_refused_next_to_the_field_and_the_text_is_kept(agent_client):
    fake = upload("说明.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf")

    response = agent_client.post(ASK, ask_form(subject="我的标题", upload=fake))

    assert response.status_code == 200 and not Question.objects.exists()
    form = response.context["form"]
    assert "可执行程序" in " ".join(form.errors["upload"])
    body = response.content.decode()
    assert 'value="我的标题"' in body and "本月增员的职工查不到缴费记录。" in body


def test_a_pdf_is_accepted_and_a_long_text_refused(agent_client):
    too_long = agent_client.post(ASK, ask_form(text="字" * 2001))
    assert "内容不能超过2000个字" in " ".join(too_long.context["form"].errors["text"])
    assert not Question.objects.exists()
    response = agent_client.post(
        ASK, ask_form(upload=upload("通知.pdf", pdf_bytes(), "application/pdf"))
    )
    assert response.status_code == 302
    assert QuestionMessage.objects.get().attachment_type == "application/pdf"


def test_missing_fields_are_named_in_chinese(agent_client):
    response = agent_client.post(ASK, ask_form(topic="", subject="", text=""))
    errors = response.context["form"].errors
    assert errors["topic"] == ["此项为必填项。"] and errors["subject"] == ["此项为必填项。"]
    assert errors["text"] == ["此项为必填项。"]


def test_the_same_page_submitted_twice_asks_once(agent_client):
    form = ask_form()
    first = agent_client.post(ASK, form)
    second = agent_client.post(ASK, form)
    assert first["Location"] == second["Location"]
    assert Question.objects.count() == 1 and QuestionMessage.objects.count() == 1


def test_another_units_submission_key_is_refused_without_showing_its_question(agent):
    foreign = ask(create_agent(roles=[Role.QUERIES]), subject="别家单位的问题")
    with pytest.raises(ValidationError):
        ask(agent, idempotency_key=foreign.idempotency_key)
    assert Question.objects.count() == 1


def test_the_ask_page_is_refused_to_visitors_and_clerks(admin_client):
    assert Client().get(ASK)["Location"].startswith(reverse("accounts:login"))
    assert admin_client.get(ASK).status_code == 403


# The list and the thread -------------------------------------------------------------------


def test_the_list_shows_the_units_questions_only(agent_client, agent, unit, clerk):
    mine = ask(agent, subject="本单位的问题")
    colleague = create_agent(employer=unit, roles=[Role.ENROLMENT], name="增减员乙")
    answered = ask(colleague, subject="同事的问题")
    question_answer(question=answered, clerk=clerk, text="已答复。")
    ask(create_agent(roles=[Role.QUERIES]), subject="别家单位的问题")

    body = agent_client.get(LIST).content.decode()

    assert mine.reference in body and answered.reference in body
    assert "本单位的问题" in body and "同事的问题" in body and "增减员乙" in body
    assert "别家单位的问题" not in body
    assert 'data-question-state="answered"' in body and 'data-question-state="open"' in body


@pytest.mark.parametrize("count", [1, 30])
def test_the_list_takes_a_constant_number_of_queries(
    agent_client, agent, count, django_assert_num_queries
):
    for n in range(count):
        ask(agent, subject=f"问题{n}")
    agent_client.get(LIST)  # the first request after login settles the session
    with django_assert_num_queries(LIST_QUERIES):
        response = agent_client.get(LIST)
    assert response.content.decode().count("data-question=") == min(count, 20)


# session, user, agent with its unit, the unread count (header), the page's count and its rows
LIST_QUERIES = 6


def test_another_units_question_is_not_found(agent_client):
    foreign = ask(create_agent(roles=[Role.QUERIES]), subject="别家单位的问题")
    url = reverse("helpdesk:detail", args=[foreign.reference])
    assert agent_client.get(url).status_code == 404
    assert agent_client.post(url, {"text": "追问"}).status_code == 404
    assert foreign.messages.count() == 1


def test_a_follow_up_reopens_an_answered_question_with_a_new_due_time(agent_client, agent, clerk):
    question = ask(agent)
    question_answer(question=question, clerk=clerk, text="请查看核定单是否已缴费。")
    Question.objects.filter(pk=question.pk).update(
        due_at=timezone.now() - datetime.timedelta(days=5), is_overdue=True
    )
    url = reverse("helpdesk:detail", args=[question.reference])

    response = agent_client.post(url, {"text": "已缴费,仍然查不到。"})

    assert response.status_code == 302
    question.refresh_from_db()
    assert question.state == Question.State.OPEN and not question.is_overdue
    latest = question.messages.order_by("-created_at", "-pk").first()
    assert latest.text == "已缴费,仍然查不到。" and latest.agent == agent
    assert question.due_at == question_due_at(latest.created_at)
    page = agent_client.get(url).content.decode()
    assert "经办机构答复" in page and "请查看核定单是否已缴费。" in page


def test_an_empty_follow_up_is_refused_next_to_the_field(agent_client, agent):
    question = ask(agent)
    url = reverse("helpdesk:detail", args=[question.reference])
    response = agent_client.post(url, {"text": "  "})
    assert response.status_code == 200
    assert response.context["form"].errors["text"] == ["此项为必填项。"]


def test_a_closed_question_takes_no_follow_up(agent):
    question = ask(agent)
    Question.objects.filter(pk=question.pk).update(state=Question.State.CLOSED)
    with pytest.raises(ValidationError, match="已关闭"):
        question_follow_up(agent=agent, question=question, text="还有问题")


def test_a_double_clicked_follow_up_is_written_once(agent):
    question = ask(agent)
    first = question_follow_up(agent=agent, question=question, text="补充说明")
    second = question_follow_up(agent=agent, question=question, text="补充说明")
    assert first.pk == second.pk and question.messages.count() == 2


# Attachments --------------------------------------------------------------------------------


def attachment_url(message):
    return reverse("helpdesk:attachment", args=[message.pk])


def test_an_attachment_is_downloaded_as_a_file_by_the_unit_only(agent_client, agent):
    question = ask(agent, attachment=None)
    message = question_follow_up(
        agent=agent,
        question=question,
        text="附上截图",
        attachment=_checked("截图.pdf", pdf_bytes()),
    )

    response = agent_client.get(attachment_url(message))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    foreign_agent = create_agent(roles=[Role.UNIT_ADMIN])
    other = Client()
    other.force_login(foreign_agent.user)
    assert other.get(attachment_url(message)).status_code == 404
    without_file = question.messages.order_by("pk").first()
    assert agent_client.get(attachment_url(without_file)).status_code == 404


def _checked(name, data):
    from portal.uploads import upload_check

    return upload_check(upload(name, data))


# The clerk's answer ---------------------------------------------------------------------------


def test_an_answer_notifies_the_asking_agent_by_sms_and_in_full_in_its_inbox(
    agent, unit, clerk, django_capture_on_commit_callbacks, sms_outbox
):
    question = ask(agent, subject="如何打印参保证明")
    colleague = create_agent(employer=unit, roles=[Role.UNIT_ADMIN])

    with django_capture_on_commit_callbacks(execute=True):
        question_answer(question=question, clerk=clerk, text="请在“打印证明”中选择参保缴费证明。")

    question.refresh_from_db()
    assert question.state == Question.State.ANSWERED and question.answered_at is not None
    answer = question.messages.order_by("-pk").first()
    assert answer.clerk == clerk and answer.agent is None
    assert AuditEvent.objects.filter(action="question.answered", actor=clerk).exists()
    sms = Notification.objects.get(template="question_answered")
    assert sms.recipient == agent.phone and sms.employer_id == unit.pk
    [sent] = sms_outbox
    assert question.reference in sent.text and "打印证明" not in sent.text
    inbox = InboxMessage.objects.get(template="question_answered")
    assert inbox.agent_id == agent.pk and inbox.category == InboxCategory.ANSWER
    assert inbox.reference == question.reference and "如何打印参保证明" in inbox.title
    assert "请在“打印证明”中选择参保缴费证明。" in inbox.body
    from employers.inbox.selectors import inbox_unread_count

    assert inbox_unread_count(agent=agent) == 1 and inbox_unread_count(agent=colleague) == 0


def test_a_clerk_of_another_region_may_not_answer(agent):
    question = ask(agent)
    elsewhere = create_clerk("clerk-sh", regions=[RegionFactory(code="310000", name="上海")])
    with pytest.raises(PermissionDenied):
        question_answer(question=question, clerk=elsewhere, text="答复")
    assert Question.objects.get().state == Question.State.OPEN


def test_an_empty_answer_is_refused(agent, clerk):
    with pytest.raises(ValidationError):
        question_answer(question=ask(agent), clerk=clerk, text=" ")


# The clerk's queue in the admin -------------------------------------------------------------


def clerk_client(clerk):
    from tests.conftest import otp_verify

    return otp_verify(Client(), clerk)


def test_the_queue_puts_the_oldest_open_question_first_and_filters(agent, clerk):
    newer, older = ask(agent, subject="较新的问题"), ask(agent, subject="较早的问题")
    Question.objects.filter(pk=older.pk).update(due_at=timezone.now() - datetime.timedelta(days=1))
    answered = ask(agent, subject="已答复的问题")
    question_answer(question=answered, clerk=clerk, text="答复")
    client = clerk_client(clerk)
    url = reverse("admin:employers_question_changelist")

    body = client.get(url).content.decode()

    assert body.index("较早的问题") < body.index("较新的问题")
    assert "已答复的问题" not in body
    overdue = client.get(url, {"overdue": "yes"}).content.decode()
    assert "较早的问题" in overdue and "较新的问题" not in overdue
    assert "已答复的问题" in client.get(url, {"state": "answered"}).content.decode()
    assert "较新的问题" in client.get(url, {"topic": "records"}).content.decode()
    region = agent.employer.region_id
    assert "较新的问题" in client.get(url, {"region": region}).content.decode()
    found = client.get(url, {"q": newer.reference.lower()}).content.decode()
    assert "较新的问题" in found and "较早的问题" not in found
    assert "较早的问题" in client.get(url, {"q": "较早"}).content.decode()


def test_the_clerk_reads_the_thread_masked_and_answers_it(agent, clerk):
    question = ask(agent, subject="基数申报的问题", text="上下限是多少?")
    client = clerk_client(clerk)
    url = reverse("admin:employers_question_change", args=[question.pk])

    page = client.get(url).content.decode()

    assert "基数申报的问题" in page and "上下限是多少?" in page
    assert agent.masked_phone in page and agent.phone not in page
    assert agent.name in page and agent.employer.name in page
    assert 'name="text"' in page and "上下限是多少?</textarea>" not in page
    refused = client.post(url, {"text": ""})
    assert refused.status_code == 200 and "请填写答复内容。" in refused.content.decode()
    response = client.post(url, {"text": "以当年公布的上下限为准。"})
    assert response.status_code == 302
    assert Question.objects.get().state == Question.State.ANSWERED


def test_the_clerk_downloads_an_attachment_of_the_thread(agent, clerk):
    question = ask(agent, attachment=_checked("截图.jpg", jpg_bytes()))
    message = question.messages.get()
    url = reverse("admin:employers_question_attachment", args=[question.pk, message.pk])
    response = clerk_client(clerk).get(url)
    assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")


def test_a_clerk_of_another_region_does_not_see_the_question(agent):
    question = ask(agent)
    elsewhere = create_clerk("clerk-sh", regions=[RegionFactory(code="310000", name="上海")])
    client = clerk_client(elsewhere)
    url = reverse("admin:employers_question_change", args=[question.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"text": "答复"}).status_code == 404
    assert Question.objects.get().state == Question.State.OPEN


# Overdue ---------------------------------------------------------------------------------


def test_the_beat_marks_open_questions_past_due_overdue_once(agent, clerk):
    late, on_time, answered = ask(agent), ask(agent), ask(agent)
    past = timezone.now() - datetime.timedelta(hours=1)
    Question.objects.filter(pk__in=[late.pk, answered.pk]).update(due_at=past)
    question_answer(question=answered, clerk=clerk, text="答复")

    assert questions_mark_overdue_task.delay().get() == 1

    assert set(Question.objects.filter(is_overdue=True).values_list("pk", flat=True)) == {late.pk}
    assert questions_mark_overdue() == 0  # idempotent
    assert on_time.pk not in Question.objects.filter(is_overdue=True).values_list("pk", flat=True)


def test_the_overdue_watch_is_on_the_beat_schedule():
    entries = celery_app.conf.beat_schedule.values()
    assert any(entry["task"] == "employers.tasks.questions_mark_overdue" for entry in entries)


# Help pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/help/", "/help/faq/", "/help/states/", "/help/benefits/"])
def test_help_pages_are_open_to_visitors(url):
    response = Client().get(url)
    assert response.status_code == 200
    assert "12333" in response.content.decode()


def test_the_help_center_lists_the_agents_region_first(agent_client, agent):
    RegionFactory(code="100000", name="排在前面的统筹区", hotline="010-1")
    mine = agent.employer.region
    mine.hotline, mine.service_hours = "010-12333", "工作日 9:00–17:00"
    mine.save()
    body = agent_client.get("/help/").content.decode()
    assert body.index(mine.name) < body.index("排在前面的统筹区")
    assert "010-12333" in body and "工作日 9:00–17:00" in body
    anonymous = Client().get("/help/").content.decode()
    assert anonymous.index("排在前面的统筹区") < anonymous.index(mine.name)


def test_the_states_page_explains_every_review_and_question_state():
    body = Client().get("/help/states/").content.decode()
    for state in ReviewState:
        assert f'data-state="review:{state.value}"' in body and str(state.label) in body
    for state in Question.State:
        assert f'data-state="question:{state.value}"' in body


def test_the_faq_covers_the_questions_units_ask():
    body = Client().get("/help/faq/").content.decode()
    for words in ["短信验证解锁", "忘记", "缴费记录", "CA数字证书", "浏览器", "导入模板"]:
        assert words in body


def test_agent_pages_link_to_help_and_the_message_board(agent_client):
    body = agent_client.get(reverse("dashboard")).content.decode()
    assert 'href="/help/"' in body and f'href="{LIST}"' in body
    assert 'href="/help/"' in Client().get(reverse("home")).content.decode()


def test_the_benefit_rules_page_states_the_rules_with_a_worked_example():
    from decimal import Decimal

    from contributions.benefits.rules import maternity_allowance, maternity_leave_days

    body = Client().get("/help/benefits/").content.decode()
    assert "98天" in body and "难产的增加15天" in body and "一级27个月" in body
    # The page's example is what the rule functions give.
    days = maternity_leave_days("birth")
    assert f"{maternity_allowance(Decimal('8000'), days):,.2f}" == "26,133.33"
    assert f"8000 ÷ 30 × {days} = 26,133.33" in body
