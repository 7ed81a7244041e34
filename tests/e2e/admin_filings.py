"""One filing of each main kind a clerk reviews, submitted through the services (for the admin's
accessibility and keyboard browser tests)."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.utils import timezone

from contributions.benefits.services import maternity_claim_submit
from employers.models import Role
from employers.unitinfo.services import contact_change_submit
from enrollment.models import RemovalReason, RemoveEmployeeFiling
from tests.contributions.benefits.helpers import Unit, maternity_facts, month_before, pdf
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import RegionFactory, create_agent, create_employer
from tests.portal.review_pages import submitted_add_filing, submitted_registration


def submitted_removal() -> RemoveEmployeeFiling:
    unit = create_employer(name="减员审核测试有限公司")
    agent = create_agent(employer=unit, roles=[Role.UNIT_ADMIN])
    return RemoveEmployeeFiling.objects.create(
        reference="JY" + uuid.uuid4().hex[:10].upper(),
        employer=unit,
        enrolment=create_enrolment(unit, name="离职职工"),
        submitted_by=agent,
        idempotency_key=uuid.uuid4(),
        reason=RemovalReason.CONTRACT_ENDED,
        last_contribution_month=timezone.localdate().replace(day=1),
        submitted_at=timezone.now(),
        due_at=timezone.now() + datetime.timedelta(days=2),
    )


def submitted_contact_change():
    unit = create_employer(name="变更审核测试有限公司")
    agent = create_agent(employer=unit, roles=[Role.UNIT_ADMIN])
    return contact_change_submit(
        agent=agent,
        idempotency_key=uuid.uuid4(),
        contact_name="新联系人",
        contact_phone=unit.contact_phone,
        address="北京市朝阳区新址路1号",
        contact_email="new@example.cn",
        reason="办公地址搬迁",
    )


class _UnitInAnotherRegion(Unit):
    """The benefits helpers' unit in a region of its own: its policy period would overlap the
    demo periods the 增员 filing's region holds."""

    def __init__(self, name: str):
        from tests.contributions.factories import make_period

        self.employer = create_employer(
            name=name, region=RegionFactory(code="310000", name="上海市(测试)")
        )
        self.region = self.employer.region
        self.agent = create_agent(employer=self.employer, roles=[Role.BENEFITS], name="待遇经办人")
        self.periods = [
            make_period(
                self.region,
                starts_on=month_before(24),
                ends_on=month_before(-13) - datetime.timedelta(days=1),
                base_lower="3000.00",
            )
        ]


def submitted_maternity_claim():
    unit = _UnitInAnotherRegion("生育待遇审核测试有限公司")
    wang = unit.employee("王芳", "8000")
    unit.bills([month_before(n) for n in range(12, 0, -1)], [wang])
    return maternity_claim_submit(
        agent=unit.agent,
        idempotency_key=uuid.uuid4(),
        shown_amount=Decimal("26133.33"),
        certificate=pdf(),
        **maternity_facts(wang),
    )


def one_of_each_kind() -> list:
    """A registration, a 增员, a 减员, a unit change and a maternity claim, all awaiting review."""
    return [
        submitted_registration(),
        submitted_add_filing(),
        submitted_removal(),
        submitted_contact_change(),
        submitted_maternity_claim(),
    ]
