"""The 待遇申领 pages: who may open them, another unit's claims, the list's cost, the menu,
已办业务查询, the clerk's screens and the content-security policy."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from contributions.models import (
    BenefitAttachment,
    InjuryClaim,
    InjuryRecognition,
    MaternityClaim,
)
from employers.models import Role
from portal.models import Region, ReviewState
from tests.conftest import otp_verify
from tests.contributions.benefits.helpers import Unit, new_agent
from tests.enrollment.add_helpers import pdf_bytes
from tests.factories import create_clerk
from tests.portal.test_csp import inline_code

pytestmark = pytest.mark.django_db

D = Decimal


def claims_of(unit: Unit, tag: str, count: int = 1):
    """``count`` claims of each kind for one of the unit's employees, written directly."""
    enrolment = unit.employee(f"{tag}职工", "8000")
    shared = {
        "employer": unit.employer,
        "enrolment": enrolment,
        "submitted_by": unit.agent,
        "review_region": unit.region,
        "review_state": ReviewState.PENDING,
    }
    made = []
    for index in range(count):
        maternity = MaternityClaim.objects.create(
            reference=f"SY{tag}{index:04d}",
            idempotency_key=uuid.uuid4(),
            event_date=timezone.localdate() - datetime.timedelta(days=10 + index),
            kind="birth",
            wage_source="bases",
            unit_average_wage=D("8000"),
            divisor=D("30"),
            days=98,
            amount=D("26133.33"),
            **shared,
        )
        attachment = BenefitAttachment(
            employer_id=unit.employer.pk,
            maternity_claim=maternity,
            kind=BenefitAttachment.Kind.BIRTH_CERTIFICATE,
            original_name="出生医学证明.pdf",
            content_type="application/pdf",
            size=100,
            sha256="0" * 64,
        )
        from django.core.files.base import ContentFile

        attachment.file.save("p.pdf", ContentFile(pdf_bytes()), save=True)
        recognition = InjuryRecognition.objects.create(
            reference=f"GS{tag}{index:04d}",
            idempotency_key=uuid.uuid4(),
            accident_at=timezone.now() - datetime.timedelta(days=20),
            place=f"{tag}车间",
            description="扭伤",
            **{**shared, "review_state": ReviewState.APPROVED},
        )
        claim = InjuryClaim.objects.create(
            reference=f"GD{tag}{index:04d}",
            idempotency_key=uuid.uuid4(),
            recognition=recognition,
            disability_level=9,
            own_wage=D("8000"),
            wage_year=2026,
            regional_average_wage=D("10000"),
            bounded_wage=D("8000"),
            lump_sum=D("72000.00"),
            **shared,
        )
        made.append((maternity, recognition, claim, attachment))
    return made


@pytest.fixture
def unit():
    return Unit("页面测试有限公司")


@pytest.fixture
def agent_client(client, unit):
    client.force_login(unit.agent.user)
    return client


def pages_of(maternity, recognition, claim, attachment) -> list[str]:
    return [
        reverse("contributions:benefit_maternity_detail", args=[maternity.reference]),
        reverse("contributions:benefit_recognition_detail", args=[recognition.reference]),
        reverse("contributions:benefit_injury_claim", args=[recognition.reference]),
        reverse("contributions:benefit_injury_claim_detail", args=[claim.reference]),
        reverse("contributions:benefit_attachment", args=[attachment.pk]),
    ]


PLAIN_PAGES = [
    reverse("contributions:benefit_index"),
    reverse("contributions:benefit_maternity"),
    reverse("contributions:benefit_recognition"),
    reverse("contributions:benefit_injury_claims"),
]


def test_the_units_own_pages_open_and_another_units_claims_are_404(agent_client, unit):
    [own] = claims_of(unit, "甲")
    other = Unit("别家有限公司")
    [theirs] = claims_of(other, "乙")
    for url in pages_of(*own):
        assert agent_client.get(url).status_code == 200, url
    for url in pages_of(*theirs):
        response = agent_client.get(url)
        assert response.status_code == 404, url
        assert "乙职工" not in response.content.decode()
    # Posting to another unit's recognition files nothing either.
    url = reverse("contributions:benefit_injury_claim", args=[theirs[1].reference])
    assert agent_client.post(url, {"disability_level": "5"}).status_code == 404


def test_a_queries_only_agent_is_refused_every_page(client, unit):
    [own] = claims_of(unit, "甲")
    queries = new_agent(unit, [Role.QUERIES])
    client.force_login(queries.user)
    for url in [*PLAIN_PAGES, *pages_of(*own), reverse("contributions:benefit_maternity_confirm")]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "待遇申领员" in response.content.decode()


def test_the_unit_admin_may_claim(client, unit):
    admin = new_agent(unit, [Role.UNIT_ADMIN])
    client.force_login(admin.user)
    assert client.get(PLAIN_PAGES[0]).status_code == 200


def test_the_landing_page_lists_the_units_claims_only(agent_client, unit):
    claims_of(unit, "甲")
    claims_of(Unit("别家有限公司"), "乙")
    body = agent_client.get(PLAIN_PAGES[0]).content.decode()
    for reference in ("SY甲0000", "GS甲0000", "GD甲0000"):
        assert reference in body
    assert "乙" not in body.split('data-claims="maternity"')[1]


def test_the_landing_page_costs_the_same_queries_for_1_and_15_claims_of_each_kind(
    agent_client, unit, django_assert_max_num_queries
):
    claims_of(unit, "甲", 1)
    agent_client.get(PLAIN_PAGES[0])  # warm the session
    with django_assert_max_num_queries(12) as one:
        agent_client.get(PLAIN_PAGES[0])
    claims_of(unit, "乙", 15)
    with django_assert_max_num_queries(12) as many:
        body = agent_client.get(PLAIN_PAGES[0]).content.decode()
    assert body.count("SY乙") == 15
    assert len(many.captured_queries) == len(one.captured_queries)


def test_the_injury_claims_page_costs_the_same_queries(
    agent_client, unit, django_assert_max_num_queries
):
    url = PLAIN_PAGES[3]
    claims_of(unit, "甲", 1)
    agent_client.get(url)
    with django_assert_max_num_queries(12) as one:
        agent_client.get(url)
    claims_of(unit, "乙", 10)
    with django_assert_max_num_queries(12) as many:
        agent_client.get(url)
    assert len(many.captured_queries) == len(one.captured_queries)


def test_every_page_carries_no_inline_code(agent_client, unit):
    [own] = claims_of(unit, "甲")
    urls = PLAIN_PAGES + pages_of(*own)[:-1]  # the last is a file
    for url in urls:
        response = agent_client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response.content.decode()) == [], url


def test_the_menu_leads_to_the_benefit_pages(agent_client):
    home = agent_client.get(reverse("dashboard")).content.decode()
    for url in PLAIN_PAGES:
        assert f'href="{url}"' in home, url


def test_the_claims_are_in_the_units_filings_list(agent_client, unit):
    [(maternity, recognition, claim, _attachment)] = claims_of(unit, "甲")
    body = agent_client.get("/filings/").content.decode()
    for label, item in [
        ("生育津贴申领", maternity),
        ("工伤认定申请", recognition),
        ("工伤待遇申领", claim),
    ]:
        assert label in body and f'href="{item.get_absolute_url()}"' in body
    response = agent_client.get("/filings/", {"kind": "maternity"})
    assert [row.reference for row in response.context["rows"]] == [maternity.reference]


def test_the_agent_downloads_the_units_own_attachment(agent_client, unit):
    [(*_claims, attachment)] = claims_of(unit, "甲")
    response = agent_client.get(reverse("contributions:benefit_attachment", args=[attachment.pk]))
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert "attachment;" in response["Content-Disposition"]


# The clerk's screens ----------------------------------------------------------------------------


@pytest.fixture
def clerk_client(client):
    return otp_verify(client, create_clerk())


@pytest.mark.parametrize(
    ("model", "index", "evidence"),
    [
        ("maternityclaim", 0, "26,133.33 元 = 8000.00 ÷ 30 × 98"),
        ("injuryrecognition", 1, "甲车间"),
        ("injuryclaim", 2, "72,000.00 元"),
    ],
)
def test_the_clerk_sees_the_queue_and_the_evidence(clerk_client, unit, model, index, evidence):
    [own] = claims_of(unit, "甲")
    item = own[index]
    queue = clerk_client.get(reverse(f"admin:contributions_{model}_changelist"), {"queue": "all"})
    assert item.reference in queue.content.decode()
    page = clerk_client.get(reverse(f"admin:contributions_{model}_change", args=[item.pk]))
    body = page.content.decode()
    assert evidence in body
    assert item.enrolment.person.masked_document_number in body
    assert item.enrolment.person.document_number not in body
    assert inline_code(body) == []


def test_the_clerk_opens_the_attachment_and_another_regions_clerk_cannot(client, unit):
    [(maternity, _r, _c, attachment)] = claims_of(unit, "甲")
    url = reverse(
        "admin:contributions_maternityclaim_attachment", args=[maternity.pk, attachment.pk]
    )
    otp_verify(client, create_clerk())
    page = client.get(reverse("admin:contributions_maternityclaim_change", args=[maternity.pk]))
    assert url in page.content.decode()
    assert client.get(url).status_code == 200
    other = Region.objects.create(code="310000", name="上海市(测试)")
    otp_verify(client, create_clerk(username="sh_clerk", regions=[other]))
    assert client.get(url).status_code == 404


def test_the_clerk_approves_from_the_review_page(clerk_client, unit):
    [(maternity, *_rest)] = claims_of(unit, "甲")
    decide = reverse("admin:contributions_maternityclaim_decide", args=[maternity.pk])
    clerk_client.post(decide, {"approve": "1"})
    maternity.refresh_from_db()
    assert maternity.review_state == ReviewState.APPROVED
    assert maternity.approved_amount == D("26133.33")


def test_the_region_settings_and_average_wages_are_edited_in_the_admin(admin_client, unit):
    for name in ("regionbenefitsettings", "regionalaveragewage"):
        assert admin_client.get(reverse(f"admin:contributions_{name}_add")).status_code == 200
    response = admin_client.post(
        reverse("admin:contributions_regionalaveragewage_add"),
        {"region": unit.region.pk, "year": "2026", "monthly_wage": "10588.00"},
    )
    assert response.status_code == 302
    from contributions.benefits.selectors import regional_average_wage

    assert regional_average_wage(unit.region.pk, 2026) == D("10588.00")
