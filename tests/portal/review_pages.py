"""Reviewable items as units file them, for the tests of the clerk's detail pages.

Each is submitted through its service, so that its history, pre-checks and evidence are what a
clerk meets (pre-checks run when on-commit callbacks run: in a browser test at once).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.utils import timezone

from contributions.declarations.services import LineInput, base_declaration_submit
from contributions.models import BaseDeclaration
from employers.models import Employer, RegistrationApplication, Role, VerificationMethod
from employers.registration.services import registration_submit
from enrollment.add.services import add_employee_filing_submit
from tests.contributions.declaration_helpers import make_unit as declaration_unit
from tests.enrollment.add_helpers import service_fields, unit_with_agent
from tests.factories import create_agent, create_employer, make_resident_id

UNIT_ADMIN_ID = make_resident_id("19850202", "male")
UNIT_ADMIN_PHONE = "13812345678"

# A CA login's evidence as employers/verification/ca.py records it, plus a key no label names.
CA_EVIDENCE = {
    "method": "ca",
    "subject": "CN=测试证书单位,O=测试证书单位,C=CN",
    "issuer": "CN=某某数字认证中心,O=某某数字认证股份有限公司,C=CN",
    "serial": "3fab01cd",
    "not_after": "2027-05-01T08:00:00+00:00",
    "fingerprint": "abcdef0123456789",
    "uscc": "91110100000000001N",
    "algorithm": "RSA-SHA256",
    "crl_status": "current",
    "provider_trace": {"node": "alpha", "ok": True},
}


def submitted_registration(*, evidence: dict | None = None) -> RegistrationApplication:
    """A registration proven by the bank penny-drop (or ``evidence``), with its unit admin."""
    employer = create_employer(status=Employer.Status.UNVERIFIED)
    create_agent(
        employer=employer,
        roles=[Role.UNIT_ADMIN],
        name="赵管理",
        id_number=UNIT_ADMIN_ID,
        phone=UNIT_ADMIN_PHONE,
    )
    evidence = evidence or {"method": "bank", "bank_reference": "20260315000123"}
    application = RegistrationApplication.objects.create(
        reference=f"ZC{uuid.uuid4().int % 10**12:012d}",
        account=employer.account,
        employer=employer,
        verification_method=evidence.get("method", VerificationMethod.BANK),
        verified_at=timezone.now(),
        verification_evidence=evidence,
    )
    return registration_submit(application=application)


def submitted_add_filing():
    """A 增员 filing with a PDF labour contract and a JPEG ID scan."""
    _employer, agent = unit_with_agent()
    return add_employee_filing_submit(agent=agent, **service_fields())


def submitted_declaration() -> BaseDeclaration:
    unit = declaration_unit()
    lines = [
        LineInput(enrolment.pk, Decimal(value), adjust=True)
        for enrolment, value in zip(unit.staff, ("9000", "12000", "50000"), strict=True)
    ]
    return base_declaration_submit(
        agent=unit.agent,
        period=unit.period,
        lines=lines,
        source=BaseDeclaration.Source.SCREEN,
        idempotency_key=uuid.uuid4(),
    )
