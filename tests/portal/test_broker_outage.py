"""What could not be queued while the broker was down goes out within a minute of its return."""

import datetime

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from employers.models import RegistrationApplication
from portal.models import Notification, ReviewState
from portal.notifications import notification_create, notifications_resend_due
from portal.review import review_requeue_prechecks
from portal.tasks import notification_deliver_task, review_precheck_task
from tests.factories import create_submitted_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    """Sending any of these tasks fails as it does while Redis is unreachable."""

    def refuse(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    for task in (review_precheck_task, notification_deliver_task):
        monkeypatch.setattr(task, "delay", refuse)
    return monkeypatch


def test_a_submission_during_the_outage_is_prechecked_by_the_next_beat(
    broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        application = create_submitted_application()
    application.refresh_from_db()
    assert application.review_state == ReviewState.SUBMITTED and application.precheck_unqueued

    broker_down.undo()  # the broker is back: the beat's next run (30 s) sends it
    assert review_requeue_prechecks() == 1
    application.refresh_from_db()
    assert application.review_state == ReviewState.PENDING
    assert not application.precheck_unqueued
    assert review_requeue_prechecks() == 0  # sent once


def test_pre_checks_queued_normally_are_not_sent_again(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        create_submitted_application()  # on commit never ran: queued as far as anyone knows
    assert review_requeue_prechecks() == 0
    assert not RegistrationApplication.objects.filter(precheck_unqueued=True).exists()


def test_a_message_written_during_the_outage_goes_out_at_the_next_beat(
    broker_down, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notification = notification_create(
            channel=Notification.Channel.SMS,
            recipient="13900001111",
            template="registration_approved",
            context={"unit": "测试单位", "reference": "ZC1"},
        )
    notification.refresh_from_db()
    assert notification.status == Notification.Status.CREATED and sms_outbox == []

    broker_down.undo()
    # Seconds after it was written, not the ten minutes after which any waiting row is resent.
    assert notifications_resend_due(now=timezone.now() + datetime.timedelta(seconds=1)) == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.DELIVERED and len(sms_outbox) == 1
