"""The operators' tools: the beat jobs as commands, the outbox admin, the stuck-imports admin."""

import datetime

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from employers.models import RegistrationApplication
from enrollment.models import AddEmployeeFiling, BatchImport
from portal.models import AuditEvent, Notification, User
from tests.conftest import otp_verify
from tests.enrollment.batch.test_batch import agent  # noqa: F401
from tests.enrollment.batch.test_stuck_imports import queued
from tests.factories import create_clerk, create_submitted_application

pytestmark = pytest.mark.django_db

Status = Notification.Status
OUTBOX = "admin:portal_notification_changelist"
IMPORTS = "admin:enrollment_batchimport_changelist"


def ago(**delta):
    return timezone.now() - datetime.timedelta(**delta)


def row(template="test", **fields):
    """An outbox row written as notification_create writes it, then left in some state."""
    fields.setdefault("created_at", ago(minutes=10))
    return Notification.objects.create(
        channel=Notification.Channel.SMS,
        recipient="13912345678",
        template=template,
        body="您的验证码为 123456",
        **fields,
    )


def lease_expired():
    return ago(seconds=settings.NOTIFICATIONS["sending_lease_seconds"] + 5)


def test_resend_notifications_sends_a_row_stuck_in_sending_once_under_its_key(sms_outbox, capsys):
    stuck = row(status=Status.SENDING, claimed_at=lease_expired(), attempts=1)
    key = stuck.idempotency_key

    call_command("resend_notifications")
    assert "重新发送 1 条到期未发出的通知(已在本进程内发送)" in capsys.readouterr().out
    call_command("resend_notifications")
    assert "重新发送 0 条" in capsys.readouterr().out

    stuck.refresh_from_db()
    assert stuck.status == Status.DELIVERED and stuck.idempotency_key == key
    assert [message.idempotency_key for message in sms_outbox] == [str(key)]
    assert Notification.objects.count() == 1


def test_resend_notifications_leaves_a_send_within_its_lease(sms_outbox, capsys):
    row(status=Status.SENDING, claimed_at=ago(seconds=5), attempts=1)
    call_command("resend_notifications")
    out = capsys.readouterr().out
    assert "重新发送 0 条" in out and "仍未发出 1 条" in out
    assert sms_outbox == []


def test_watch_deadlines_reminds_then_marks_overdue(
    django_capture_on_commit_callbacks, mailoutbox, capsys
):
    clerk = create_clerk()
    with django_capture_on_commit_callbacks(execute=True):
        application = create_submitted_application()
    items = RegistrationApplication.objects.filter(pk=application.pk)

    items.update(due_at=timezone.now() + datetime.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("watch_deadlines")
        call_command("watch_deadlines")
    out = capsys.readouterr().out
    assert "发出截止前提醒 1 件" in out and "发出截止前提醒 0 件" in out
    assert [mail.to for mail in mailoutbox] == [[clerk.email]]

    items.update(due_at=ago(minutes=1))
    call_command("watch_deadlines")
    assert "标为逾期 1 件" in capsys.readouterr().out
    assert items.get().is_overdue


@pytest.fixture
def stuck_rows():
    return {
        "sending_expired": row(
            "sending_expired", status=Status.SENDING, claimed_at=lease_expired(), attempts=1
        ),
        "never_queued": row("never_queued", status=Status.CREATED),
        "marked_unqueued": row(
            "marked_unqueued",
            status=Status.CREATED,
            created_at=ago(seconds=5),
            next_attempt_at=ago(seconds=1),
        ),
        "retry_due": row(
            "retry_due",
            status=Status.TEMPORARY_FAILURE,
            next_attempt_at=ago(seconds=1),
            attempts=2,
            last_error="HTTP 503",
        ),
        "technical_failure": row(
            "technical_failure",
            status=Status.TECHNICAL_FAILURE,
            attempts=12,
            last_error="TimeoutError",
        ),
        # Not stuck: just written, being sent, waiting for its retry, delivered.
        "fresh": row("fresh", status=Status.CREATED, created_at=ago(seconds=5)),
        "sending": row("sending", status=Status.SENDING, claimed_at=ago(seconds=5), attempts=1),
        "waiting": row(
            "waiting",
            status=Status.TEMPORARY_FAILURE,
            next_attempt_at=timezone.now() + datetime.timedelta(minutes=5),
            attempts=1,
        ),
        "delivered": row("delivered", status=Status.DELIVERED, attempts=1),
    }


@pytest.mark.parametrize(
    ("stuck", "expected"),
    [
        ("sending_expired", {"sending_expired"}),
        ("never_queued", {"never_queued", "marked_unqueued"}),
        ("retry_due", {"retry_due"}),
        ("technical_failure", {"technical_failure"}),
    ],
)
def test_the_outbox_filters_return_the_stuck_rows(admin_client, stuck_rows, stuck, expected):
    response = admin_client.get(reverse(OUTBOX), {"stuck": stuck})

    assert response.status_code == 200
    assert {n.template for n in response.context["cl"].result_list} == expected


def test_the_outbox_shows_errors_and_next_attempts_but_no_body_or_phone(admin_client, stuck_rows):
    body = admin_client.get(reverse(OUTBOX)).content.decode()

    assert "TimeoutError" in body and "下次尝试时间" in body and "最近错误" in body
    assert "123456" not in body and "13912345678" not in body and "139****5678" in body
    detail = admin_client.get(
        reverse("admin:portal_notification_change", args=[stuck_rows["retry_due"].pk])
    ).content.decode()
    assert "123456" not in detail and str(stuck_rows["retry_due"].idempotency_key) in detail


def test_the_resend_action_keeps_each_row_and_key_and_skips_delivered_and_live_sends(
    admin_client, stuck_rows, sms_outbox, django_capture_on_commit_callbacks
):
    chosen = [stuck_rows[name] for name in ("technical_failure", "sending", "delivered")]
    keys = {n.pk: n.idempotency_key for n in Notification.objects.all()}

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse(OUTBOX),
            {"action": "resend", "_selected_action": [n.pk for n in chosen]},
            follow=True,
        )

    assert "已重新排队 1 条通知;跳过 2 条" in response.content.decode()
    failed = Notification.objects.get(pk=stuck_rows["technical_failure"].pk)
    assert failed.status == Status.DELIVERED and failed.attempts == 1
    assert [m.idempotency_key for m in sms_outbox] == [str(keys[failed.pk])]
    assert {n.pk: n.idempotency_key for n in Notification.objects.all()} == keys
    assert Notification.objects.get(pk=stuck_rows["sending"].pk).status == Status.SENDING
    event = AuditEvent.objects.get(action="notification.resent")
    assert event.details == {"notification_ids": [failed.pk], "skipped": 2}


def test_staff_who_may_only_view_the_outbox_get_no_resend_action(client, stuck_rows):
    viewer = User.objects.create_user("viewer", password="Viewer2026pass", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_notification"))

    response = otp_verify(client, viewer).get(reverse(OUTBOX))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == len(stuck_rows)
    assert 'value="resend"' not in response.content.decode()


def test_the_imports_admin_filters_stuck_imports_and_requeues_them_once(
    admin_client,
    agent,  # noqa: F811
):
    stuck, live = queued(agent), queued(agent)
    BatchImport.objects.filter(pk=stuck.pk).update(
        status=BatchImport.Status.RUNNING, heartbeat_at=ago(hours=1)
    )
    BatchImport.objects.filter(pk=live.pk).update(
        status=BatchImport.Status.RUNNING, heartbeat_at=timezone.now()
    )

    listed = admin_client.get(reverse(IMPORTS), {"stuck": "yes"})
    assert [b.pk for b in listed.context["cl"].result_list] == [stuck.pk]

    response = admin_client.post(
        reverse(IMPORTS),
        {"action": "requeue", "_selected_action": [stuck.pk, live.pk]},
        follow=True,
    )

    assert "已重新排队 1 个批次" in response.content.decode()
    stuck.refresh_from_db()
    assert stuck.status == BatchImport.Status.DONE and stuck.created_count == 2
    assert BatchImport.objects.get(pk=live.pk).status == BatchImport.Status.RUNNING
    assert AddEmployeeFiling.objects.filter(employer=agent.employer).count() == 2
    assert AuditEvent.objects.filter(action="enrollment.batch_requeued").exists()
