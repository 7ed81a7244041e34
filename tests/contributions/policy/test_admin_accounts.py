"""Clerks set a unit's 工伤 risk class and float, and a region's declaration/billing settings."""

from decimal import Decimal

import pytest

from contributions.models import ContributionAccount, RegionContributionSettings
from portal.review import clerk_group_setup
from tests.conftest import otp_verify
from tests.factories import create_clerk, create_employer

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(client):
    clerk_group_setup()
    return otp_verify(client, create_clerk())


def test_clerk_changes_a_units_risk_class_with_history(clerk):
    account = ContributionAccount.objects.create(employer=create_employer())
    url = f"/admin/contributions/contributionaccount/{account.pk}/change/"
    assert clerk.get("/admin/contributions/contributionaccount/").status_code == 200
    response = clerk.post(url, {"risk_class": "3", "work_injury_float": "1.20"})
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert (account.risk_class, account.work_injury_float) == (3, Decimal("1.20"))
    assert account.history.count() == 2  # created, then changed by the clerk
    assert account.history.first().history_user.username == "clerk"


def test_float_out_of_range_is_refused_next_to_the_field(clerk):
    account = ContributionAccount.objects.create(employer=create_employer())
    url = f"/admin/contributions/contributionaccount/{account.pk}/change/"
    response = clerk.post(url, {"risk_class": "1", "work_injury_float": "2.00"})
    assert response.status_code == 200
    assert "浮动系数不能高于 1.50" in response.content.decode()
    account.refresh_from_db()
    assert account.work_injury_float == Decimal("1.00")


def test_clerk_sets_a_regions_settings(clerk):
    region = create_employer().region
    response = clerk.post(
        "/admin/contributions/regioncontributionsettings/add/",
        {
            "region": region.pk,
            "joiner_cutoff_day": "15",
            "payment_due_day": "15",
            "collection_mode": "direct_debit",
            "backpay_window_months": "24",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    settings = RegionContributionSettings.objects.get(region=region)
    # An unticked box: declarations then take effect without review.
    assert settings.declaration_requires_review is False
    assert settings.joiner_cutoff_day == 15
    assert settings.collection_mode == "direct_debit"
    assert settings.backpay_window_months == 24
