"""Shared setup of the add-employee tests: a unit with demo policy bounds, files, form data."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from reportlab.pdfgen import canvas

from contributions.policy.services import policy_seed_demo
from employers.models import Role
from enrollment.models import EmploymentForm
from tests.factories import RegionFactory, create_agent, create_employer, make_resident_id


def unit_with_agent(roles=(Role.ENROLMENT,), **employer_fields):
    """An active unit in the test region (demo policy bounds loaded) and its enrolment agent."""
    region = RegionFactory()
    policy_seed_demo(region=region)
    employer = create_employer(**employer_fields)
    agent = create_agent(employer=employer, roles=roles)
    return employer, agent


def jpg_bytes(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def png_bytes(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 30, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, "labour contract")
    pdf.save()
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str = "") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def good_attachments():
    return [
        ("labour_contract", upload("合同.pdf", pdf_bytes(), "application/pdf")),
        ("id_scan", upload("身份证.jpg", jpg_bytes(), "image/jpeg")),
    ]


def this_month():
    return timezone.localdate().replace(day=1)


def service_fields(**overrides) -> dict:
    """Keyword arguments of add_employee_filing_submit for a valid new employee."""
    fields = {
        "idempotency_key": uuid.uuid4(),
        "name": "李小华",
        "document_type": "resident_id",
        "document_number": make_resident_id("19950315", "female"),
        "nationality": "中国",
        "hukou_type": "local_urban",
        "phone": "13900001111",
        "employment_form": EmploymentForm.objects.get(region=None, code="11"),
        "insurance_codes": ["110", "210", "310", "410"],
        "start_month": this_month(),
        "employment_start": timezone.localdate(),
        "contribution_base": Decimal("9000.00"),
        "attachments": good_attachments(),
    }
    fields.update(overrides)
    return fields


def form_data(**overrides) -> dict:
    """POST data of the 新增参保人员 page for a valid new employee, attachments included."""
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "name": "李小华",
        "document_type": "resident_id",
        "document_number": make_resident_id("19950315", "female"),
        "sex": "",
        "birth_date": "",
        "nationality": "中国",
        "hukou_type": "local_urban",
        "phone": "13900001111",
        "employment_form": str(EmploymentForm.objects.get(region=None, code="11").pk),
        "insurance_codes": ["110", "210", "310", "410"],
        "start_month": this_month().strftime("%Y-%m"),
        "employment_start": timezone.localdate().strftime("%Y-%m-%d"),
        "contribution_base": "9000",
        "labour_contract": upload("合同.pdf", pdf_bytes(), "application/pdf"),
        "id_scan": upload("身份证.jpg", jpg_bytes(), "image/jpeg"),
    }
    data.update(overrides)
    return data


def bounds_one_month_at_a_time(region):
    """The region's bounds for this month and the next as the add page read them before
    region_base_bounds: base_bounds_for each month, the next month only where it differs."""
    from enrollment.add.selectors import base_bounds_for
    from enrollment.rules import add_months

    this_month = timezone.localdate().replace(day=1)
    bounds = []
    for month in (this_month, add_months(this_month, 1)):
        found = base_bounds_for(region, month)
        if found and (not bounds or bounds[-1][1:] != found):
            bounds.append((month, *found))
    return bounds
