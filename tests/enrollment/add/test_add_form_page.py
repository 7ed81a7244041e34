"""The 新增参保人员 page's form, stored once per process ({% unbound_form_fragment %}): the same
page as rendered from scratch, for every language and region, after its data changes."""

import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from contributions.models import PolicyPeriod
from contributions.policy.services import policy_seed_demo
from employers.models import Role
from enrollment.add.selectors import (
    employment_form_choices,
    employment_forms_for_region,
    region_base_bounds,
)
from enrollment.add.services import add_employee_filing_submit
from enrollment.models import AddEmployeeFiling, EmploymentForm
from portal.models import Region, ReviewState
from portal.templatetags import portal_tags
from tests.enrollment.add_helpers import (
    bounds_one_month_at_a_time,
    form_data,
    service_fields,
    unit_with_agent,
)
from tests.factories import RegionFactory, create_agent, create_employer

pytestmark = pytest.mark.django_db

KEY = re.compile(r'name="idempotency_key" value="([^"]*)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


@pytest.fixture(autouse=True)
def empty_store():
    portal_tags.fragments_clear()
    yield
    portal_tags.fragments_clear()


@pytest.fixture
def agents():
    """Agents of two units in two regions; the second region has a 用工形式 of its own."""
    _employer, first = unit_with_agent()
    region = RegionFactory(code="310000", name="上海市(测试)")
    policy_seed_demo(region=region)
    EmploymentForm.objects.create(region=region, code="91", name="灵活用工<试点>", sort_order=0)
    second = create_agent(employer=create_employer(region=region), roles=(Role.ENROLMENT,))
    return [first, second]


def _from_scratch(monkeypatch, client) -> str:
    """The page rendered as before the store: the choices from the form's queryset (the form
    then cannot name its key, so the tag renders its body), the region's name from its row,
    the bounds one month at a time."""
    with monkeypatch.context() as patch:
        patch.setattr("enrollment.add.views.employment_form_choices", lambda region: None)
        patch.setattr(
            "enrollment.add.views.region_base_bounds",
            lambda region: (
                Region.objects.get(pk=region).name,
                bounds_one_month_at_a_time(Region.objects.get(pk=region)),
            ),
        )
        return client.get(reverse("enrollment:add")).content.decode()


def _without_tokens(page: str) -> str:
    return CSRF.sub("CSRF", KEY.sub("KEY", page))


def _assert_same_pages(monkeypatch, client) -> None:
    expected = _from_scratch(monkeypatch, client)
    stored_before = len(portal_tags._FORM_FRAGMENTS)
    first, second = (client.get(reverse("enrollment:add")).content.decode() for _ in range(2))
    assert len(portal_tags._FORM_FRAGMENTS) == stored_before + 1  # stored, then printed
    assert _without_tokens(first) == _without_tokens(second) == _without_tokens(expected)
    keys = [KEY.search(page).group(1) for page in (expected, first, second)]
    assert len(set(keys)) == 3 and all(uuid.UUID(key).version == 4 for key in keys)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_stored_form_is_the_page_rendered_from_scratch(agents, client, monkeypatch, language):
    for agent in agents:
        client.force_login(agent.user)
        client.cookies["django_language"] = language
        _assert_same_pages(monkeypatch, client)
    second_region = agents[1].employer.region
    page = client.get(reverse("enrollment:add")).content.decode()
    assert "灵活用工&lt;试点&gt;" in page and second_region.name in page

    # A clerk changes the bounds, the 用工形式 and the region's name: the next page shows it.
    period = PolicyPeriod.objects.get(
        region=second_region, starts_on__lte=timezone.localdate(), ends_on__gte=timezone.localdate()
    )
    PolicyPeriod.objects.filter(pk=period.pk).update(base_lower=period.base_lower + 1)
    _assert_same_pages(monkeypatch, client)
    assert str(period.base_lower + 1) in client.get(reverse("enrollment:add")).content.decode()
    EmploymentForm.objects.filter(region=second_region).update(name="灵活就业")
    _assert_same_pages(monkeypatch, client)
    EmploymentForm.objects.filter(region=None, code="11").update(is_active=False)
    _assert_same_pages(monkeypatch, client)
    Region.objects.filter(pk=second_region.pk).update(name="浦东(测试)")
    _assert_same_pages(monkeypatch, client)
    # The period no longer published: the page says the bounds are not out yet.
    PolicyPeriod.objects.filter(region=second_region).update(is_published=False)
    _assert_same_pages(monkeypatch, client)
    page = client.get(reverse("enrollment:add")).content.decode()
    assert "data-base-bounds" not in page and "alert-warning" in page
    # Undone, the first text is right again (its key is the values, not a version).
    EmploymentForm.objects.filter(region=None, code="11").update(is_active=True)
    PolicyPeriod.objects.filter(region=second_region).update(is_published=True)
    assert _without_tokens(client.get(reverse("enrollment:add")).content.decode()) == (
        _without_tokens(_from_scratch(monkeypatch, client))
    )


def test_a_post_with_errors_shows_what_was_typed_after_the_form_was_stored(agents, client):
    client.force_login(agents[0].user)
    client.get(reverse("enrollment:add"))
    assert portal_tags._FORM_FRAGMENTS
    data = form_data(name="王五六", phone="13900002222", contribution_base="100")
    response = client.post(reverse("enrollment:add"), data)
    assert response.status_code == 200 and response.context["form"].errors["contribution_base"]
    page = response.content.decode()
    assert 'value="王五六"' in page and 'value="13900002222"' in page and 'value="100"' in page
    assert f'name="idempotency_key" value="{data["idempotency_key"]}"' in page
    assert "月缴费工资应在" in page
    assert not AddEmployeeFiling.objects.exists()


def test_the_resubmission_page_shows_the_filing_not_the_stored_form(agents, client):
    agent = agents[0]
    filing = add_employee_filing_submit(agent=agent, **service_fields(name="赵六"))
    AddEmployeeFiling.objects.filter(pk=filing.pk).update(review_state=ReviewState.REJECTED)
    client.force_login(agent.user)
    client.get(reverse("enrollment:add"))
    page = client.get(reverse("enrollment:add_resubmit", args=[filing.reference]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="赵六"' in html and f'value="{filing.idempotency_key}"' in html
    assert "不选择则保留已上传的文件" in html


def test_the_add_page_reads_bounds_and_choices_in_one_query_each(
    agents, client, django_assert_num_queries
):
    client.force_login(agents[0].user)
    client.get(reverse("enrollment:add"))  # the first request of a session writes it
    # Session, user, agent with its unit, the inbox badge; the bounds with the region's name,
    # the 用工形式.
    with django_assert_num_queries(6):
        assert client.get(reverse("enrollment:add")).status_code == 200


def test_choices_and_bounds_are_what_the_querysets_give(agents):
    for agent in agents:
        region = agent.employer.region
        assert employment_form_choices(region.pk) == [
            (form.pk, str(form)) for form in employment_forms_for_region(region)
        ]
        assert region_base_bounds(region) == (region.name, bounds_one_month_at_a_time(region))
    PolicyPeriod.objects.update(is_published=False)
    assert region_base_bounds(agents[0].employer.region_id) == ("", [])


def test_the_stand_in_keys_as_the_form_and_builds_it_for_anything_else(agents):
    from enrollment.add.forms import AddEmployeeForm, UnboundAddEmployeeForm

    region = agents[1].employer.region_id
    kwargs = {
        "initial": {"idempotency_key": uuid.uuid4()},
        "prefix": None,
        "employment_forms": employment_forms_for_region(region),
        "employment_form_choices": employment_form_choices(region),
    }
    stand_in, form = UnboundAddEmployeeForm(**kwargs), AddEmployeeForm(**kwargs)
    assert stand_in.unbound_html_key() == form.unbound_html_key() is not None
    assert not stand_in.is_bound and not stand_in.errors and stand_in.initial == form.initial
    token = stand_in["idempotency_key"]
    assert (
        str(token) == str(form["idempotency_key"])
        and token.value() == form["idempotency_key"].value()
    )
    with pytest.raises(KeyError):
        stand_in["errors"]
    assert stand_in._form is None  # the tag's reads build nothing
    assert str(stand_in["employment_form"]) == str(form["employment_form"])  # built now
    assert stand_in._form is not None and stand_in.as_div() == form.as_div()
    no_choices = {**kwargs, "employment_form_choices": None}
    assert UnboundAddEmployeeForm(**no_choices).unbound_html_key() is None
    with pytest.raises(TypeError):
        UnboundAddEmployeeForm(**kwargs, data={})
