import datetime

import pytest
from django.contrib.auth import get_user_model

from contributions.models import PolicyPeriod, PolicyRate, RoundingRule
from portal.models import AuditEvent
from tests.conftest import otp_verify
from tests.contributions.factories import make_period
from tests.factories import RegionFactory

pytestmark = pytest.mark.django_db

BASE = "/admin/contributions/"


@pytest.fixture
def superuser():
    return get_user_model().objects.create_superuser("policy-clerk", "c@example.invalid", "x")


@pytest.fixture
def clerk_client(client, superuser):
    # force_login alone is redirected to the login page: the admin asks for a second factor
    # (ADMIN_REQUIRE_OTP, DESIGN.md section 13), which otp_verify passes.
    return otp_verify(client, superuser)


@pytest.fixture
def period():
    return make_period(RegionFactory(), rounding=[("pension", "personal", "cent_up_to_jiao")])


def get_page(client, url):
    response = client.get(url)
    assert response.status_code == 200, (response.status_code, response.get("Location"))
    return response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "policyperiod/",
        "policyperiod/?year=2026",
        "policyperiod/add/",
        "policyrate/",
        "roundingrule/",
    ],
)
def test_clerk_sees_policy_screens(clerk_client, period, path):
    body = get_page(clerk_client, BASE + path)
    assert "统筹区" in body


def test_period_change_form_shows_rates_inline_and_history(clerk_client, period):
    body = get_page(clerk_client, f"{BASE}policyperiod/{period.pk}/change/")
    assert "35811.00" in body and "0.160000" in body and "工伤保险" in body and "八类" in body
    history = get_page(clerk_client, f"{BASE}policyperiod/{period.pk}/history/")
    assert 'id="change-history"' in history and "已创建" in history


def test_rate_and_rounding_change_forms_render(clerk_client, period):
    rate = PolicyRate.objects.filter(period=period).first()
    get_page(clerk_client, f"{BASE}policyrate/{rate.pk}/change/")
    rule = RoundingRule.objects.get()
    assert "见分进角" in get_page(clerk_client, f"{BASE}roundingrule/{rule.pk}/change/")


def test_year_filter_keeps_periods_in_force_during_the_year(clerk_client, period):
    make_period(
        period.region,
        starts_on=datetime.date(2028, 7, 1),
        ends_on=datetime.date(2029, 6, 30),
    )
    body = get_page(clerk_client, BASE + "policyperiod/?year=2027")
    assert "2026-07-01" in body or "2026年7月1日" in body
    assert f"/{period.pk}/change/" in body
    assert PolicyPeriod.objects.count() == 2
    later = PolicyPeriod.objects.exclude(pk=period.pk).get()
    assert f"/{later.pk}/change/" not in body


def change_form_data(period, **overrides):
    rates = list(PolicyRate.objects.filter(period=period).order_by("pk"))
    data = {
        "region": period.region_id,
        "starts_on": period.starts_on.isoformat(),
        "ends_on": period.ends_on.isoformat(),
        "base_lower": str(period.base_lower),
        "base_upper": str(period.base_upper),
        "is_published": "on",
        "note": period.note,
        "rates-TOTAL_FORMS": str(len(rates)),
        "rates-INITIAL_FORMS": str(len(rates)),
        "rates-MIN_NUM_FORMS": "0",
        "rates-MAX_NUM_FORMS": "1000",
    }
    for index, rate in enumerate(rates):
        data |= {
            f"rates-{index}-id": rate.pk,
            f"rates-{index}-period": period.pk,
            f"rates-{index}-insurance_type": rate.insurance_type,
            f"rates-{index}-risk_class": rate.risk_class or "",
            f"rates-{index}-employer_rate": str(rate.employer_rate),
            f"rates-{index}-personal_rate": str(rate.personal_rate),
        }
    data.update(overrides)
    return data


def test_clerk_edits_a_rate_inline_with_history_user_and_audit(clerk_client, superuser, period):
    pension = PolicyRate.objects.get(period=period, insurance_type="pension")
    index = list(PolicyRate.objects.filter(period=period).order_by("pk")).index(pension)
    data = change_form_data(period, **{f"rates-{index}-employer_rate": "0.15"})
    response = clerk_client.post(f"{BASE}policyperiod/{period.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    pension.refresh_from_db()
    assert str(pension.employer_rate) == "0.150000"
    assert pension.history.latest().history_user == superuser
    assert AuditEvent.objects.filter(
        action="policy.changed", object_id=str(period.pk), actor=superuser
    ).exists()


def test_admin_refuses_bad_input_in_chinese(clerk_client, period):
    later = make_period(
        period.region, starts_on=datetime.date(2027, 7, 1), ends_on=datetime.date(2028, 6, 30)
    )
    url = f"{BASE}policyperiod/{period.pk}/change/"
    body = clerk_client.post(url, change_form_data(period, ends_on="2027-12-31")).content.decode()
    assert "2027-07-01 至 2028-06-30 重叠" in body
    body = clerk_client.post(
        url, change_form_data(period, **{"rates-0-employer_rate": "1.6"})
    ).content.decode()
    assert "不能大于 1" in body
    duplicate = change_form_data(period)
    duplicate["rates-1-insurance_type"] = duplicate["rates-0-insurance_type"]
    duplicate["rates-1-risk_class"] = duplicate["rates-0-risk_class"]
    body = clerk_client.post(url, duplicate).content.decode()
    assert "只能有一行" in body
    period.refresh_from_db()
    assert period.ends_on == datetime.date(2027, 6, 30)
    assert later.ends_on == datetime.date(2028, 6, 30)
    assert PolicyRate.objects.filter(period=period, employer_rate="1.6").count() == 0
