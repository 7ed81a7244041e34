"""A unit with settled and unsettled bills, for the 参保缴费证明 tests.

Hand-checked figures (base 8,000.00; 养老 16 %/8 %, 医疗 9.8 %/2 %, 失业 0.5 %/0.5 %, 工伤 class 1
0.2 %/—, all exact to the cent) per person and month:
  养老 1,280.00 + 640.00, 医疗 784.00 + 160.00, 失业 40.00 + 40.00, 工伤 16.00 + 0.00
  → 单位 2,120.00, 个人 840.00, 合计 2,960.00.
Bills: 2026-07 and 2026-08 已到账, 2026-09 已核定 (not settled), 2026-10 none.
"""

from __future__ import annotations

import datetime
import io
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from pypdf import PdfReader
from reportlab.graphics.barcode import qrencoder

from contributions.models import BillStatus, ContributionBase, PolicyPeriod
from employers.models import Agent, Employer, Role
from enrollment.models import Enrolment, Person
from portal.crypto import blind_index
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.enrollment.enrolment_helpers import create_enrolment, unique_resident_id
from tests.factories import create_agent

JUL, AUG, SEP, OCT = (datetime.date(2026, month, 1) for month in (7, 8, 9, 10))
PERSON_NAME = "欧阳明月"
PERSON_NUMBER = "11010519900307001X"
PERSON_MASKED_NAME = "欧**月"
PERSON_MASKED_NUMBER = "110105********001X"


@dataclass
class ProofUnit:
    employer: Employer
    agent: Agent  # 信息查询员 only: proofs.print without any other business
    staff: list[Enrolment]
    person: Enrolment  # 欧阳明月 (in the first unit of a test), one of the staff
    period: PolicyPeriod


def proof_unit(*, staff: int = 2, period: PolicyPeriod | None = None) -> ProofUnit:
    """A unit as described above; a second unit in one test passes the first one's period."""
    employer, _admin, period, enrolments = create_unit_with_staff(staff, period=period)
    first = not Person.objects.filter(document_index=blind_index("document_number", PERSON_NUMBER))
    person = create_enrolment(
        employer,
        name=PERSON_NAME if first else "另一人",
        document_number=PERSON_NUMBER if first else unique_resident_id(),
        start_month=datetime.date(2024, 1, 1),
    )
    ContributionBase.objects.create(enrolment=person, period=period, base=Decimal("8000.00"))
    enrolments.append(person)
    for month in (JUL, AUG):
        create_bill(employer, month, enrolments, status=BillStatus.SETTLED)
    create_bill(employer, SEP, enrolments, status=BillStatus.ASSESSED)
    agent = create_agent(employer, roles=[Role.QUERIES], name="查询经办人")
    return ProofUnit(employer, agent, enrolments, person, period)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def pdf_link_uris(data: bytes) -> list[str]:
    uris = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action and action.get("/URI"):
                uris.append(str(action["/URI"]))
    return uris


RECT = re.compile(r"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) re")


def pdf_qr_modules(data: bytes) -> set[tuple[int, int]]:
    """The dark modules of the QR code drawn in the PDF, read back from its rectangles.

    The QR code is drawn as one rectangle per run of dark modules, all one module high: the
    most common rectangle height on the page that holds it is the module size.
    """
    for page in PdfReader(io.BytesIO(data)).pages:
        # The page with the QR code's link (the signature's widget may be on another page).
        annotations = [annotation.get_object() for annotation in page.get("/Annots") or []]
        if not any(annotation.get("/Subtype") == "/Link" for annotation in annotations):
            continue
        stream = page.get_contents().get_data().decode("latin-1")
        rects = [tuple(float(v) for v in match.groups()) for match in RECT.finditer(stream)]
        box = Counter(round(h, 2) for *_, h in rects).most_common(1)[0][0]
        runs = [(x, y, w) for x, y, w, h in rects if round(h, 2) == box]
        left = min(x for x, _y, _w in runs)
        top = max(y for _x, y, _w in runs)
        cells = set()
        for x, y, w in runs:
            row, col = round((top - y) / box), round((x - left) / box)
            cells.update((row, col + k) for k in range(round(w / box)))
        return cells
    return set()


def qr_expected_modules(text: str) -> set[tuple[int, int]]:
    """The dark modules a QR code of ``text`` has (same encoder, error correction level M)."""
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.make()
    return {(r, c) for r, row in enumerate(code.modules) for c, dark in enumerate(row) if dark}
