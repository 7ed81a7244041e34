"""Enrolment.insurance_mask: kept in sync on every write path, used by the roster's filter."""

from __future__ import annotations

import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from employers.models import Role
from enrollment.models import (
    EmploymentForm,
    Enrolment,
    HukouType,
    Person,
    insurance_mask_of,
    insurance_masks_with,
)
from tests.enrollment.enrolment_helpers import create_enrolment, unique_resident_id
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

URL = "/enrollment/roster/"


@pytest.fixture
def employer():
    return create_employer()


@pytest.fixture
def agent_client(client, employer):
    client.force_login(create_agent(employer, roles=[Role.ENROLMENT]).user)
    return client


def test_mask_bits_by_hand():
    assert insurance_mask_of(["110", "210", "310", "410"]) == 1 + 2 + 4 + 8
    assert insurance_mask_of(["410"]) == 8
    assert insurance_mask_of(["510", "310"]) == 16 + 4
    assert insurance_mask_of([]) == 0
    assert insurance_mask_of(["999"]) == 0
    masks = insurance_masks_with("410")
    assert len(masks) == 16 and all(mask & 8 for mask in masks) and 8 in masks and 31 in masks


def test_mask_is_set_on_create_save_and_bulk_create(employer):
    enrolment = create_enrolment(employer, insurance_codes=["310", "410"])
    enrolment.refresh_from_db()
    assert enrolment.insurance_mask == 12

    enrolment.insurance_codes = ["410"]
    enrolment.save()
    assert Enrolment.objects.get(pk=enrolment.pk).insurance_mask == 8
    # The history row carries the mask of its own version.
    assert enrolment.history.latest("history_id").insurance_mask == 8

    person = Person.objects.create(
        name="批量",
        document_number=unique_resident_id(),
        sex=Person.Sex.MALE,
        birth_date=datetime.date(1990, 1, 1),
        hukou_type=HukouType.LOCAL_URBAN,
    )
    (bulk,) = Enrolment.objects.bulk_create(
        [
            Enrolment(
                person=person,
                employer=employer,
                employment_form=EmploymentForm.objects.get(region=None, code="11"),
                insurance_codes=["110", "510"],
                start_month=datetime.date(2024, 1, 1),
                contribution_base=Decimal("8000.00"),
            )
        ]
    )
    assert Enrolment.objects.get(pk=bulk.pk).insurance_mask == 17


def test_data_migration_fills_masks_of_existing_rows(employer):
    enrolment = create_enrolment(employer, insurance_codes=["110", "410"])
    Enrolment.objects.filter(pk=enrolment.pk).update(insurance_mask=0)  # as before the column
    migration = importlib.import_module("enrollment.migrations.0004_enrolment_insurance_mask")
    migration.fill_masks(django_apps, None)
    assert Enrolment.objects.get(pk=enrolment.pk).insurance_mask == 9


def test_insurance_filter_uses_the_mask_column(agent_client, employer):
    create_enrolment(employer, name="全险", insurance_codes=["110", "210", "310", "410"])
    create_enrolment(employer, name="工伤", insurance_codes=["410"])
    with CaptureQueriesContext(connection) as captured:
        response = agent_client.get(URL, {"insurance_code": "110"})
    assert {row.name for row in response.context["page"].object_list} == {"全险"}
    sql = " ".join(query["sql"] for query in captured.captured_queries)
    assert "insurance_mask" in sql
    assert "insurance_codes" not in sql.split("FROM")[-1]  # no JSON in any WHERE clause


def test_filtered_query_count_is_the_same_for_2_and_30_enrolments(agent_client, employer):
    params = {"insurance_code": "410", "status": "active", "q": "员"}
    for index in range(2):
        create_enrolment(employer, name=f"员工{index}")
    # The search is POSTed once; its results are read at ?s=<token> (one session, no extra query).
    url = agent_client.post(URL, params)["Location"]
    agent_client.get(url)
    with CaptureQueriesContext(connection) as few:
        response = agent_client.get(url)
    assert len(response.context["page"].object_list) == 2
    for index in range(28):
        create_enrolment(employer, name=f"员工乙{index}", insurance_codes=["310", "410"])
    with CaptureQueriesContext(connection) as many:
        response = agent_client.get(url)
    assert len(response.context["page"].object_list) == 30
    assert response.context["page"].paginator.count == 30
    assert len(many.captured_queries) == len(few.captured_queries)


def test_name_search_pages_from_one_scan_of_matching_ids(agent_client, employer):
    for index in range(53):
        create_enrolment(employer, name=f"王{index:02d}")
    create_enrolment(employer, name="李四")
    create_enrolment(create_employer(), name="王外单位")
    url = agent_client.post(URL, {"q": "王"})["Location"]
    with CaptureQueriesContext(connection) as captured:
        first = agent_client.get(url)
    page = first.context["page"]
    assert page.paginator.count == 53 and len(page.object_list) == 50
    assert [row.name for row in page.object_list][:2] == ["王52", "王51"]  # newest first
    assert not any("COUNT(" in query["sql"] for query in captured.captured_queries)
    second = agent_client.get(f"{url}&page=2").context["page"]
    assert [row.name for row in second.object_list] == ["王02", "王01", "王00"]
    assert agent_client.get(f"{url}&page=9").context["page"].number == 2
