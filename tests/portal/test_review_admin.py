"""The clerk's review screens in the admin."""

import pytest
from django.urls import reverse

from employers.models import RegistrationApplication
from portal.models import ReviewState
from tests.conftest import otp_verify
from tests.factories import RegionFactory, create_clerk, create_submitted_application

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:employers_registrationapplication_changelist"


@pytest.fixture
def queued(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return [create_submitted_application() for _ in range(3)]


@pytest.fixture
def clerk_client(client):
    return otp_verify(client, create_clerk())


def test_admin_asks_for_a_second_factor(client):
    clerk = create_clerk()
    client.force_login(clerk)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    login = client.get("/admin/login/")
    assert "otp_token" in login.content.decode()


def test_queue_lists_open_items_by_due_time(clerk_client, queued):
    body = clerk_client.get(reverse(CHANGELIST)).content.decode()
    for application in queued:
        assert application.reference in body
    assert "待审核" in body and "审核时限" in body and "已等待" in body


def test_queue_search_by_uscc_and_filters(clerk_client, queued):
    target = queued[1]
    body = clerk_client.get(reverse(CHANGELIST), {"q": target.employer.uscc}).content.decode()
    assert target.reference in body and queued[0].reference not in body
    assert clerk_client.get(reverse(CHANGELIST), {"due": "overdue"}).status_code == 200
    assert (
        clerk_client.get(reverse(CHANGELIST), {"due": "today", "queue": "all"}).status_code == 200
    )


def test_queue_list_query_count_does_not_grow_with_items(
    clerk_client, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        create_submitted_application()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    clerk_client.get(reverse(CHANGELIST))  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as few:
        clerk_client.get(reverse(CHANGELIST))
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(20):
            create_submitted_application()
    with CaptureQueriesContext(connection) as many:
        response = clerk_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_detail_shows_evidence_prechecks_and_history(clerk_client, queued):
    url = reverse("admin:employers_registrationapplication_change", args=[queued[0].pk])
    body = clerk_client.get(url).content.decode()
    assert "预审结果" in body and "与开户登记簿一致" in body
    assert "审核记录" in body and "转人工审核" in body
    assert "打款流水号" in body
    assert queued[0].employer.legal_rep_id_number not in body  # masked


def test_approve_from_the_detail_page(
    clerk_client, queued, sms_outbox, django_capture_on_commit_callbacks
):
    url = reverse("admin:employers_registrationapplication_decide", args=[queued[0].pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk_client.post(url, {"approve": "1"})
    assert response.status_code == 302
    queued[0].refresh_from_db()
    assert queued[0].review_state == ReviewState.APPROVED
    assert "审核通过" in sms_outbox[-1].text


def test_reject_without_comment_is_refused_with_a_message(clerk_client, queued):
    url = reverse("admin:employers_registrationapplication_decide", args=[queued[0].pk])
    response = clerk_client.post(url, {"reject": "1", "comment": ""}, follow=True)
    assert "必须填写审核意见" in response.content.decode()
    queued[0].refresh_from_db()
    assert queued[0].review_state == ReviewState.PENDING


def test_bulk_approve_and_bulk_reject_with_comment(clerk_client, queued):
    pks = [str(a.pk) for a in queued]
    response = clerk_client.post(
        reverse(CHANGELIST), {"action": "approve_selected", "_selected_action": pks[:2]}
    )
    assert response.status_code == 302
    ask = clerk_client.post(
        reverse(CHANGELIST), {"action": "reject_selected", "_selected_action": pks[2:]}
    )
    assert "填写审核意见" in ask.content.decode()
    clerk_client.post(
        reverse(CHANGELIST),
        {"action": "reject_selected", "_selected_action": pks[2:], "comment": "营业执照已注销"},
    )
    states = dict(RegistrationApplication.objects.values_list("pk", "review_state"))
    assert [states[a.pk] for a in queued] == [
        ReviewState.APPROVED,
        ReviewState.APPROVED,
        ReviewState.REJECTED,
    ]


def test_clerk_limited_to_a_region_sees_only_that_region(client, queued):
    other = RegionFactory(code="310000", name="上海市(测试)")
    otp_verify(client, create_clerk("sh", regions=[other]))
    body = client.get(reverse(CHANGELIST)).content.decode()
    assert queued[0].reference not in body
    url = reverse("admin:employers_registrationapplication_decide", args=[queued[0].pk])
    assert client.post(url, {"approve": "1"}).status_code == 404


def test_staff_without_clerk_permissions_cannot_open_the_queue(client, django_user_model):
    staff = django_user_model.objects.create_user("helpdesk", password="x", is_staff=True)
    otp_verify(client, staff)
    assert client.get(reverse(CHANGELIST)).status_code == 403


def test_outbox_admin_masks_recipients_and_hides_bodies(
    admin_client, sms_outbox, django_capture_on_commit_callbacks
):
    from portal.smscodes import sms_code_send

    with django_capture_on_commit_callbacks(execute=True):
        sms_code_send(purpose="registration", phone="13900003333")
    body = admin_client.get("/admin/portal/notification/").content.decode()
    assert "139****3333" in body and "13900003333" not in body
    from portal.models import Notification

    code = sms_outbox[-1].text.split("验证码")[1][:7].strip()
    detail = admin_client.get(f"/admin/portal/notification/{Notification.objects.get().pk}/change/")
    assert detail.status_code == 200 and code not in detail.content.decode()


def test_dev_outbox_page_only_in_debug(
    client, settings, sms_outbox, django_capture_on_commit_callbacks
):
    from portal.smscodes import sms_code_send

    with django_capture_on_commit_callbacks(execute=True):
        sms_code_send(purpose="registration", phone="13900004444")
    settings.DEBUG = False
    assert client.get("/dev/outbox/").status_code == 404
    settings.DEBUG = True
    page = client.get("/dev/outbox/").content.decode()
    assert "验证码" in page


def test_clerk_otp_command_enrols_a_device_and_shows_tokens_only_in_debug(settings, capsys):
    from django.core.management import CommandError, call_command

    create_clerk("otpclerk")
    call_command("clerk_otp", "otpclerk")
    assert "otpauth://totp/" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("clerk_otp", "otpclerk")  # already enrolled
    settings.DEBUG = True
    call_command("clerk_otp", "otpclerk", "--token")
    assert capsys.readouterr().out.strip().isdigit()
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("clerk_otp", "otpclerk", "--token")


def test_admin_login_with_password_and_totp(client):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    clerk = create_clerk("totpclerk")
    device = TOTPDevice.objects.create(user=clerk, name="t", confirmed=True)
    wrong = client.post(
        "/admin/login/",
        {
            "username": "totpclerk",
            "password": "Clerk2026pass",
            "otp_device": device.persistent_id,
            "otp_token": "000000",
        },
    )
    assert wrong.status_code == 200
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # django-otp slows down guessing
    device.throttle_reset()
    token = f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"
    response = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": "totpclerk",
            "password": "Clerk2026pass",
            "otp_device": device.persistent_id,
            "otp_token": token,
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    assert client.get(reverse(CHANGELIST)).status_code == 200


def test_queue_search_by_reference_ss_number_and_part_of_the_name(clerk_client, queued):
    target = queued[2]
    for term in (target.reference, target.employer.ss_number, target.employer.name[2:6]):
        body = clerk_client.get(reverse(CHANGELIST), {"q": term}).content.decode()
        assert target.reference in body, term


def test_clerk_group_may_maintain_the_contribution_policy(client):
    otp_verify(client, create_clerk("policy-clerk"))
    assert client.get("/admin/contributions/policyperiod/").status_code == 200
    assert client.get("/admin/contributions/policyperiod/add/").status_code == 200
