"""What the tenant-isolation walk (tests/test_tenant_isolation.py) needs besides its tables.

- ``routes()``: every URL pattern of the project, through includes, with its parameters;
- ``request_parameters()``: the query-string and form parameters a view reads, found in the
  view's source (``request.GET.get("x")``, ``request.POST["x"]``, aliases of those) and in the
  fields of the forms it uses (``form_class`` and every ``...Form`` class its source names);
- ``make_unit()``: a unit with one object of every kind a URL or a parameter can name;
- ``unit_rows()``: everything of a unit in the database, to tell that a request changed nothing;
- ``body_text()``: a response's text, streamed files and XLSX (zip) contents included.
"""

from __future__ import annotations

import datetime
import inspect
import io
import itertools
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import models
from django.db.models import Q
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from employers.models import Agent, Employer, Role
from portal.identifiers import resident_id_check_char

PROJECT_APPS = ("portal", "employers", "enrollment", "contributions")
POSITIONAL = "(positional)"


# URLs ---------------------------------------------------------------------------------------


@dataclass
class Route:
    name: str  # "namespace:name", or the pattern for an unnamed URL
    parts: list  # the pattern objects from the root resolver down
    params: list[str]
    callback: object
    skipped_by: str = ""  # the include it came from when that include is not walked


def _walk(patterns, parts, namespace, skipped_by, skip_includes):
    for entry in patterns:
        here = [*parts, entry.pattern]
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            module = getattr(entry.urlconf_name, "__name__", None) or entry.app_name or ""
            why = skipped_by or (module if module in skip_includes else "")
            yield from _walk(entry.url_patterns, here, inner, why, skip_includes)
        elif isinstance(entry, URLPattern):
            params = []
            for p in here:
                params += list(p.regex.groupindex)
                params += [POSITIONAL] * (p.regex.groups - len(p.regex.groupindex))
            if entry.name:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
            else:
                name = "".join(str(p) for p in here)
            yield Route(name, here, params, entry.callback, skipped_by)


def routes(skip_includes=()) -> list[Route]:
    """Every URL of the root URLconf; those under an include named in ``skip_includes`` (its
    module, or its app name for the admin) carry that name in ``skipped_by``."""
    return list(_walk(get_resolver().url_patterns, [], "", "", set(skip_includes)))


def build_path(route: Route, values: dict) -> str:
    """The route's patterns turned into a path with the given parameter values."""
    url = ""
    for pattern in route.parts:
        text = str(pattern)
        if isinstance(pattern, RoutePattern):
            text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), text)
        else:
            text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), text)
            text = re.sub(r"\((?!\?)[^)]*\)", lambda m: str(values[POSITIONAL]), text)
            text = text.lstrip("^").rstrip("$").replace("\\", "")
        url += text
    return "/" + url


def view_of(callback):
    """The view class of a class-based view, else the undecorated function."""
    view = getattr(callback, "view_class", None)
    if view is not None:
        return view
    while hasattr(callback, "__wrapped__"):
        callback = callback.__wrapped__
    return callback


def view_methods(callback) -> list[str]:
    view = getattr(callback, "view_class", None)
    if view is None:
        return ["get", "post"]  # a function view: try both
    allowed = set(view.http_method_names)
    return [m for m in ("get", "post") if m in allowed and hasattr(view, m)]


# The parameters a view reads ------------------------------------------------------------------

READS = re.compile(
    r"""request\.(?:GET|POST|FILES)\s*(?:\.\s*(?:get|getlist|pop)\s*\(\s*|\[\s*)["'](\w+)["']"""
    r"""|["'](\w+)["']\s+(?:not\s+)?in\s+(?:self\.)?request\.(?:GET|POST|FILES)\b"""
)
# ``data = request.POST`` or ``source = self.request.POST if ... else self.request.GET``.
ALIAS = re.compile(r"^\s*(\w+)\s*=\s*(?:self\.)?request\.(?:GET|POST)\b(?!\s*\.)", re.MULTILINE)
FORM_NAME = re.compile(r"\b([A-Z]\w*Form)\b")
# ``self.fields[field_name(row)] = ...``: a field whose name is computed.
DYNAMIC_FIELD = re.compile(r"self\.fields\[\s*(?![\"'])[^\]]*\]\s*=(?!=)")


def _project_classes(cls) -> list[type]:
    return [c for c in cls.__mro__ if c.__module__.split(".")[0] in PROJECT_APPS]


def _sources(view) -> list[tuple[str, dict]]:
    """(source, module globals) of the view and of the project classes it inherits from."""
    items = _project_classes(view) if inspect.isclass(view) else [view]
    return [(inspect.getsource(item), vars(inspect.getmodule(item))) for item in items]


def _forms_of(view, sources) -> list[type[forms.BaseForm]]:
    found = []
    form_class = getattr(view, "form_class", None)
    if form_class is not None:
        found.append(form_class)
    for source, module in sources:
        for name in FORM_NAME.findall(source):
            candidate = module.get(name)
            if inspect.isclass(candidate) and issubclass(candidate, forms.BaseForm):
                found.append(candidate)
    return list(dict.fromkeys(found))


@dataclass
class ReadParameters:
    names: set[str] = field(default_factory=set)
    fields: dict[str, forms.Field] = field(default_factory=dict)  # those that are form fields
    # Forms that add fields at run time (``self.fields[name] = ...``): their field names
    # cannot be listed here, so the walk's table must say what they carry.
    dynamic_forms: set[str] = field(default_factory=set)


def request_parameters(callback) -> ReadParameters:
    """The query-string and form parameters the view behind ``callback`` reads."""
    view = view_of(callback)
    sources = _sources(view)
    result = ReadParameters()
    for source, _module in sources:
        aliases = set(ALIAS.findall(source))
        for match in READS.finditer(source):
            result.names.add(match.group(1) or match.group(2))
        for alias in aliases:
            pattern = rf"\b{alias}\s*\.\s*(?:get|getlist|pop)\s*\(\s*[\"'](\w+)[\"']"
            result.names.update(re.findall(pattern, source))
    for form_class in _forms_of(view, sources):
        result.names.update(form_class.base_fields)
        result.fields.update(form_class.base_fields)
        for cls in _project_classes(form_class):
            if DYNAMIC_FIELD.search(inspect.getsource(cls)):
                result.dynamic_forms.add(form_class.__name__)
    return result


# Units with one object of every kind ----------------------------------------------------------


@dataclass
class Unit:
    label: str
    employer: Employer
    agent: Agent
    objects: dict = field(default_factory=dict)
    markers: list[str] = field(default_factory=list)

    def __getattr__(self, name):
        try:
            return self.__dict__["objects"][name]
        except KeyError:
            raise AttributeError(name) from None


def resident_id(prefix: str, serial: int) -> str:
    """A valid resident ID number starting with ``prefix`` (a county code of the unit's own)."""
    birth = datetime.date(1980, 1, 1) + datetime.timedelta(days=serial)
    first17 = f"{prefix}{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + resident_id_check_char(first17)


_fresh = itertools.count(3001)


def fresh_resident_id(prefix: str = "110105") -> str:
    """A valid resident ID number no one in the database has yet."""
    return resident_id(prefix, next(_fresh))


def sms_code_for(*, purpose: str, phone: str) -> str:
    """A valid unused SMS code for the phone, as if the agent had asked for one and read it."""
    from portal.crypto import blind_index
    from portal.models import SmsCode
    from portal.smscodes import _code_hash

    code = "246810"
    SmsCode.objects.create(
        purpose=purpose,
        phone_index=blind_index("phone", phone),
        code_hash=_code_hash(purpose, phone, code),
        expires_at=timezone.now() + datetime.timedelta(minutes=5),
    )
    return code


def _xlsx_of(workbook_bytes: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(
        name,
        workbook_bytes,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def make_unit(label: str, *, region_code: str, county: str, victim: bool) -> Unit:
    """A unit (its own region) with an agent holding every role and one object of each kind.

    The victim's objects are in the state their actions need (a rejected registration and add
    filing to resubmit, an assessed bill to confirm, a confirmed one to pay ...), so that only
    the unit check stands between another unit's agent and them. The walker's own unit has
    nothing open that would refuse its own valid forms (its registration is approved, its
    declaration approved, its removal filing rejected).

    The unit's identifying strings (names, references, ID numbers, full and masked) go to
    ``markers``: none of them may appear in a page that another unit's agent is shown.
    """
    from contributions.declarations.selectors import declaration_periods, default_period
    from contributions.declarations.views import _payload_dump
    from contributions.models import (
        BaseDeclaration,
        BaseDeclarationLine,
        BillStatus,
        ContributionAccount,
        ContributionBase,
        ContributionProof,
        ExportJob,
        Payment,
        SandboxTaxOrder,
    )
    from contributions.policy.services import policy_seed_demo
    from employers.models import FaceVerificationSession, RegistrationApplication
    from enrollment.models import (
        AddEmployeeFiling,
        Attachment,
        BatchImport,
        EmploymentForm,
        RemovalReason,
        RemoveEmployeeFiling,
    )
    from portal.models import ReviewState
    from tests.contributions.bill_helpers import create_bill
    from tests.enrollment.add_helpers import pdf_bytes
    from tests.enrollment.enrolment_helpers import create_enrolment
    from tests.factories import RegionFactory, create_agent, create_employer

    serial = sum(label.encode())
    region = RegionFactory(code=region_code, name=f"{label}统筹区(测试)")
    policy_seed_demo(region=region)
    employer = create_employer(name=f"{label}隔离测试有限公司", region=region)
    agent = create_agent(
        employer=employer,
        roles=list(Role.values),
        name=f"{label}单位经办人",
        id_number=resident_id(county, serial),
    )
    unit = Unit(label, employer, agent)
    o = unit.objects
    ContributionAccount.objects.get_or_create(employer=employer)
    o["period"] = default_period(declaration_periods(region.pk))
    o["employment_form"] = EmploymentForm.objects.create(
        region=region, code=f"9{serial % 10}", name=f"{label}地方用工形式"
    )
    o["application"] = RegistrationApplication.objects.create(
        reference=f"ZC{region_code}{serial:06d}",
        account=employer.account,
        employer=employer,
        review_state=ReviewState.REJECTED if victim else ReviewState.APPROVED,
    )
    o["face_session"] = FaceVerificationSession.objects.create(
        token=f"face-{label.encode().hex()}",
        application=o["application"],
        provider="sandbox",
        id_number_index="x",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    enrolment = create_enrolment(
        employer,
        name=f"{label}单位职工",
        document_number=resident_id(county, serial + 1),
    )
    o["enrolment"], o["person"] = enrolment, enrolment.person
    ContributionBase.objects.create(enrolment=enrolment, period=o["period"], base=Decimal("9000"))
    # A second person, on the rejected add filing (whose enrolment rejection cancelled).
    added = create_enrolment(
        employer,
        name=f"{label}新增职工",
        status="cancelled",
        document_number=resident_id(county, serial + 2),
    )
    o["add_filing"] = AddEmployeeFiling.objects.create(
        reference=f"ZY{region_code}{serial:06d}",
        employer=employer,
        enrolment=added,
        submitted_by=agent,
        idempotency_key=uuid.uuid4(),
        review_state=ReviewState.REJECTED,
    )
    o["add_filing"].registration_form.save("form.pdf", ContentFile(pdf_bytes()), save=True)
    attachment = Attachment(
        filing=o["add_filing"],
        employer_id=employer.pk,
        kind=Attachment.Kind.ID_SCAN,
        original_name="scan.pdf",
        content_type="application/pdf",
        size=8,
        sha256="0" * 64,
    )
    attachment.file.save("scan.pdf", ContentFile(pdf_bytes()), save=True)
    o["attachment"] = attachment
    o["removal_filing"] = RemoveEmployeeFiling.objects.create(
        reference=f"JY{region_code}{serial:06d}",
        employer=employer,
        enrolment=enrolment,
        submitted_by=agent,
        idempotency_key=uuid.uuid4(),
        reason=RemovalReason.CONTRACT_ENDED,
        last_contribution_month=timezone.localdate().replace(day=1),
        review_state=ReviewState.SUBMITTED if victim else ReviewState.REJECTED,
    )
    batch = BatchImport.objects.create(
        reference=f"PL{region_code}{serial:06d}",
        employer=employer,
        submitted_by=agent,
        original_name="增员.xlsx",
        file_sha256="0" * 64,
        status=BatchImport.Status.DONE,
        total_rows=1,
        processed_rows=1,
        created_count=1,
        finished_at=timezone.now(),
    )
    batch.file.save("in.xlsx", ContentFile(b"PK"), save=False)
    batch.report.save("report.xlsx", ContentFile(b"PK"), save=True)
    o["batch"] = batch
    declaration = BaseDeclaration.objects.create(
        reference=f"JS{region_code}{serial:06d}",
        employer=employer,
        period=o["period"],
        submitted_by=agent,
        source=BaseDeclaration.Source.SCREEN,
        idempotency_key=uuid.uuid4(),
        review_state=ReviewState.SUBMITTED if victim else ReviewState.APPROVED,
    )
    BaseDeclarationLine.objects.create(
        declaration=declaration,
        enrolment=enrolment,
        declared_base=Decimal("9000"),
        wage=Decimal("9000"),
    )
    o["declaration"] = declaration
    # Bills in the state each action takes: confirm an assessed one, pay a confirmed one.
    o["assessed_bill"] = create_bill(employer, datetime.date(2026, 7, 1), [enrolment])
    o["confirmed_bill"] = create_bill(
        employer, datetime.date(2026, 8, 1), [enrolment], status=BillStatus.CONFIRMED
    )
    o["payment"] = Payment.objects.create(
        reference=f"JF{region_code}{serial:06d}",
        bill=o["confirmed_bill"],
        employer=employer,
        amount=o["confirmed_bill"].total,
        status=Payment.Status.DEBITED,
        bank_reference=f"{label}BANK{serial:06d}",
        requested_by=agent,
        idempotency_key=uuid.uuid4(),
    )
    # The sandbox 电子税务局's claim of the confirmed bill (what its page lists and pays).
    o["sandbox_tax_order"] = SandboxTaxOrder.objects.create(
        idempotency_key=o["confirmed_bill"].reference,
        employer=employer,
        bill_reference=o["confirmed_bill"].reference,
        voucher_number=f"YZ{region_code}{serial:06d}",
        month=o["confirmed_bill"].month,
        amount=o["confirmed_bill"].total,
        due_on=o["confirmed_bill"].due_on,
    )
    job = ExportJob.objects.create(
        reference=f"DC{region_code}{serial:06d}",
        employer=employer,
        requested_by=agent,
        kind=ExportJob.Kind.ROSTER,
        format=ExportJob.Format.CSV,
        status=ExportJob.Status.DONE,
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    job.file.save("roster.csv", ContentFile(f"\ufeff姓名\n{enrolment.person.name}\n".encode()))
    o["export_job"] = job
    proof = ContributionProof(
        code=f"PRF{region_code}{serial:06d}"[:16],
        kind=ContributionProof.Kind.PERSON,
        employer=employer,
        person=enrolment.person,
        month_from=datetime.date(2026, 7, 1),
        month_to=datetime.date(2026, 8, 1),
        content={"unit": {"name": employer.name}},
        created_by=agent,
    )
    proof.pdf.save("proof.pdf", ContentFile(pdf_bytes()), save=True)
    o["proof"] = proof
    o["search_token"] = search_token_of(agent, enrolment.person)
    # What the declaration upload gives back for its confirm step (signed for this unit).
    o["upload_payload"] = _payload_dump(
        agent=agent,
        period=o["period"],
        key=uuid.uuid4(),
        lines=[(2, enrolment.pk, Decimal("99999"))],
    )
    o["change_filing"] = _change_filing(employer, agent, serial, region_code, victim=victim)
    o["question"], o["question_file"] = _question(employer, agent, label, serial, region_code)
    o["inbox_message"] = _inbox_message(employer, label, o["question"])
    o.update(_benefit_claims(employer, agent, enrolment, label, serial, region_code, victim=victim))
    o.update(
        _life_cycle(employer, agent, enrolment, label, serial, region_code, county, victim=victim)
    )
    o.update(_backpay(employer, agent, label, resident_id(county, serial + 4), victim=victim))
    unit.markers = [
        employer.name,
        employer.account.uscc,
        employer.account.ss_number,
        agent.name,
        agent.id_number,
        agent.masked_id_number,
        agent.phone,
        enrolment.person.name,
        enrolment.person.document_number,
        enrolment.person.masked_document_number,
        added.person.name,
        added.person.document_number,
        added.person.masked_document_number,
        o["application"].reference,
        o["face_session"].token,
        o["add_filing"].reference,
        o["removal_filing"].reference,
        batch.reference,
        declaration.reference,
        o["assessed_bill"].reference,
        o["confirmed_bill"].reference,
        o["payment"].reference,
        o["payment"].bank_reference,
        job.reference,
        proof.code,
        o["employment_form"].name,
        o["change_filing"].reference,
        o["question"].reference,
        o["question"].subject,
        o["inbox_message"].title,
        o["maternity_claim"].reference,
        o["recognition"].reference,
        o["recognition"].place,
        o["injury_claim"].reference,
        o["ended_enrolment"].person.name,
        o["ended_enrolment"].person.document_number,
        o["ended_enrolment"].person.masked_document_number,
        o["resume_filing"].reference,
        o["person_change"].reference,
        o["person_change"].name,
        o["backpay"].reference,
        o["backpay_enrolment"].person.name,
        o["backpay_enrolment"].person.document_number,
        o["backpay_enrolment"].person.masked_document_number,
    ]
    return unit


def backpay_month() -> datetime.date:
    """The month a 补缴申请 is for: before the late joiner's enrolment, after employment began."""
    from contributions.common import add_months, month_start

    return add_months(month_start(timezone.localdate()), -3)


def _backpay(employer, agent, label, document_number, *, victim: bool):
    """补缴申请: a late joiner (working since 4 months ago, enrolled from last month) and an
    application for one missed month with its proof. The victim's is open; the walker's own is
    rejected, so that its own valid form may apply for the same month again."""
    from contributions.common import add_months
    from contributions.models import BackPayApplication, BackPayAttachment, BackPayMonth
    from enrollment.models import Enrolment
    from portal.models import ReviewState
    from tests.enrollment.add_helpers import pdf_bytes
    from tests.enrollment.enrolment_helpers import create_enrolment

    month = backpay_month()
    enrolment = create_enrolment(
        employer,
        name=f"{label}补缴职工",
        document_number=document_number,
        start_month=add_months(month, 2),
    )
    Enrolment.objects.filter(pk=enrolment.pk).update(employment_start=add_months(month, -1))
    enrolment.refresh_from_db()
    application = BackPayApplication.objects.create(
        reference=f"BJ{employer.region.code}{sum(label.encode()):06d}",
        employer=employer,
        enrolment=enrolment,
        submitted_by=agent,
        idempotency_key=uuid.uuid4(),
        review_state=ReviewState.SUBMITTED if victim else ReviewState.REJECTED,
        review_region=employer.region,
        reason=f"{label}入职后未及时参保",
        computed_on=timezone.localdate(),
        window_months=36,
        contribution_total=Decimal("2960.00"),
        late_fee_total=Decimal("100.00"),
        total=Decimal("3060.00"),
    )
    BackPayMonth.objects.create(
        application=application,
        person=enrolment.person,
        month=month,
        base=Decimal("9000"),
        employer_amount=Decimal("2100.00"),
        personal_amount=Decimal("860.00"),
        due_on=add_months(month, 1).replace(day=15),
        late_days=68,
        late_fee=Decimal("100.00"),
    )
    attachment = BackPayAttachment(
        employer_id=employer.pk,
        application=application,
        kind=BackPayAttachment.Kind.EMPLOYMENT_PROOF,
        original_name="劳动合同.pdf",
        content_type="application/pdf",
        size=8,
        sha256="0" * 64,
    )
    attachment.file.save("contract.pdf", ContentFile(pdf_bytes()), save=True)
    return {
        "backpay": application,
        "backpay_attachment": attachment,
        "backpay_enrolment": enrolment,
    }


def _life_cycle(employer, agent, enrolment, label, serial, region_code, county, *, victim: bool):
    """续保 and 个人信息变更: a person whose enrolment ended (so that it may be resumed), a 续保
    of it that was rejected (so that it may be corrected and resubmitted; its enrolment is
    cancelled, so a new 续保 is allowed too), and a change of the unit's employee with its
    proof: the victim's under review, the walker's own rejected (so that none is open)."""
    from enrollment.models import (
        AddEmployeeFiling,
        Enrolment,
        PersonChangeAttachment,
        PersonChangeFiling,
    )
    from portal.models import ReviewState
    from tests.enrollment.add_helpers import pdf_bytes
    from tests.enrollment.enrolment_helpers import create_enrolment

    this_month = timezone.localdate().replace(day=1)
    two_months_ago = (this_month - datetime.timedelta(days=40)).replace(day=1)
    ended = create_enrolment(
        employer,
        name=f"{label}续保职工",
        status=Enrolment.Status.TERMINATED,
        document_number=resident_id(county, serial + 3),
    )
    ended.last_contribution_month = two_months_ago
    ended.ended_on = this_month - datetime.timedelta(days=1)
    ended.save()
    resumed = Enrolment.objects.create(
        person=ended.person,
        employer=employer,
        employment_form=ended.employment_form,
        insurance_codes=list(ended.insurance_codes),
        start_month=this_month,
        contribution_base=Decimal("9000"),
        status=Enrolment.Status.CANCELLED,
        resumed_from=ended,
    )
    resume_filing = AddEmployeeFiling.objects.create(
        reference=f"ZX{region_code}{serial:06d}",
        employer=employer,
        enrolment=resumed,
        submitted_by=agent,
        idempotency_key=uuid.uuid4(),
        review_state=ReviewState.REJECTED,
        review_region=employer.region,
    )
    change = PersonChangeFiling.objects.create(
        reference=f"GR{region_code}{serial:06d}",
        employer=employer,
        submitted_by=agent,
        idempotency_key=uuid.uuid4(),
        person=enrolment.person,
        enrolment=enrolment,
        name=f"{label}改名职工",
        phone=f"1370000{serial % 10000:04d}",
        hukou_type=enrolment.person.hukou_type,
        employment_form=enrolment.employment_form,
        changed_fields=["name", "phone"],
        previous={"name": enrolment.person.name, "phone": "", "hukou_type": "local_urban"},
        reason="隔离测试的变更原因",
        review_state=ReviewState.SUBMITTED if victim else ReviewState.REJECTED,
        review_region=employer.region,
    )
    proof = PersonChangeAttachment(
        filing=change,
        employer_id=employer.pk,
        original_name="户口簿.pdf",
        content_type="application/pdf",
        size=8,
        sha256="0" * 64,
    )
    proof.file.save("proof.pdf", ContentFile(pdf_bytes()), save=True)
    return {
        "ended_enrolment": ended,
        "resume_filing": resume_filing,
        "person_change": change,
        "person_change_file": proof,
    }


def _benefit_claims(employer, agent, enrolment, label, serial, region_code, *, victim: bool):
    """待遇申领: a maternity claim with its proof, an approved 工伤认定 (so that a 工伤待遇 claim
    may be filed for it) and a 工伤待遇 claim with a receipt. The victim's claims are open; the
    walker's own are rejected, so that its own valid forms are not refused as repeats. The
    region has its average wages, so that the walker's 工伤待遇 form is open."""
    from contributions.models import (
        BenefitAttachment,
        InjuryClaim,
        InjuryRecognition,
        MaternityClaim,
        MedicalReceipt,
        RegionalAverageWage,
    )
    from portal.models import ReviewState
    from tests.enrollment.add_helpers import pdf_bytes

    now = timezone.now()
    state = ReviewState.SUBMITTED if victim else ReviewState.REJECTED
    for year in {now.year, (now - datetime.timedelta(days=60)).year}:
        RegionalAverageWage.objects.get_or_create(
            region=employer.region, year=year, defaults={"monthly_wage": Decimal("10000")}
        )
    shared = {"employer": employer, "enrolment": enrolment, "submitted_by": agent}
    maternity = MaternityClaim.objects.create(
        reference=f"SY{region_code}{serial:06d}",
        idempotency_key=uuid.uuid4(),
        review_state=state,
        review_region=employer.region,
        event_date=timezone.localdate() - datetime.timedelta(days=100),
        kind="birth",
        wage_source="bases",
        unit_average_wage=Decimal("9000"),
        divisor=Decimal("30"),
        days=98,
        amount=Decimal("29400.00"),
        **shared,
    )
    attachment = BenefitAttachment(
        employer_id=employer.pk,
        maternity_claim=maternity,
        kind=BenefitAttachment.Kind.BIRTH_CERTIFICATE,
        original_name="出生医学证明.pdf",
        content_type="application/pdf",
        size=8,
        sha256="0" * 64,
    )
    attachment.file.save("proof.pdf", ContentFile(pdf_bytes()), save=True)
    recognition = InjuryRecognition.objects.create(
        reference=f"GS{region_code}{serial:06d}",
        idempotency_key=uuid.uuid4(),
        review_state=ReviewState.APPROVED,
        review_region=employer.region,
        accident_at=now - datetime.timedelta(days=60),
        place=f"{label}单位的车间",
        description="搬运货物时扭伤腰部",
        **shared,
    )
    claim = InjuryClaim.objects.create(
        reference=f"GD{region_code}{serial:06d}",
        idempotency_key=uuid.uuid4(),
        review_state=state,
        review_region=employer.region,
        recognition=recognition,
        disability_level=9,
        own_wage=Decimal("9000"),
        own_wage_months=2,
        wage_year=recognition.accident_at.year,
        regional_average_wage=Decimal("10000"),
        bounded_wage=Decimal("9000"),
        lump_sum=Decimal("81000.00"),
        medical_total=Decimal("1200.50"),
        **shared,
    )
    MedicalReceipt.objects.create(
        claim=claim,
        number=f"PJ{serial:06d}",
        issued_on=timezone.localdate() - datetime.timedelta(days=50),
        amount=Decimal("1200.50"),
    )
    return {
        "maternity_claim": maternity,
        "benefit_attachment": attachment,
        "recognition": recognition,
        "injury_claim": claim,
    }


def _question(employer, agent, label: str, serial: int, region_code: str):
    """An answered 留言板 question (a follow-up would reopen it) whose first message carries a
    PDF; returns the question and that message."""
    from employers.models import Question, QuestionMessage, QuestionTopic
    from tests.enrollment.add_helpers import pdf_bytes

    question = Question.objects.create(
        reference=f"LY{region_code}{serial:06d}",
        employer=employer,
        agent=agent,
        region=employer.region,
        topic=QuestionTopic.OTHER,
        subject=f"{label}单位的留言标题",
        state=Question.State.ANSWERED,
        idempotency_key=uuid.uuid4(),
        due_at=timezone.now() + datetime.timedelta(days=2),
        answered_at=timezone.now(),
    )
    message = QuestionMessage(question=question, agent=agent, text=f"{label}单位的留言内容")
    message.attachment_name, message.attachment_type = "截图.pdf", "application/pdf"
    message.attachment.save("shot.pdf", ContentFile(pdf_bytes()), save=True)
    return question, message


def _inbox_message(employer, label: str, question):
    """An unread inbox message to the whole unit."""
    from portal.models import InboxCategory, InboxMessage

    return InboxMessage.objects.create(
        employer_id=employer.pk,
        category=InboxCategory.ANSWER,
        template="question_answered",
        title=f"{label}单位的站内消息",
        body=f"{label}单位的站内消息全文",
        reference=question.reference,
    )


def _change_filing(employer, agent, serial: int, region_code: str, *, victim: bool):
    """A bank change: the victim's awaits the amount of a transfer that has arrived (so that
    entering it or withdrawing would work); the walker's own is withdrawn, so none is open."""
    from employers.models import PennyDropTransfer, UnitChangeFiling

    filing = UnitChangeFiling.objects.create(
        reference=f"BG{region_code}{serial:06d}",
        employer=employer,
        submitted_by=agent,
        kind=UnitChangeFiling.Kind.BANK,
        stage=(
            UnitChangeFiling.Stage.AWAITING_VERIFICATION
            if victim
            else UnitChangeFiling.Stage.CANCELLED
        ),
        idempotency_key=uuid.uuid4(),
        bank_name="隔离测试银行",
        bank_account=f"62220202{serial:010d}",
        bank_account_name=employer.name,
        review_region=employer.region,
    )
    PennyDropTransfer.objects.create(
        change_filing=filing,
        amount_fen=37,
        memo_code="4821",
        bank_reference=f"SBX{region_code}{serial:06d}",
        arrives_on=timezone.localdate() - datetime.timedelta(days=1),
        expires_at=timezone.now() + datetime.timedelta(days=6),
        state=PennyDropTransfer.State.SENT if victim else PennyDropTransfer.State.EXPIRED,
    )
    return filing


def search_token_of(agent: Agent, person) -> str:
    """A search for the person's full ID number (and id), kept in a session of the agent's as
    the search pages keep it (portal.search_tokens); the token of its results page."""
    from importlib import import_module

    from django.conf import settings
    from django.test import RequestFactory

    from portal.search_tokens import search_token_create

    request = RequestFactory().get("/")
    request.user = agent.user
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    token = search_token_create(request, {"q": person.document_number, "person": str(person.pk)})
    request.session.save()
    return token


def declaration_template_upload(unit: Unit):
    """The unit's own filled-in declaration template (full ID numbers, enrolment ids)."""
    from contributions.declarations.excel import template_workbook
    from contributions.declarations.selectors import declaration_rows

    rows = declaration_rows(agent=unit.agent, period=unit.period)
    data = template_workbook(rows=rows, period=unit.period, full_ids=True)
    return _xlsx_of(data, "缴费基数申报.xlsx")


def batch_upload(name: str, document_number: str):
    """A batch import file with one row: this person (name, full ID number), else valid."""
    from openpyxl import Workbook

    from enrollment.batch.template import DATA_SHEET, HEADERS

    today = timezone.localdate()
    row = {
        "姓名": name,
        "证件类型": "居民身份证",
        "证件号码": document_number,
        "国籍": "中国",
        "户籍类型": "本市城镇",
        "手机号": "13900001111",
        "用工形式": "城镇合同制职工",
        "参保险种": "110,210,310,410",
        "参保起始年月": f"{today:%Y-%m}",
        "用工日期": today.replace(day=1).isoformat(),
        "月缴费工资": "9000",
    }
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = DATA_SHEET
    sheet.append(list(HEADERS))
    sheet.append([row.get(header) for header in HEADERS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _xlsx_of(buffer.getvalue(), "增员名单.xlsx")


# The database rows of a unit ------------------------------------------------------------------


def _unit_filter(model, unit: Unit, persons, agents, users):
    """A filter for the rows of ``model`` that are the unit's or point at something of the
    unit's (its employer, a row of its, one of its persons, agents or users); None: no path."""
    from enrollment.models import Person

    if model is Employer:
        return Q(pk=unit.employer.pk)
    if model is Person:
        return Q(pk__in=persons)
    condition = Q()
    for f in model._meta.concrete_fields:
        if f.attname == "employer_id":
            condition |= Q(employer_id=unit.employer.pk)
        if not isinstance(f, models.ForeignKey):
            continue
        target = f.related_model
        if target is Person:
            condition |= Q(**{f"{f.attname}__in": persons})
        elif target is Agent:
            condition |= Q(**{f"{f.attname}__in": agents})
        elif target is get_user_model():
            condition |= Q(**{f"{f.attname}__in": users})
        elif any(g.attname == "employer_id" for g in target._meta.concrete_fields):
            condition |= Q(**{f"{f.name}__employer_id": unit.employer.pk})
    return condition or None


def unit_rows(unit: Unit) -> dict[str, list[dict]]:
    """Every row of the unit and every row that points at something of the unit's, through
    one foreign key, in every model of the project (and the users behind its agents)."""
    from enrollment.models import Enrolment

    persons = list(
        Enrolment.objects.filter(employer=unit.employer).values_list("person_id", flat=True)
    )
    agents = list(Agent.objects.filter(employer=unit.employer).values_list("pk", flat=True))
    users = list(Agent.objects.filter(employer=unit.employer).values_list("user_id", flat=True))
    rows = {}
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        condition = _unit_filter(model, unit, persons, agents, users)
        if condition is None:
            continue
        queryset = model._default_manager.filter(condition)
        rows[model._meta.label] = list(queryset.order_by("pk").values())
    rows["auth.User"] = list(get_user_model().objects.filter(pk__in=users).order_by("pk").values())
    return rows


def rows_changed(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after.get(label)]


# Responses ------------------------------------------------------------------------------------


def body_text(response) -> str:
    """The response's content as text; a zip (XLSX) is read member by member."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    if raw[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                return "\n".join(
                    archive.read(name).decode(errors="replace") for name in archive.namelist()
                )
        except zipfile.BadZipFile:
            pass
    return raw.decode(errors="replace")
