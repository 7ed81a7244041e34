"""The clerk's queue (portal.admin_queue): filters, search, the home page and the report."""

import datetime
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from employers.models import Role
from enrollment.models import AddEmployeeFiling, RemovalReason
from enrollment.removal.services import remove_employee_filing_submit
from portal.models import ReviewState
from portal.review import review_decide
from portal.review_stats import review_queue_counts, review_report, review_types_for
from tests.conftest import otp_verify
from tests.enrollment.add_helpers import this_month, unit_with_agent
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import RegionFactory, create_agent, create_clerk, create_employer
from tests.portal.review_helpers import add_filings

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:enrollment_addemployeefiling_changelist"
HOME = "review_desk:home"
REPORT = "review_desk:report"


@pytest.fixture
def agent():
    return unit_with_agent()[1]


@pytest.fixture
def filings(agent):
    return add_filings(agent, 3)


@pytest.fixture
def clerk():
    return create_clerk()


@pytest.fixture
def clerk_client(client, clerk):
    return otp_verify(client, clerk)


def listed(response, filings) -> list[bool]:
    page = response.content.decode()
    return [filing.reference in page for filing in filings]


def local(day: str, hour: int = 10) -> datetime.datetime:
    date = datetime.date.fromisoformat(day)
    return datetime.datetime.combine(
        date, datetime.time(hour), tzinfo=timezone.get_current_timezone()
    )


def test_submitted_range_keeps_the_items_submitted_within_the_dates(clerk_client, filings):
    for filing, day in zip(filings, ["2026-03-01", "2026-03-02", "2026-03-03"], strict=True):
        AddEmployeeFiling.objects.filter(pk=filing.pk).update(submitted_at=local(day, 23))
    url = reverse(CHANGELIST)
    response = clerk_client.get(
        url, {"submitted_from": "2026-03-02", "submitted_to": "2026-03-02", "queue": "all"}
    )
    assert listed(response, filings) == [False, True, False]
    page = response.content.decode()
    # The filter's form keeps the list's other parameters.
    assert 'type="hidden" name="queue" value="all"' in page
    assert listed(clerk_client.get(url, {"submitted_from": "2026-03-02"}), filings) == [
        False,
        True,
        True,
    ]
    assert listed(clerk_client.get(url, {"submitted_to": "2026-03-01"}), filings) == [
        True,
        False,
        False,
    ]


def test_a_date_that_is_no_date_is_refused_with_the_admins_error_flag(clerk_client, filings):
    response = clerk_client.get(reverse(CHANGELIST), {"submitted_from": "2026-13-45"})
    assert response.status_code == 302 and "e=1" in response["Location"]


def test_due_filters_tell_today_from_overdue(clerk_client, filings):
    now = timezone.localtime()
    end_of_today = now.replace(hour=23, minute=59, second=59, microsecond=0)
    if end_of_today - now < datetime.timedelta(minutes=1):
        pytest.skip("too close to midnight to have an item due later today")
    dues = [now - datetime.timedelta(hours=1), end_of_today, now + datetime.timedelta(days=2)]
    for filing, due in zip(filings, dues, strict=True):
        AddEmployeeFiling.objects.filter(pk=filing.pk).update(due_at=due)
    url = reverse(CHANGELIST)
    assert listed(clerk_client.get(url, {"due": "overdue"}), filings) == [True, False, False]
    assert listed(clerk_client.get(url, {"due": "today"}), filings) == [False, True, False]
    assert listed(clerk_client.get(url, {"due": "week"}), filings) == [True, True, True]


def test_my_items_are_the_ones_i_decided(clerk_client, clerk, filings):
    review_decide(model=AddEmployeeFiling, pk=filings[0].pk, actor=clerk, decision="approve")
    other = create_clerk("zhao")
    review_decide(model=AddEmployeeFiling, pk=filings[1].pk, actor=other, decision="approve")
    url = reverse(CHANGELIST)
    assert listed(clerk_client.get(url, {"mine": "decided", "queue": "all"}), filings) == [
        True,
        False,
        False,
    ]
    # The filter's link shows every state: decided items are no longer in the open queue.
    assert "?mine=decided&amp;queue=all" in clerk_client.get(url).content.decode()


def test_search_looks_numbers_up_exactly_and_names_in_part(clerk_client, agent, filings):
    url = reverse(CHANGELIST)
    employer = agent.employer
    for term in (filings[1].reference, filings[1].reference.lower(), employer.ss_number):
        assert listed(clerk_client.get(url, {"q": term}), filings)[1]
    assert listed(clerk_client.get(url, {"q": employer.name[2:6]}), filings) == [True] * 3
    assert listed(clerk_client.get(url, {"q": "ZY20990101FFFFFFFF"}), filings) == [False] * 3


def test_removal_queue_finds_a_person_by_name_and_a_unit_by_its_number(clerk_client):
    agent = create_agent(create_employer(), roles=[Role.ENROLMENT])
    filing = remove_employee_filing_submit(
        agent=agent,
        idempotency_key=uuid.uuid4(),
        enrolment=create_enrolment(agent.employer, name="欧阳明"),
        reason=RemovalReason.RETIRED,
        voluntary=False,
        last_contribution_month=this_month(),
    )
    url = reverse("admin:enrollment_removeemployeefiling_changelist")
    for term in ("欧阳", agent.employer.ss_number, filing.reference):
        assert filing.reference in clerk_client.get(url, {"q": term}).content.decode()
    assert filing.reference not in clerk_client.get(url, {"q": "司马"}).content.decode()


def test_home_counts_waiting_due_today_and_overdue_per_type(clerk_client, clerk, filings):
    now = timezone.now()
    end_of_today = timezone.localtime(now).replace(hour=23, minute=59, second=59)
    if end_of_today - timezone.localtime(now) < datetime.timedelta(minutes=1):
        pytest.skip("too close to midnight to have an item due later today")
    dues = [now - datetime.timedelta(hours=1), end_of_today, now + datetime.timedelta(days=2)]
    for filing, due in zip(filings, dues, strict=True):
        AddEmployeeFiling.objects.filter(pk=filing.pk).update(due_at=due)
    counts = {row.model: row for row in review_queue_counts(clerk)}
    add = counts[AddEmployeeFiling]
    assert (add.waiting, add.due_today, add.overdue) == (3, 1, 1)
    page = clerk_client.get(reverse(HOME)).content.decode()
    assert "增员申请" in page and "待处理 3 件,其中今日到期 1 件、已超期 1 件" in page
    changelist = reverse(CHANGELIST)
    assert f"{changelist}?due=overdue" in page and f"{changelist}?due=today" in page


def test_home_counts_take_one_query_per_type(clerk, filings):
    user = get_user_model().objects.get(pk=clerk.pk)
    types = review_types_for(user)  # loads the permissions
    user.regions.count()
    with CaptureQueriesContext(connection) as queries:
        review_queue_counts(user)
    counted = [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counted) == len(types) >= 5
    assert len(queries.captured_queries) == len(types) + 1  # and the clerk's regions


def test_home_of_a_clerk_limited_to_a_region_counts_that_region_only(client, filings):
    other = RegionFactory(code="310000", name="上海市(测试)")
    clerk = create_clerk("sh", regions=[other])
    counts = {row.model: row for row in review_queue_counts(clerk)}
    assert counts[AddEmployeeFiling].waiting == 0
    otp_verify(client, clerk)
    assert client.get(reverse(HOME)).status_code == 200


def test_admin_index_links_the_home_and_the_report_for_clerks(clerk_client):
    page = clerk_client.get(reverse("admin:index")).content.decode()
    assert reverse(HOME) in page and reverse(REPORT) in page and "审核工作台" in page


def test_staff_without_review_permissions_get_no_link_and_a_403(client, django_user_model):
    staff = django_user_model.objects.create_user("helpdesk", password="x", is_staff=True)
    otp_verify(client, staff)
    assert reverse(HOME) not in client.get(reverse("admin:index")).content.decode()
    assert client.get(reverse(HOME)).status_code == 403
    assert client.get(reverse(REPORT)).status_code == 403


def test_the_desk_pages_ask_for_the_admin_login_and_its_second_factor(client, clerk):
    for name in (HOME, REPORT):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(clerk)  # password only, no second factor
    response = client.get(reverse(HOME))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_report_page_and_command_give_the_same_numbers(clerk_client, clerk, filings, capsys):
    hours = [1, 3, 10]
    for filing, spent in zip(filings, hours, strict=True):
        review_decide(model=AddEmployeeFiling, pk=filing.pk, actor=clerk, decision="approve")
        decided_at = AddEmployeeFiling.objects.get(pk=filing.pk).decided_at
        AddEmployeeFiling.objects.filter(pk=filing.pk).update(
            submitted_at=decided_at - datetime.timedelta(hours=spent)
        )
    report = review_report()
    [median] = [row for row in report.medians if row.type == "增员申请"]
    assert (median.decided, round(median.median_hours, 1)) == (3, 3.0)
    [approved] = [row for row in report.rows if row.type == "增员申请"]
    assert (approved.state, approved.total) == (str(ReviewState.APPROVED.label), 3)

    page = clerk_client.get(reverse(REPORT)).content.decode()
    call_command("review_report")
    out = capsys.readouterr().out
    assert "增员申请\t" + approved.region + "\t审核通过\t3\t0" in out
    assert f"增员申请\t{median.region}\t3\t3.0" in out
    assert "<td>增员申请</td><td>" + approved.region + "</td><td>审核通过</td><td>3</td>" in page
    assert "<td>3</td><td>3.0</td>" in page.replace(" ", "").replace("\n", "")
