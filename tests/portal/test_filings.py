"""已办业务查询: every filing of the unit in one list (issue 16 item 4)."""

import datetime
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from employers.models import RegistrationApplication, Role
from enrollment.models import AddEmployeeFiling, RemovalReason, RemoveEmployeeFiling
from portal import filings
from portal.models import ReviewState
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer, create_submitted_application

pytestmark = pytest.mark.django_db

URL = "/filings/"


def add_filing(unit, agent, reference, state=ReviewState.PENDING, comment="", days_ago=0):
    enrolment = create_enrolment(unit, name="新增职工", status="pending")
    return AddEmployeeFiling.objects.create(
        reference=reference,
        employer=unit,
        enrolment=enrolment,
        submitted_by=agent,
        idempotency_key=uuid.uuid4(),
        review_state=state,
        review_comment=comment,
        submitted_at=timezone.now() - datetime.timedelta(days=days_ago),
        due_at=timezone.now() + datetime.timedelta(days=2),
    )


def removal(unit, agent, reference, state=ReviewState.APPROVED, days_ago=0):
    return RemoveEmployeeFiling.objects.create(
        reference=reference,
        employer=unit,
        enrolment=create_enrolment(unit, name="离职职工"),
        submitted_by=agent,
        idempotency_key=uuid.uuid4(),
        reason=RemovalReason.CONTRACT_ENDED,
        last_contribution_month=timezone.localdate().replace(day=1),
        review_state=state,
        submitted_at=timezone.now() - datetime.timedelta(days=days_ago),
    )


@pytest.fixture
def unit():
    return create_employer(name="已办业务测试公司")


@pytest.fixture
def admin(unit):
    return create_agent(employer=unit, roles=[Role.UNIT_ADMIN])


def rows(client, agent, **params):
    client.force_login(agent.user)
    response = client.get(URL, params)
    assert response.status_code == 200
    return response, response.context["rows"]


def test_the_url_is_named():
    assert reverse("filings") == URL


def test_lists_the_units_filings_of_every_kind_newest_first_with_state_and_comment(
    client, unit, admin
):
    application = create_submitted_application(employer=unit)
    application.review_state = ReviewState.APPROVED
    application.save(update_fields=["review_state"])
    unit.status = unit.Status.ACTIVE
    unit.save(update_fields=["status"])
    add_filing(unit, admin, "ZY0001", ReviewState.REJECTED, comment="扫描件不清晰", days_ago=1)
    removal(unit, admin, "JY0001", days_ago=2)
    other = create_employer(name="别的单位")
    add_filing(other, create_agent(employer=other), "ZY9999")

    response, listed = rows(client, admin)
    kinds = [row.kind.key for row in listed]
    assert kinds == ["registration", "add", "remove"]
    assert [row.reference for row in listed][1:] == ["ZY0001", "JY0001"]
    body = response.content.decode()
    assert "ZY9999" not in body
    assert "扫描件不清晰" in body and "审核未通过" in body and "审核通过" in body
    add_row = listed[1]
    assert add_row.outcome == filings.Outcome.REFUSED
    assert add_row.url == reverse("enrollment:add_detail", args=["ZY0001"])
    assert f'href="{add_row.url}"' in body


def test_links_only_to_pages_the_agent_may_open(client, unit, admin):
    add_filing(unit, admin, "ZY0002")
    queries = create_agent(employer=unit, roles=[Role.QUERIES])
    response, listed = rows(client, queries)
    assert [row.reference for row in listed] == ["ZY0002"]
    assert listed[0].url == ""
    assert reverse("enrollment:add_detail", args=["ZY0002"]) not in response.content.decode()


def test_filters_by_kind_outcome_and_month(client, unit, admin):
    add_filing(unit, admin, "ZY0003", ReviewState.PENDING)
    add_filing(unit, admin, "ZY0004", ReviewState.APPROVED, days_ago=70)
    removal(unit, admin, "JY0003", ReviewState.REJECTED)

    _, listed = rows(client, admin, kind="add")
    assert {row.reference for row in listed} == {"ZY0003", "ZY0004"}
    _, listed = rows(client, admin, outcome="open")
    assert [row.reference for row in listed] == ["ZY0003"]
    _, listed = rows(client, admin, outcome="refused")
    assert [row.reference for row in listed] == ["JY0003"]
    month = timezone.localtime(timezone.now() - datetime.timedelta(days=70)).strftime("%Y-%m")
    _, listed = rows(client, admin, month=month)
    assert [row.reference for row in listed] == ["ZY0004"]


def test_a_bad_month_is_answered_next_to_the_field_and_the_list_stays(client, unit, admin):
    add_filing(unit, admin, "ZY0005")
    response, listed = rows(client, admin, month="2026-13")
    assert "请按“年-月”填写" in response.content.decode()
    assert [row.reference for row in listed] == ["ZY0005"]
    assert response.context["form"]["month"].value() == "2026-13"


def test_the_list_costs_the_same_queries_for_1_and_40_filings(
    client, unit, admin, django_assert_max_num_queries
):
    client.force_login(admin.user)
    add_filing(unit, admin, "ZY1000")
    client.get(URL)  # warm the session and the content types
    with django_assert_max_num_queries(8) as one:
        assert client.get(URL).status_code == 200
    for number in range(40):
        add_filing(unit, admin, f"ZY2{number:03d}", days_ago=number)
        removal(unit, admin, f"JY2{number:03d}", days_ago=number)
    with django_assert_max_num_queries(8) as many:
        response = client.get(URL, {"page": 2})
    assert len(response.context["rows"]) == filings.PER_PAGE
    assert len(many.captured_queries) == len(one.captured_queries)


def test_counts_by_outcome_take_one_query(unit, admin, django_assert_num_queries):
    add_filing(unit, admin, "ZY0006", ReviewState.PENDING)
    add_filing(unit, admin, "ZY0007", ReviewState.REJECTED)
    removal(unit, admin, "JY0007", ReviewState.SUBMITTED)
    with django_assert_num_queries(1):
        counts = filings.filings_counts(
            employer_id=unit.pk, outcomes=[filings.Outcome.OPEN, filings.Outcome.REFUSED]
        )
    assert counts == {filings.Outcome.OPEN: 2, filings.Outcome.REFUSED: 1}


def test_counts_compiled_once_still_count_only_the_asking_unit(unit, admin):
    other = create_employer(name="别的单位")
    add_filing(unit, admin, "ZY0008", ReviewState.PENDING)
    add_filing(other, create_agent(employer=other), "ZY9998", ReviewState.REJECTED)
    add_filing(other, create_agent(employer=other), "ZY9997", ReviewState.REJECTED)
    outcomes = [filings.Outcome.OPEN, filings.Outcome.REFUSED]
    mine = filings.filings_counts(employer_id=unit.pk, outcomes=outcomes)
    theirs = filings.filings_counts(employer_id=other.pk, outcomes=outcomes)  # SQL reused
    assert mine == {filings.Outcome.OPEN: 1, filings.Outcome.REFUSED: 0}
    assert theirs == {filings.Outcome.OPEN: 0, filings.Outcome.REFUSED: 2}


def test_every_agent_may_open_it_and_a_visitor_is_sent_to_login(client, unit):
    for role in Role.values:
        agent = create_agent(employer=unit, roles=[role])
        client.force_login(agent.user)
        assert client.get(URL).status_code == 200
    client.logout()
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_counts_sql_is_within_psycopgs_cached_sizes_and_counts_as_the_orms_union(unit, admin):
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH, MAX_CACHED_STATEMENT_PARAMS

    from portal.compiled_sql import CompiledQuery

    other = create_employer(name="别的单位")
    for number, state in enumerate(ReviewState.values):
        add_filing(unit, admin, f"ZY31{number:02d}", state)
        removal(unit, admin, f"JY31{number:02d}", state)
    add_filing(other, create_agent(employer=other), "ZY3199", ReviewState.REJECTED)
    create_submitted_application()
    for outcomes in (
        [filings.Outcome.REFUSED, filings.Outcome.OPEN],
        [filings.Outcome.OPEN],
        list(filings.Outcome),
    ):
        sql, params, _slots, _converters = filings._filings_counts_query(outcomes).sql()
        assert len(sql.encode()) <= MAX_CACHED_STATEMENT_LENGTH
        assert len(params) <= MAX_CACHED_STATEMENT_PARAMS
        # The ORM's own union, its constants parameters and its tables unaliased.
        orm = CompiledQuery(
            lambda u, outcomes=outcomes: filings._filings_counts_union(
                employer_id=u, outcomes=outcomes
            ),
            "u",
        )
        assert "%s AS" in orm.sql()[0] and "%s AS" not in sql
        registering = RegistrationApplication.objects.values_list("employer_id", flat=True)
        for employer_id in {unit.pk, other.pk, *registering}:
            mine = filings._filings_counts_query(outcomes).rows(unit=employer_id)
            assert sorted(mine) == sorted(orm.rows(u=employer_id))
        assert filings._filings_counts_query(outcomes).rows(unit=unit.pk)


def per_kind_counts(employer_id: int, outcomes: list[str]) -> dict[str, int]:
    """The counts by outcome as every kind counted its own rows before (its split applied):
    one ORM count per kind and state."""
    counts = dict.fromkeys(outcomes, 0)
    for kind in filings.filing_kinds():
        queryset = kind.model._default_manager.filter(**{kind.unit_field: employer_id})
        if kind.exclude is not None:
            queryset = kind.exclude(queryset)
        for outcome in outcomes:
            states = kind.outcomes.get(outcome, [])
            counts[outcome] += queryset.filter(**{f"{kind.state_field}__in": states}).count()
    return counts


def test_add_and_resume_counted_together_as_each_counted_itself(unit, admin):
    from enrollment.models import Enrolment

    other = create_employer(name="别的单位")
    states = [
        ReviewState.PENDING,
        ReviewState.REJECTED,
        ReviewState.SUBMITTED,
        ReviewState.APPROVED,
    ]
    for number, state in enumerate(states * 2):
        filing = add_filing(unit, admin, f"ZY40{number:02d}", state)
        if number % 3 == 0:  # a 续保: its enrolment resumed an earlier one
            earlier = create_enrolment(unit, name="续保职工", status="terminated")
            Enrolment.objects.filter(pk=filing.enrolment_id).update(resumed_from=earlier)
    removal(unit, admin, "JY4000", ReviewState.REJECTED)
    add_filing(other, create_agent(employer=other), "ZY4099", ReviewState.REJECTED)
    resumed = AddEmployeeFiling.objects.filter(enrolment__resumed_from__isnull=False)
    assert resumed.filter(employer=unit).exists()
    assert [kind.counts_group for kind in filings.filing_kinds() if kind.counts_group] == [
        "add",
        "add",
    ]
    sql = filings._filings_counts_query([filings.Outcome.OPEN]).sql()[0]
    assert "'resume'" not in sql and "resumed_from_id" not in sql
    for outcomes in (
        [filings.Outcome.REFUSED, filings.Outcome.OPEN],
        [filings.Outcome.OPEN],
        list(filings.Outcome),
    ):
        for employer_id in (unit.pk, other.pk, 0):
            counts = filings.filings_counts(employer_id=employer_id, outcomes=outcomes)
            assert counts == per_kind_counts(employer_id, outcomes)
    assert filings.filings_counts(
        employer_id=unit.pk, outcomes=[filings.Outcome.REFUSED, filings.Outcome.OPEN]
    ) == {filings.Outcome.REFUSED: 3, filings.Outcome.OPEN: 4}


def test_kinds_counted_together_must_count_alike(monkeypatch):
    monkeypatch.setattr(filings, "_kinds", dict(filings._kinds))
    with pytest.raises(ImproperlyConfigured, match="cannot be counted together"):
        filings.register(
            filings.FilingKind(
                key="removal_copy", label="x", model=RemoveEmployeeFiling, counts_group="add"
            )
        )
    assert "removal_copy" not in filings._kinds
