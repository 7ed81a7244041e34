import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from portal.audit import audit_log
from portal.models import AuditEvent, Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(django_user_model):
    return django_user_model.objects.create_user(username="clerk01", password="x", is_staff=True)


@pytest.fixture
def request_from(rf):
    def build(user):
        request = rf.post("/admin/", REMOTE_ADDR="203.0.113.7")
        request.user = user
        return request

    return build


@pytest.fixture
def event(clerk):
    return audit_log(action="test.event", actor=clerk, details={"note": "before"})


def test_row_records_actor_unit_object_and_address(clerk, request_from):
    region = Region.objects.create(code="440300", name="深圳市")

    event = audit_log(
        action="region.changed",
        employer_id=42,
        obj=region,
        request=request_from(clerk),
        details={"field": "name"},
    )

    event.refresh_from_db()
    assert event.actor == clerk
    assert event.actor_label == "clerk01"
    assert event.employer_id == 42
    assert event.object_type == "portal.Region"
    assert event.object_id == str(region.pk)
    assert event.ip_address == "203.0.113.7"
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert event.details == {"field": "name"}
    assert event.created_at is not None


def test_failure_from_anonymous_request_has_no_actor(request_from):
    event = audit_log(
        action="login.failed",
        outcome=AuditEvent.Outcome.FAILURE,
        request=request_from(AnonymousUser()),
    )

    assert event.actor is None
    assert event.actor_label == ""
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.ip_address == "203.0.113.7"


@pytest.mark.parametrize("key", ["id_number", "phone", "bank_account", "password", "sms_code"])
def test_personal_data_in_details_is_refused(clerk, key):
    with pytest.raises(ValueError, match=key):
        audit_log(action="test.event", actor=clerk, details={key: "x"})

    assert not AuditEvent.objects.exists()


def test_saved_event_cannot_be_changed(event):
    event.details = {"note": "after"}
    with pytest.raises(RuntimeError):
        event.save()

    event.refresh_from_db()
    assert event.details == {"note": "before"}


def test_event_cannot_be_deleted(event):
    with pytest.raises(RuntimeError):
        event.delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_queryset_cannot_update_or_delete_events(event):
    with pytest.raises(RuntimeError):
        AuditEvent.objects.filter(pk=event.pk).update(action="changed")
    with pytest.raises(RuntimeError):
        AuditEvent.objects.all().delete()
    # bulk_update() runs in atomic(savepoint=False): a savepoint keeps the test usable after it.
    event.action = "changed"
    with pytest.raises(RuntimeError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["action"])

    event.refresh_from_db()
    assert event.action == "test.event"


def test_deleting_a_user_keeps_their_events_and_label(clerk, event):
    clerk.delete()

    event.refresh_from_db()
    assert event.actor is None
    assert event.actor_label == "clerk01"
