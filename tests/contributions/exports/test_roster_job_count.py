"""The roster page's large-export hook counts the unit's roster without a search through the
roster page's compiled COUNT (UnitRosterPaginator): the same count as the export's queryset,
for every filter, and the search still counted through the queryset."""

from __future__ import annotations

import pytest

from contributions.exports.selectors import export_queryset
from contributions.exports.services import roster_export_job_start
from contributions.models import ExportJob
from enrollment.models import Enrolment
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

PARAMS = [
    {"q": "", "status": "", "insurance_code": ""},
    {},
    {"q": "   ", "status": "", "insurance_code": ""},
    {"q": "", "status": "terminated", "insurance_code": ""},
    {"q": "", "status": "", "insurance_code": "410"},
    {"q": "", "status": "active", "insurance_code": "110"},
    {"q": "", "status": "nonsense", "insurance_code": "999"},
    {"q": "王", "status": "", "insurance_code": ""},
    {"q": "王", "status": "active", "insurance_code": "410"},
]


@pytest.mark.parametrize("params", PARAMS)
def test_the_job_counts_what_the_export_queryset_counts(settings, params):
    settings.CONTRIBUTIONS_EXPORT_STREAM_MAX_ROWS = 0  # every export a job, with its count
    employer = create_employer()
    statuses = Enrolment.Status.values
    for index in range(9):
        create_enrolment(
            employer,
            name=["王{}", "李{}"][index % 2].format(index),
            status=statuses[index % len(statuses)],
            insurance_codes=[["110", "410"], ["410"], ["110"]][index % 3],
        )
    create_enrolment(create_employer(), name="王外")  # another unit's
    agent = create_agent(employer)
    job = roster_export_job_start(agent=agent, fmt="csv", full=False, params=params)
    expected = export_queryset(agent=agent, kind=ExportJob.Kind.ROSTER, params=params).count()
    assert job.row_count == expected
    if params in PARAMS[:3]:  # no filter at all
        assert expected == 9
