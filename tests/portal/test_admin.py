import pytest
from django.urls import reverse

from portal.audit import audit_log
from portal.models import AuditEvent, Region, User, WorkdayCalendarYear, WorkdayOverride

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(admin_user):
    return audit_log(action="workdays.loaded", actor=admin_user, details={"year": 2027, "days": 3})


@pytest.mark.parametrize(
    ("model", "title"),
    [
        (User, "用户"),
        (Region, "统筹区"),
        (WorkdayOverride, "工作日历调整"),
        (WorkdayCalendarYear, "已导入日历年度"),
        (AuditEvent, "审计日志"),
    ],
)
def test_superuser_opens_changelist(admin_client, event, model, title):
    Region.objects.create(code="440300", name="深圳市")
    WorkdayOverride.objects.create(date="2027-01-01", is_working_day=False, name="元旦")
    WorkdayCalendarYear.objects.create(year=2027, source="2027.csv")
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    response = admin_client.get(url)

    assert response.status_code == 200
    assert title in response.content.decode()


def test_audit_changelist_shows_events(admin_client, event):
    response = admin_client.get(reverse("admin:portal_auditevent_changelist"))

    content = response.content.decode()
    assert "workdays.loaded" in content
    assert "admin" in content


def test_audit_event_is_shown_read_only_with_details(admin_client, event):
    response = admin_client.get(reverse("admin:portal_auditevent_change", args=[event.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert '<th scope="row">天数</th><td>3</td>' in content
    assert 'name="_save"' not in content


def test_audit_event_cannot_be_added(admin_client):
    response = admin_client.get(reverse("admin:portal_auditevent_add"))

    assert response.status_code == 403


def test_audit_event_cannot_be_changed_or_deleted(admin_client, event):
    change = admin_client.post(
        reverse("admin:portal_auditevent_change", args=[event.pk]), {"action": "changed"}
    )
    delete = admin_client.post(
        reverse("admin:portal_auditevent_delete", args=[event.pk]), {"post": "yes"}
    )

    assert change.status_code == 403
    assert delete.status_code == 403
    event.refresh_from_db()
    assert event.action == "workdays.loaded"


def test_calendar_is_not_edited_in_admin(admin_client):
    response = admin_client.get(reverse("admin:portal_workdayoverride_add"))

    assert response.status_code == 403


def test_an_audit_events_details_are_labelled_rows_not_json(admin_client):
    from portal.audit import audit_log

    audit_log(
        action="enrollment.add_submitted",
        details={"reference": "ZY20261204ABCD", "flags": ["late"], "full": False},
    )
    from portal.models import AuditEvent

    event = AuditEvent.objects.latest("pk")
    page = admin_client.get(f"/admin/portal/auditevent/{event.pk}/change/").content.decode()
    assert "业务编号" in page and "ZY20261204ABCD" in page and "完整导出" in page and "否" in page
    assert (
        '"reference"' not in page and "{" not in page.split('id="content"')[1].split("</table>")[0]
    )
