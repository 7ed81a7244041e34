"""portal.compiled_sql.CompiledQuery: SQL compiled once, run with each request's values."""

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import DateField, F, Func, Subquery, Value
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from employers.inbox.selectors import inbox_unread_count
from employers.models import Agent, Employer, LoginLock
from portal.compiled_sql import _SENTINEL_SLICE, CompiledQuery, Ints, Slice
from portal.models import InboxCategory, InboxMessage, InboxRead
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db


def _agents_of(unit):
    return Agent.objects.filter(employer_id=unit).values_list("pk", flat=True).order_by("pk")


def test_the_sql_is_built_once_and_each_run_takes_its_own_values(monkeypatch):
    one, two = create_employer(), create_employer()
    first, second = create_agent(employer=one), create_agent(employer=two)
    builds = []
    query = CompiledQuery(lambda unit: builds.append(unit) or _agents_of(unit), "unit")

    assert query.rows(unit=one.pk) == [(first.pk,)]
    assert query.rows(unit=two.pk) == [(second.pk,)]
    assert query.rows(unit=0) == []
    assert len(builds) == 1  # compiled once, with the sentinel, never with a unit's id


def test_values_must_be_the_named_ints():
    query = CompiledQuery(_agents_of, "unit")

    with pytest.raises(TypeError):
        query.rows(unit=None)
    with pytest.raises(TypeError):
        query.rows(unit="1")
    with pytest.raises(TypeError):
        query.rows(agent=1)


def test_limit_and_offset_pick_a_page_of_the_same_sql():
    unit = create_employer()
    agents = [create_agent(employer=unit).pk for _ in range(5)]
    query = CompiledQuery(_agents_of, "unit")

    assert query.rows(unit=unit.pk, limit=2, offset=0) == [(pk,) for pk in agents[:2]]
    assert query.rows(unit=unit.pk, limit=2, offset=4) == [(agents[4],)]
    assert query.rows(unit=unit.pk) == [(pk,) for pk in agents]
    with pytest.raises(TypeError):
        query.rows(unit=unit.pk, limit="2")
    with pytest.raises(TypeError):
        query.rows(unit=unit.pk, limit=2, offset=-1)


def test_a_value_that_is_not_a_plain_parameter_is_refused():
    # The sentinel ends up inside the SQL text (a slice's LIMIT), not as a parameter.
    query = CompiledQuery(lambda unit: Agent.objects.values_list("pk")[:-unit], "unit")

    with pytest.raises(ImproperlyConfigured, match="not a plain parameter"):
        query.rows(unit=5)


def test_the_inbox_badge_counts_only_the_agents_own_unread_messages():
    one, two = create_employer(), create_employer()
    agent, colleague, stranger = (
        create_agent(employer=one),
        create_agent(employer=one),
        create_agent(employer=two),
    )

    def message(unit, to=None):
        return InboxMessage.objects.create(
            employer_id=unit.pk,
            agent_id=to.pk if to else None,
            category=InboxCategory.REVIEW,
            template="test",
            title="审核结果",
            body="全文",
        )

    read = message(one)
    message(one)
    message(one, to=agent)
    message(one, to=colleague)
    message(two)
    InboxRead.objects.create(message=read, agent_id=agent.pk)

    with CaptureQueriesContext(connection) as queries:
        assert inbox_unread_count(agent=agent) == 2
    assert len(queries) == 1
    assert inbox_unread_count(agent=colleague) == 3
    assert inbox_unread_count(agent=stranger) == 1


def test_dates_and_instants_are_parameters_too_and_dates_come_back_as_dates():
    unit = create_employer()
    agent = create_agent(employer=unit)
    LoginLock.objects.create(key="held", held=True)
    LoginLock.objects.create(key="until", locked_until=timezone.now() + datetime.timedelta(hours=1))
    query = CompiledQuery(
        lambda unit, on, now: (
            Employer.objects.filter(pk=unit)
            .annotate(
                on=Value(on, DateField()),
                locks=Subquery(
                    LoginLock.objects.filter(locked_until__gt=now)
                    .annotate(n=Func(F("pk"), function="COUNT"))
                    .values("n")
                ),
            )
            .values_list("on", "locks")
        ),
        "unit",
        on=datetime.date,
        now=datetime.datetime,
    )

    day = datetime.date(2026, 12, 4)
    assert query.rows(unit=agent.employer_id, on=day, now=timezone.now()) == [(day, 1)]
    later = timezone.now() + datetime.timedelta(hours=2)
    assert query.rows(unit=agent.employer_id, on=day, now=later) == [(day, 0)]
    with pytest.raises(TypeError, match="aware datetime"):
        query.rows(unit=unit.pk, on=day, now=datetime.datetime(2026, 12, 4))  # noqa: DTZ001
    with pytest.raises(TypeError, match="a date"):
        query.rows(unit=unit.pk, on=later, now=later)


def _page_of_agents(unit, skip, size):
    ids = Agent.objects.filter(employer_id=unit).order_by("-pk").values("pk")[skip : skip + size]
    return Agent.objects.filter(pk__in=ids).order_by("-pk").values_list("pk", flat=True)


def test_a_slice_inside_the_query_takes_each_runs_bounds_as_parameters():
    one, two = create_employer(), create_employer()
    agents = [create_agent(employer=one).pk for _ in range(5)][::-1]
    other = create_agent(employer=two).pk
    builds = []
    query = CompiledQuery(
        lambda unit, skip, size: builds.append(unit) or _page_of_agents(unit, skip, size),
        "unit",
        skip=Slice,
        size=Slice,
    )

    assert query.rows(unit=one.pk, skip=0, size=2) == [(pk,) for pk in agents[:2]]
    assert query.rows(unit=one.pk, skip=2, size=2) == [(pk,) for pk in agents[2:4]]
    assert query.rows(unit=one.pk, skip=4, size=50) == [(agents[4],)]
    assert query.rows(unit=two.pk, skip=0, size=50) == [(other,)]
    assert query.rows(unit=one.pk, skip=5, size=2) == []
    assert len(builds) == 1
    sql = query.sql()[0]
    assert "LIMIT %s OFFSET %s" in sql and str(_SENTINEL_SLICE) not in sql
    with pytest.raises(TypeError, match="at least 0"):
        query.rows(unit=one.pk, skip=-1, size=2)


def test_parameters_after_a_slice_keep_their_places():
    unit = create_employer()
    agents = [create_agent(employer=unit).pk for _ in range(3)]
    query = CompiledQuery(
        lambda skip, size, unit: (
            Agent.objects.filter(
                pk__in=Agent.objects.order_by("pk").values("pk")[skip : skip + size],
                employer_id=unit,
            )
            .order_by("pk")
            .values_list("pk")
        ),
        "unit",
        skip=Slice,
        size=Slice,
    )

    everyone = list(Agent.objects.order_by("pk").values_list("pk", flat=True))
    first = everyone.index(agents[0])
    assert query.rows(unit=unit.pk, skip=first + 1, size=1) == [(agents[1],)]
    assert query.rows(unit=0, skip=first + 1, size=1) == []


def test_a_slice_bound_must_be_a_slice():
    query = CompiledQuery(
        lambda unit, size: Agent.objects.filter(employer_id=size).values_list("pk"),
        "unit",
        size=Slice,
    )

    with pytest.raises(ImproperlyConfigured, match="slice bound"):
        query.rows(unit=1, size=1)
    with pytest.raises(ImproperlyConfigured, match="rows"):
        CompiledQuery(_page_of_agents, "unit", offset=Slice, limit=Slice)


def test_values_list_annotations_named_out_of_the_sql_order_are_refused():
    query = CompiledQuery(
        lambda unit: (
            Agent.objects.filter(employer_id=unit)
            .annotate(twice=F("pk") * 2)
            .values_list("twice", "pk")
        ),
        "unit",
    )

    with pytest.raises(ImproperlyConfigured, match="before the annotations"):
        query.rows(unit=1)


def test_instances_are_the_models_the_orm_would_build():
    unit = create_employer()
    agents = [create_agent(employer=unit) for _ in range(3)]
    query = CompiledQuery(
        lambda unit: Agent.objects.filter(employer_id=unit).order_by("pk"), "unit"
    )

    built = query.instances(unit=unit.pk, limit=2)
    assert built == agents[:2]
    assert [agent.__dict__.keys() for agent in built] == [
        agent.__dict__.keys() for agent in Agent.objects.filter(pk__in=[a.pk for a in agents[:2]])
    ]
    assert [agent.name for agent in built] == [agent.name for agent in agents[:2]]
    assert not built[0]._state.adding and built[0]._state.db == "default"
    with pytest.raises(ImproperlyConfigured, match="whole rows"):
        CompiledQuery(_agents_of, "unit").instances(unit=unit.pk)
    with pytest.raises(ImproperlyConfigured, match="whole rows"):
        CompiledQuery(
            lambda unit: Agent.objects.filter(employer_id=unit).select_related("user"), "unit"
        ).instances(unit=unit.pk)


def test_a_list_of_ids_is_padded_to_the_compiled_size():
    unit = create_employer()
    agents = [create_agent(employer=unit).pk for _ in range(4)]
    builds = []
    query = CompiledQuery(
        lambda unit, ids: (
            builds.append(ids)
            or Agent.objects.filter(employer_id=unit, pk__in=ids).order_by("pk").values_list("pk")
        ),
        "unit",
        ids=Ints(3),
    )

    assert query.rows(unit=unit.pk, ids=agents[:3]) == [(pk,) for pk in agents[:3]]
    assert query.rows(unit=unit.pk, ids=[agents[3]]) == [(agents[3],)]
    assert query.rows(unit=unit.pk, ids=(agents[1], agents[0])) == [(agents[0],), (agents[1],)]
    assert query.rows(unit=0, ids=agents[:2]) == []
    assert len(builds) == 1 and len(builds[0]) == 3
    for wrong in ([], agents, [str(agents[0])], agents[0]):
        with pytest.raises(TypeError):
            query.rows(unit=unit.pk, ids=wrong)


def _fields(instance) -> dict:
    return {name: value for name, value in instance.__dict__.items() if name != "_state"}


def test_related_instances_are_the_models_and_related_models_the_orm_would_build():
    unit = create_employer()
    agents = [create_agent(employer=unit) for _ in range(3)]
    create_agent()  # another unit's

    def build(unit):
        return (
            Agent.objects.filter(employer_id=unit)
            .select_related("user", "employer__region")
            .order_by("pk")
        )

    query = CompiledQuery(build, "unit")
    built = query.related_instances(unit=unit.pk, limit=2)
    orm = list(build(unit.pk)[:2])

    assert built == orm == agents[:2]
    for mine, theirs in zip(built, orm, strict=True):
        assert _fields(mine) == _fields(theirs)
        assert (
            mine._state.fields_cache.keys()
            == theirs._state.fields_cache.keys()
            == {
                "user",
                "employer",
            }
        )
        assert _fields(mine.user) == _fields(theirs.user)
        assert _fields(mine.employer) == _fields(theirs.employer)
        assert _fields(mine.employer.region) == _fields(theirs.employer.region)
        assert not mine._state.adding and mine._state.db == "default"
    with CaptureQueriesContext(connection) as queries:
        assert built[0].employer.region.pk == unit.region_id  # no query: read with the agent
    assert len(queries) == 0
    assert query.related_instances(unit=0) == []
    with pytest.raises(ImproperlyConfigured, match="whole rows"):
        CompiledQuery(_agents_of, "unit").related_instances(unit=unit.pk)


def test_a_str_sentinel_is_a_plain_parameter_compared_as_it_is():
    one, two = create_employer(), create_employer()
    builds = []
    query = CompiledQuery(
        lambda name: builds.append(name) or Employer.objects.filter(name=name).values_list("pk"),
        name=str,
    )

    assert query.rows(name=one.name) == [(one.pk,)]
    assert query.rows(name=two.name) == [(two.pk,)]
    assert query.rows(name="没有这个单位") == []
    assert len(builds) == 1
    with pytest.raises(TypeError, match="must be a str"):
        query.rows(name=1)
    # A str the ORM changes on its way to the SQL (contains: %name%) is refused.
    with pytest.raises(ImproperlyConfigured, match="not a plain parameter"):
        CompiledQuery(
            lambda name: Employer.objects.filter(name__contains=name).values_list("pk"),
            name=str,
        ).rows(name=one.name)


def test_text_and_uuid_values_are_parameters_as_the_orm_passes_them():
    import uuid

    from enrollment.add.services import add_employee_filing_submit
    from enrollment.models import AddEmployeeFiling
    from tests.enrollment.add_helpers import service_fields, unit_with_agent

    agent = unit_with_agent()[1]
    filing = add_employee_filing_submit(agent=agent, **service_fields())
    by_key = CompiledQuery(
        lambda key: AddEmployeeFiling.objects.filter(idempotency_key=key).values_list("pk"),
        key=uuid.UUID,
    )
    by_reference = CompiledQuery(
        lambda reference: AddEmployeeFiling.objects.filter(reference=reference).values_list(
            "idempotency_key"
        ),
        reference=str,
    )
    assert by_key.rows(key=filing.idempotency_key) == [(filing.pk,)]
    assert by_key.rows(key=uuid.uuid4()) == []
    assert by_reference.rows(reference=filing.reference) == [(filing.idempotency_key,)]
    assert by_reference.rows(reference="ZY-none") == []
    with pytest.raises(TypeError):
        by_key.rows(key=str(filing.idempotency_key))
    with pytest.raises(TypeError):
        by_reference.rows(reference=1)
    # A text value that the lookup changes (a pattern) is not a plain parameter: refused.
    like = CompiledQuery(
        lambda name: AddEmployeeFiling.objects.filter(reference__contains=name).values_list("pk"),
        name=str,
    )
    with pytest.raises(ImproperlyConfigured, match="not a plain parameter"):
        like.rows(name="ZY")


class _Inlined(CompiledQuery):
    inline_constants = True


def _named(unit, name):
    return Employer.objects.filter(pk=unit, name__in=[name, "x_1", "it's", "50%"]).values_list(
        "pk", Value("k_1")
    )


def test_inlined_constants_are_literals_and_the_rows_the_same():
    one = create_employer()
    quoted = create_employer(name="it's")
    percent = create_employer(name="50%")
    plain, inlined = (kind(_named, "unit", name=str) for kind in (CompiledQuery, _Inlined))
    sql, params, slots, _converters = inlined.sql()
    # The plain texts are in the SQL; the sentinels, and texts with a quote or a percent sign,
    # stay parameters in their places.
    assert "'k_1'" in sql and "'x_1'" in sql
    assert [p for p in params if isinstance(p, str) and "sentinel" not in p] == ["it's", "50%"]
    assert sorted(slots.values()) == ["name", "unit"]
    assert len(params) == len(plain.sql()[1]) - 2 == sql.count("%s")
    for unit, name in [(one.pk, one.name), (quoted.pk, "it's"), (percent.pk, "50%"), (one.pk, "x")]:
        assert inlined.rows(unit=unit, name=name) == plain.rows(unit=unit, name=name)
    assert inlined.rows(unit=one.pk, name=one.name) == [(one.pk, "k_1")]
    assert inlined.rows(unit=quoted.pk, name="x_1") == [(quoted.pk, "k_1")]
    assert Employer.objects.filter(name="x_1").count() == 0


def test_an_inlined_choice_is_written_as_its_value():
    from employers.models import UnitChangeFiling

    stage = UnitChangeFiling.Stage.CANCELLED
    query = _Inlined(
        lambda unit: UnitChangeFiling.objects.filter(employer_id=unit, stage=stage).values_list(
            "pk"
        ),
        "unit",
    )
    sql, params, _slots, _converters = query.sql()
    assert f"'{stage.value}'" in sql and len(params) == 1
    assert query.rows(unit=create_employer().pk) == []


def test_inlined_int4s_are_literals_and_the_rows_the_same():
    from django.db.models import Exists, IntegerField, OuterRef

    one, two = create_employer(), create_employer()
    create_agent(employer=one)

    def build(unit):
        agents = Agent.objects.filter(employer_id=OuterRef("pk"))
        return Employer.objects.filter(pk=unit).values_list(
            "pk",
            Exists(agents),  # its SELECT 1: an int4 parameter on PostgreSQL
            Value(7, IntegerField()),
            Value(-3, IntegerField()),  # negative: kept a parameter
        )

    plain, inlined = CompiledQuery(build, "unit"), _Inlined(build, "unit")
    sql, params, slots, _converters = inlined.sql()
    kept = [param for position, param in enumerate(params) if position not in slots]
    if connection.vendor == "postgresql":
        assert "SELECT 1 AS" in sql and "7 AS" in sql
        assert kept == [-3]
    else:  # SQLite's ints are untyped: all kept
        assert kept == [1, 7, -3]
    assert len(params) == sql.count("%s")
    for unit in (one.pk, two.pk, 0):
        assert inlined.rows(unit=unit) == plain.rows(unit=unit)
    assert inlined.rows(unit=one.pk) == [(one.pk, True, 7, -3)]
    assert inlined.rows(unit=two.pk) == [(two.pk, False, 7, -3)]
