"""The notification outbox and the SMS backends, with a stub HTTP gateway on 127.0.0.1."""

import datetime
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.models import Notification
from portal.notifications import notification_create, notification_deliver, notifications_resend_due
from portal.sms import HttpGatewayBackend, SmsMessage, SmsPermanentError, SmsTemporaryError

pytestmark = pytest.mark.django_db

SECRET = "stub-gateway-secret"


class StubGateway:
    """A provider that checks signatures, remembers idempotency keys and can be told to fail."""

    def __init__(self):
        self.delivered: dict[str, dict] = {}
        self.requests = 0
        self.plan: list[str] = []  # "500", "timeout", "400", or "ok"; empty means ok
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                gateway.requests += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = hmac.new(
                    SECRET.encode(),
                    self.headers["X-Timestamp"].encode() + b"\n" + body,
                    hashlib.sha256,
                ).hexdigest()
                if not hmac.compare_digest(expected, self.headers["X-Signature"]):
                    self.send_response(401)
                    self.end_headers()
                    return
                action = gateway.plan.pop(0) if gateway.plan else "ok"
                if action == "timeout":
                    time.sleep(1.5)
                if action in ("500", "timeout"):
                    self.send_response(500)
                    self.end_headers()
                    return
                if action == "400":
                    self.send_response(400)
                    self.end_headers()
                    return
                payload = json.loads(body)
                gateway.delivered.setdefault(payload["idempotency_key"], payload)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "accepted"}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings):
    stub = StubGateway()
    settings.SMS_BACKEND = "portal.sms.HttpGatewayBackend"
    settings.SMS_GATEWAYS = [{"name": "stub", "url": stub.url, "key_id": "k1", "secret": SECRET}]
    settings.SMS_GATEWAY_TIMEOUT = 1.0
    yield stub
    stub.close()


def make(**kwargs):
    defaults = {
        "channel": Notification.Channel.SMS,
        "recipient": "13900001111",
        "template": "registration_approved",
        "context": {"unit": "测试单位", "reference": "ZC1"},
    }
    defaults.update(kwargs)
    return notification_create(**defaults)


def test_outbox_row_exists_only_when_its_transaction_commits(
    sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                make()
                raise RuntimeError("the state change failed")
        except RuntimeError:
            pass
    assert Notification.objects.count() == 0
    assert sms_outbox == []


def test_message_is_sent_after_commit_and_stored_encrypted(
    sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notification = make()
    assert len(sms_outbox) == 1
    assert "测试单位" in sms_outbox[0].text
    notification.refresh_from_db()
    assert notification.status == Notification.Status.DELIVERED
    with transaction.atomic():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT recipient, body FROM portal_notification WHERE id = %s", [notification.pk]
            )
            raw_recipient, raw_body = cursor.fetchone()
    assert "13900001111" not in raw_recipient and "测试单位" not in raw_body


def test_delivering_twice_sends_once(sms_outbox):
    notification = make()
    assert notification_deliver(notification.pk) == Notification.Status.DELIVERED
    assert notification_deliver(notification.pk) == Notification.Status.DELIVERED
    assert len(sms_outbox) == 1
    assert sms_outbox[0].idempotency_key == str(notification.idempotency_key)


def test_expired_code_is_not_sent(sms_outbox):
    notification = make(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert notification_deliver(notification.pk) == Notification.Status.PERMANENT_FAILURE
    assert sms_outbox == []


def test_gateway_signs_requests_and_accepts(gateway):
    notification = make()
    assert notification_deliver(notification.pk) == Notification.Status.DELIVERED
    assert list(gateway.delivered) == [str(notification.idempotency_key)]
    notification.refresh_from_db()
    assert notification.provider == "stub"


def test_gateway_500s_and_timeouts_delay_the_message_and_never_double_it(gateway):
    gateway.plan = ["500", "timeout", "ok"]
    notification = make()
    assert notification_deliver(notification.pk) == Notification.Status.TEMPORARY_FAILURE
    notification.refresh_from_db()
    assert notification.next_attempt_at > timezone.now()
    # Not due yet: the resend task leaves it alone.
    assert notifications_resend_due(now=timezone.now()) == 0
    assert (
        notification_deliver(notification.pk) == Notification.Status.TEMPORARY_FAILURE
    )  # not claimed
    assert gateway.requests == 1
    later = timezone.now() + datetime.timedelta(hours=2)
    Notification.objects.filter(pk=notification.pk).update(next_attempt_at=timezone.now())
    assert notification_deliver(notification.pk) == Notification.Status.TEMPORARY_FAILURE  # timeout
    Notification.objects.filter(pk=notification.pk).update(next_attempt_at=timezone.now())
    assert notification_deliver(notification.pk) == Notification.Status.DELIVERED
    assert notification_deliver(notification.pk) == Notification.Status.DELIVERED
    assert len(gateway.delivered) == 1
    assert notifications_resend_due(now=later) == 0


def test_gateway_resend_after_a_lost_answer_is_deduplicated_by_key(gateway):
    notification = make()
    assert notification_deliver(notification.pk) == Notification.Status.DELIVERED
    # The worker died after the provider accepted but before the row was written: the stale
    # "sending" row is picked up again and sent with the same key.
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.SENDING,
        claimed_at=timezone.now() - datetime.timedelta(hours=1),
    )
    assert notifications_resend_due() == 1
    assert len(gateway.delivered) == 1
    assert gateway.requests == 2


def test_permanent_refusal_is_not_retried(gateway):
    gateway.plan = ["400"]
    notification = make()
    assert notification_deliver(notification.pk) == Notification.Status.PERMANENT_FAILURE
    assert notifications_resend_due(now=timezone.now() + datetime.timedelta(days=1)) == 0


def test_gateway_fails_over_to_the_next_provider(settings):
    primary, secondary = StubGateway(), StubGateway()
    try:
        primary.plan = ["500"]
        backend = HttpGatewayBackend(
            gateways=[
                {"name": "primary", "url": primary.url, "secret": SECRET},
                {"name": "secondary", "url": secondary.url, "secret": SECRET},
            ],
            timeout=1.0,
        )
        assert backend.send(SmsMessage("13900001111", "测试", "key-1")) == "secondary"
        assert list(secondary.delivered) == ["key-1"]
    finally:
        primary.close()
        secondary.close()


def test_gateway_unreachable_is_temporary_and_bad_signature_is_permanent():
    backend = HttpGatewayBackend(
        gateways=[{"name": "down", "url": "http://127.0.0.1:9/send", "secret": SECRET}], timeout=0.5
    )
    with pytest.raises(SmsTemporaryError):
        backend.send(SmsMessage("13900001111", "测试", "k"))
    stub = StubGateway()
    try:
        wrong = HttpGatewayBackend(gateways=[{"url": stub.url, "secret": "wrong"}], timeout=1.0)
        with pytest.raises(SmsPermanentError):
            wrong.send(SmsMessage("13900001111", "测试", "k"))
    finally:
        stub.close()


def test_unqueued_rows_are_resent_by_the_beat_task(sms_outbox):
    notification = make()  # on-commit never ran: as if the broker was down at the time
    assert sms_outbox == []
    assert notifications_resend_due(now=timezone.now()) == 0
    assert notifications_resend_due(now=timezone.now() + datetime.timedelta(minutes=11)) == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.DELIVERED
    assert len(sms_outbox) == 1


def test_verification_codes_go_through_the_outbox(sms_outbox, django_capture_on_commit_callbacks):
    from portal.smscodes import sms_code_send

    with django_capture_on_commit_callbacks(execute=True):
        sms_code_send(purpose="registration", phone="13900002222")
    row = Notification.objects.get(template="sms_code")
    assert row.expires_at is not None
    assert row.status == Notification.Status.DELIVERED
    assert "验证码" in sms_outbox[-1].text


def test_the_claimed_row_is_sent_without_being_read_again(sms_outbox, monkeypatch):
    """A database error after the claim cannot strand the row in "sending" (issue 14)."""
    notification = make()

    def no_second_read(*args, **kwargs):
        raise AssertionError("the claimed row was read again")

    monkeypatch.setattr(Notification.objects, "get", no_second_read)
    assert notification_deliver(notification.pk) == Notification.Status.DELIVERED
    assert len(sms_outbox) == 1


def test_the_deliver_task_waits_out_a_database_error(sms_outbox, monkeypatch):
    from django.db import OperationalError

    from portal import notifications
    from portal.tasks import notification_deliver_task

    notification = make()
    real = notifications.notification_deliver
    calls = []

    def flaky(pk):
        calls.append(pk)
        if len(calls) == 1:
            raise OperationalError("the database system is starting up")
        return real(pk)

    monkeypatch.setattr(notifications, "notification_deliver", flaky)
    # As a worker runs it: the retry is handled by Celery, not raised to the caller.
    conf = notification_deliver_task.app.conf
    saved, conf.task_eager_propagates = conf.task_eager_propagates, False
    try:
        notification_deliver_task.apply(args=(notification.pk,))
    finally:
        conf.task_eager_propagates = saved
    notification.refresh_from_db()
    assert len(calls) == 2 and notification.status == Notification.Status.DELIVERED
    assert len(sms_outbox) == 1


def test_a_code_whose_worker_died_is_sent_again_while_it_is_still_valid(sms_outbox):
    """The sending lease is far shorter than a code's life: no code expires waiting on it."""
    ttl = settings.RATE_LIMITS["sms_code_ttl_seconds"]
    lease = settings.NOTIFICATIONS["sending_lease_seconds"]
    assert lease * 3 <= ttl
    # Sent and claimed at `claimed`, then the worker was killed; the beat runs every minute, so
    # it sees the stale claim at most 60 s after the lease ran out: that is now.
    now = timezone.now()
    claimed = now - datetime.timedelta(seconds=lease + 59)
    notification = make(expires_at=claimed + datetime.timedelta(seconds=ttl))
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.SENDING, claimed_at=claimed, attempts=1
    )
    assert notifications_resend_due(now=now) == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.DELIVERED and len(sms_outbox) == 1


def test_retry_countdowns_stay_well_below_the_visibility_timeout():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert settings.NOTIFICATIONS["retry_max_seconds"] * 2 <= visibility
