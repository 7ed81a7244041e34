import time

import pytest
from captcha.models import CaptchaStore
from django.test import Client
from django.utils import timezone

from employers.accounts.backends import axes_username
from employers.accounts.services import SESSION_LAST_SEEN, SESSION_STARTED
from employers.models import Employer
from employers.tasks import captcha_clean
from portal.celery import app as celery_app
from portal.models import AuditEvent
from tests.employers.auth_helpers import (
    PASSWORD,
    captcha_answer,
    form_with_captcha,
    login,
    make_agent,
    make_application,
    messages_of,
)
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

BAD_CREDENTIALS = "单位编号、身份证号或密码不正确"


@pytest.fixture
def agent():
    return make_agent()


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_login_page_offers_captcha_ca_tab_and_forgotten_password(client):
    content = client.get("/login/").content.decode()

    assert "单位用户登录" in content
    assert 'href="/login/ca/"' in content
    assert 'href="/password/forgot/"' in content
    assert 'src="/captcha/image/' in content
    assert "data-captcha-refresh" in content and "js/captcha.js" in content


@pytest.mark.parametrize("unit_field", ["ss_number", "uscc"])
def test_agent_logs_in_with_unit_number_and_id_number(client, agent, unit_field):
    response = login(client, unit=getattr(agent.employer, unit_field), id_number=agent.id_number)

    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.session["_auth_user_id"] == str(agent.user.pk)
    event = AuditEvent.objects.get(action="agent.login")
    assert event.outcome == "success" and event.object_id == str(agent.pk)
    assert event.details == {"method": "password"}


def test_unit_number_is_read_without_spaces_and_in_any_case(client, agent):
    spaced = " ".join(agent.employer.uscc.lower())

    response = login(client, unit=spaced, id_number=agent.id_number.lower())

    assert response.status_code == 302 and logged_in(client)


def test_id_number_alone_logs_in_when_it_names_one_active_agent(client, agent):
    response = login(client, id_number=agent.id_number)

    assert response["Location"] == "/dashboard/"


def test_id_number_alone_is_not_enough_when_it_names_agents_of_two_units(client, agent):
    create_agent(employer=create_employer(), id_number=agent.id_number)

    response = login(client, id_number=agent.id_number)

    assert BAD_CREDENTIALS in response.content.decode() and not logged_in(client)
    response = login(client, unit=agent.employer.ss_number, id_number=agent.id_number)
    assert response.status_code == 302 and logged_in(client)


def test_a_disabled_agent_elsewhere_does_not_block_the_id_number_alone(client, agent):
    other = create_agent(employer=create_employer(), id_number=agent.id_number)
    other.is_active = False
    other.save(update_fields=["is_active"])

    assert login(client, id_number=agent.id_number).status_code == 302


def test_unknown_account_and_wrong_password_get_the_same_answer(client, agent):
    wrong_password = login(
        client, unit=agent.employer.ss_number, id_number=agent.id_number, password="Wrong2026pw"
    )
    unknown_unit = login(client, unit="99999999999", id_number=agent.id_number)
    unknown_agent = login(client, unit=agent.employer.ss_number, id_number="11010519491231002X")

    for response in (wrong_password, unknown_unit, unknown_agent):
        assert response.status_code == 200
        errors = response.context["form"].non_field_errors()
        assert errors == [BAD_CREDENTIALS + ",请核对后重新输入。"]
    assert not logged_in(client)
    reasons = AuditEvent.objects.filter(action="agent.login").values_list("details", flat=True)
    assert [d["reason"] for d in reasons] == ["bad_credentials"] * 3


def test_failed_login_keeps_what_was_typed_except_password_and_captcha(client, agent):
    response = login(
        client, unit=agent.employer.ss_number, id_number=agent.id_number, password="Wrong2026pw"
    )

    content = response.content.decode()
    assert f'value="{agent.employer.ss_number}"' in content
    assert f'value="{agent.id_number}"' in content
    assert "Wrong2026pw" not in content
    assert 'name="captcha_1" ' in content and 'name="captcha_1" value=' not in content


def test_wrong_captcha_is_refused_even_with_the_right_password(client, agent):
    fields = form_with_captcha(client, "/login/")
    fields["captcha_1"] = "zzzz"

    response = login(
        client, unit=agent.employer.ss_number, id_number=agent.id_number, captcha=fields
    )

    assert response.status_code == 200 and not logged_in(client)
    assert response.context["form"].errors["captcha"] == [
        "图片验证码不正确或已过期,请看新图片重新输入。"
    ]
    # Nothing reached the password check: no failure counts against the agent.
    event = AuditEvent.objects.get(action="agent.login")
    assert event.details["reason"] == "captcha" and event.object_id == ""


def test_a_captcha_answers_once_only(client, agent):
    fields = form_with_captcha(client, "/login/")
    login(
        client,
        unit=agent.employer.ss_number,
        id_number=agent.id_number,
        password="Wrong2026pw",
        captcha=dict(fields),
    )

    response = login(
        client, unit=agent.employer.ss_number, id_number=agent.id_number, captcha=fields
    )

    assert "captcha" in response.context["form"].errors and not logged_in(client)
    assert not CaptchaStore.objects.filter(hashkey=fields["captcha_0"]).exists()


def test_missing_captcha_is_refused(client, agent):
    response = client.post(
        "/login/",
        {"unit": agent.employer.ss_number, "id_number": agent.id_number, "password": PASSWORD},
    )

    assert response.context["form"].errors["captcha"] == ["请填写图片验证码。"]
    assert not logged_in(client)


def test_expired_captcha_is_refused(client, agent):
    fields = form_with_captcha(client, "/login/")
    CaptchaStore.objects.filter(hashkey=fields["captcha_0"]).update(
        expiration=timezone.now() - timezone.timedelta(seconds=1)
    )

    response = login(
        client, unit=agent.employer.ss_number, id_number=agent.id_number, captcha=fields
    )

    assert "captcha" in response.context["form"].errors and not logged_in(client)


def test_expired_captchas_are_swept_by_beat_not_by_each_login(client, agent):
    stale = form_with_captcha(Client(), "/login/")["captcha_0"]
    CaptchaStore.objects.filter(hashkey=stale).update(
        expiration=timezone.now() - timezone.timedelta(seconds=1)
    )
    fields = form_with_captcha(client, "/login/")
    login(client, unit=agent.employer.ss_number, id_number=agent.id_number, captcha=fields)
    assert logged_in(client)
    assert CaptchaStore.objects.filter(hashkey=stale).exists()  # the login left it alone

    assert captcha_clean() == 1
    assert not CaptchaStore.objects.filter(hashkey=stale).exists()
    assert "employers.tasks.captcha_clean" in {
        entry["task"] for entry in celery_app.conf.beat_schedule.values()
    }


def test_refresh_gives_a_new_captcha_without_reloading_the_page(client):
    old = form_with_captcha(client, "/login/")["captcha_0"]

    response = client.get("/captcha/refresh/", headers={"x-requested-with": "XMLHttpRequest"})

    data = response.json()
    assert data["key"] != old and CaptchaStore.objects.filter(hashkey=data["key"]).exists()
    image = client.get(data["image_url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"


def test_captcha_is_four_unambiguous_characters(client):
    fields = form_with_captcha(client, "/login/")
    store = CaptchaStore.objects.get(hashkey=fields["captcha_0"])

    assert len(store.challenge) == 4
    assert not set(store.challenge) & set("0O1I2Z8BSGQ")


INJECTIONS = [
    "' OR '1'='1' --",
    "'; DROP TABLE employers_agent; --",
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
]


@pytest.mark.parametrize("payload", INJECTIONS)
@pytest.mark.parametrize("field", ["unit", "id_number", "password"])
def test_sql_and_html_in_fields_are_refused_and_shown_escaped(client, agent, payload, field):
    data = {"unit": agent.employer.ss_number, "id_number": agent.id_number, "password": PASSWORD}
    data[field] = payload

    response = login(client, **data)

    content = response.content.decode()
    assert response.status_code == 200 and not logged_in(client)
    assert "<script>alert" not in content and "<img src=x" not in content
    assert agent.user.__class__.objects.filter(pk=agent.user.pk).exists()


@pytest.mark.parametrize("field", ["unit", "id_number", "password", "captcha_1"])
def test_ten_thousand_character_inputs_get_a_message_not_an_error(client, agent, field):
    data = {"unit": agent.employer.ss_number, "id_number": agent.id_number, "password": PASSWORD}
    data.update(form_with_captcha(client, "/login/"))
    data[field] = "9" * 10_000

    response = client.post("/login/", data)

    assert response.status_code == 200 and not logged_in(client)
    name = "captcha" if field == "captcha_1" else field
    assert response.context["form"].errors[name]


def test_post_without_csrf_token_is_refused(agent):
    client = Client(enforce_csrf_checks=True)
    fields = form_with_captcha(client, "/login/")

    response = client.post(
        "/login/",
        {"unit": agent.employer.ss_number, "id_number": agent.id_number, "password": PASSWORD}
        | fields,
    )

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_login_with_csrf_token_works_under_csrf_checks(agent):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = page.cookies["csrftoken"].value
    data = {"unit": agent.employer.ss_number, "id_number": agent.id_number, "password": PASSWORD}
    data |= captcha_answer(page.content.decode())

    response = client.post("/login/", data | {"csrfmiddlewaretoken": token})

    assert response.status_code == 302


def test_logout_ends_the_session_and_its_cookie_is_refused_afterwards(client, agent):
    login(client, unit=agent.employer.ss_number, id_number=agent.id_number)
    old_cookie = client.cookies["sessionid"].value
    assert client.get("/dashboard/").status_code == 200

    response = client.post("/logout/")

    assert response.status_code == 302 and response["Location"] == "/"
    replay = Client()
    replay.cookies["sessionid"] = old_cookie
    response = replay.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_logout_needs_a_post(client, agent):
    login(client, unit=agent.employer.ss_number, id_number=agent.id_number)

    assert client.get("/logout/").status_code == 405
    assert logged_in(client)


def age_session(client, *, started_ago: int, seen_ago: int) -> None:
    session = client.session
    now = int(time.time())
    session[SESSION_STARTED] = now - started_ago
    session[SESSION_LAST_SEEN] = now - seen_ago
    session.save()


def test_session_ends_after_30_minutes_idle(client, agent):
    login(client, unit=agent.employer.ss_number, id_number=agent.id_number)
    age_session(client, started_ago=31 * 60, seen_ago=31 * 60)

    response = client.get("/dashboard/", follow=True)

    assert response.redirect_chain[0][0] == "/login/?next=/dashboard/"
    assert any("超过30分钟未操作" in m for m in messages_of(response))
    assert not logged_in(client)


def test_session_ends_12_hours_after_login_even_when_busy(client, agent):
    login(client, unit=agent.employer.ss_number, id_number=agent.id_number)
    age_session(client, started_ago=12 * 3600 + 1, seen_ago=10)

    response = client.get("/dashboard/")

    assert response.status_code == 302 and not logged_in(client)


def test_session_within_its_limits_carries_on(client, agent):
    login(client, unit=agent.employer.ss_number, id_number=agent.id_number)
    age_session(client, started_ago=11 * 3600, seen_ago=29 * 60)

    assert client.get("/dashboard/").status_code == 200
    assert int(time.time()) - client.session[SESSION_LAST_SEEN] < 5


def test_next_is_followed_only_within_the_site(client, agent):
    response = login(
        client, unit=agent.employer.ss_number, id_number=agent.id_number, next="/unit/agents/"
    )
    assert response["Location"] == "/unit/agents/"

    client.post("/logout/")
    response = login(
        client,
        unit=agent.employer.ss_number,
        id_number=agent.id_number,
        next="https://evil.example/",
    )
    assert response["Location"] == "/dashboard/"


def test_approved_unit_is_activated_by_its_first_login(client):
    agent = make_agent(status=Employer.Status.APPROVED)

    response = login(client, unit=agent.employer.ss_number, id_number=agent.id_number)

    assert response["Location"] == "/dashboard/"
    agent.employer.refresh_from_db()
    assert agent.employer.status == Employer.Status.ACTIVE
    event = AuditEvent.objects.get(action="employer.activated")
    assert event.employer_id == agent.employer_id and event.actor == agent.user


@pytest.mark.parametrize(
    "status",
    [Employer.Status.UNVERIFIED, Employer.Status.PENDING, Employer.Status.REJECTED],
)
def test_unit_under_review_sees_only_its_status_page(client, status):
    agent = make_agent(status=status)
    application = make_application(agent.employer)
    other = make_application(create_employer(status=Employer.Status.PENDING))
    status_url = f"/registration/{application.reference}/"

    response = login(client, unit=agent.employer.ss_number, id_number=agent.id_number)

    assert response["Location"] == status_url
    assert client.get(status_url).status_code == 200
    for path in ["/dashboard/", "/", "/unit/agents/", "/password/change/"]:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == status_url, path
    assert client.get(f"/registration/{other.reference}/").status_code == 302
    assert client.post("/logout/").status_code == 302
    assert not logged_in(client)


def test_status_page_of_another_unit_is_404_for_an_agent(client, agent):
    other = make_application(create_employer(status=Employer.Status.PENDING))
    login(client, unit=agent.employer.ss_number, id_number=agent.id_number)

    assert client.get(f"/registration/{other.reference}/").status_code == 404


def test_unit_under_review_without_online_application_sees_its_state(client):
    agent = make_agent(status=Employer.Status.PENDING)

    response = login(client, unit=agent.employer.ss_number, id_number=agent.id_number)

    assert response["Location"] == "/login/pending/"
    assert "审核中" in client.get("/login/pending/").content.decode()


def test_disabled_agent_is_told_so_only_after_the_right_password(client, agent):
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    unit = agent.employer.ss_number

    wrong = login(client, unit=unit, id_number=agent.id_number, password="Wrong2026pw")
    right = login(client, unit=unit, id_number=agent.id_number)

    assert BAD_CREDENTIALS in wrong.content.decode()
    assert "经办人账号已停用" in right.content.decode() and not logged_in(client)
    assert AuditEvent.objects.filter(details__reason="agent_disabled").count() == 1


def test_disabled_unit_is_told_so_only_after_the_right_password(client):
    agent = make_agent(status=Employer.Status.DISABLED)
    unit = agent.employer.ss_number

    wrong = login(client, unit=unit, id_number=agent.id_number, password="Wrong2026pw")
    right = login(client, unit=unit, id_number=agent.id_number)

    assert BAD_CREDENTIALS in wrong.content.decode()
    assert "本单位的网上服务账号已停用" in right.content.decode() and not logged_in(client)


def test_agent_disabled_during_a_session_is_logged_out(client, agent):
    login(client, unit=agent.employer.ss_number, id_number=agent.id_number)
    agent.is_active = False
    agent.save(update_fields=["is_active"])

    response = client.get("/password/change/")

    assert response.status_code == 302 and not logged_in(client)


def test_password_change_keeps_this_session_and_ends_the_others(
    client, agent, sms_outbox, django_capture_on_commit_callbacks
):
    other = Client()
    login(other, unit=agent.employer.ss_number, id_number=agent.id_number)
    login(client, unit=agent.employer.ss_number, id_number=agent.id_number)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/password/change/",
            {
                "old_password": PASSWORD,
                "new_password": "Fresh2027pass",
                "new_password2": "Fresh2027pass",
            },
        )

    assert response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    assert other.get("/dashboard/").status_code == 302
    agent.user.refresh_from_db()
    assert agent.user.check_password("Fresh2027pass")
    assert AuditEvent.objects.filter(action="agent.password_changed").count() == 1
    assert sms_outbox[-1].phone == agent.phone and "密码已于" in sms_outbox[-1].text


@pytest.mark.parametrize(
    ("old", "new", "new2", "field"),
    [
        ("Wrong2026pw", "Fresh2027pass", "Fresh2027pass", "old_password"),
        (PASSWORD, "short1", "short1", "new_password"),
        (PASSWORD, "Fresh2027pass", "Other2027pass", "new_password2"),
        (PASSWORD, PASSWORD, PASSWORD, "new_password"),
    ],
)
def test_password_change_refusals_are_shown_beside_their_field(
    client, agent, old, new, new2, field
):
    login(client, unit=agent.employer.ss_number, id_number=agent.id_number)

    response = client.post(
        "/password/change/", {"old_password": old, "new_password": new, "new_password2": new2}
    )

    assert response.status_code == 200 and response.context["form"].errors[field]
    agent.user.refresh_from_db()
    assert agent.user.check_password(PASSWORD)


def test_password_change_needs_a_logged_in_agent(client):
    response = client.get("/password/change/")

    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_header_links_to_the_login_page_and_shows_logout_after_login(client, agent):
    home = client.get("/").content.decode()
    assert 'href="/login/"' in home and "#login" not in home

    login(client, unit=agent.employer.ss_number, id_number=agent.id_number)
    content = client.get("/dashboard/").content.decode()
    assert 'action="/logout/"' in content and 'href="/password/change/"' in content


def test_the_audit_log_holds_no_personal_data(client, agent):
    login(client, unit=agent.employer.ss_number, id_number=agent.id_number, password="Bad2026pw1")
    login(client, unit=agent.employer.ss_number, id_number=agent.id_number)

    for event in AuditEvent.objects.all():
        text = f"{event.actor_label} {event.object_id} {event.details}"
        assert agent.id_number not in text and agent.phone not in text


def test_axes_gets_the_same_key_from_the_form_and_after_success(rf, agent):
    request = rf.post("/login/")
    from_form = axes_username(
        request, {"unit": agent.employer.uscc, "id_number": agent.id_number, "password": "x"}
    )
    after_success = axes_username(request, {"username": f" {agent.user.username.upper()} "})

    assert from_form == after_success == agent.user.username
    # Identifiers that name no agent are counted under a keyed hash, never the number itself.
    unknown = axes_username(request, {"unit": "", "id_number": "110105194912310026"})
    assert unknown.startswith("unknown-") and "110105194912310026" not in unknown
    assert unknown == axes_username(request, {"unit": " ", "id_number": "110105194912310026"})


def test_the_captcha_app_leaves_djangos_own_messages_alone():
    from django import forms
    from django.core.exceptions import ValidationError
    from django.utils import translation

    with translation.override("zh-hans"), pytest.raises(ValidationError) as caught:
        forms.CharField().clean("")

    assert caught.value.messages == ["这个字段是必填项。"]


def test_rejected_unit_agent_may_open_its_resubmit_page(client):
    from portal.models import ReviewState

    agent = make_agent(status=Employer.Status.REJECTED)
    application = make_application(agent.employer)
    application.review_state = ReviewState.REJECTED
    application.save(update_fields=["review_state"])
    login(client, unit=agent.employer.ss_number, id_number=agent.id_number)

    response = client.get(f"/registration/{application.reference}/resubmit/")

    assert response.status_code == 200


def test_the_captcha_answer_is_echoed_on_the_console_only_in_development(settings, capsys):
    from employers.accounts.forms import captcha_challenge

    settings.DEBUG, settings.CAPTCHA_ECHO = True, True
    text, _answer = captcha_challenge()
    assert f"[图片验证码] {text}" in capsys.readouterr().out
    settings.DEBUG = False  # CAPTCHA_ECHO alone does nothing (production refuses it anyway)
    captcha_challenge()
    assert "图片验证码" not in capsys.readouterr().out
