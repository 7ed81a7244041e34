"""Tenant isolation: no URL the project defines lets an agent of unit A reach unit B's data.

The walk takes every pattern from the URL resolver, so a new URL is covered the day it is added.
Path parameters are filled with objects of unit B; a parameter this file does not know fails the
test with a message saying where to add it.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from employers.models import Agent, FaceVerificationSession, RegistrationApplication, Role
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

POSITIONAL = "(positional)"

# Parameters that name an object of a unit: filled with unit B's object.
UNIT_B_PARAMS = {
    "agent_id": lambda b: b.agent.pk,
    "reference": lambda b: b.application.reference,
    "token": lambda b: b.face_session.token,
    "enrolment_id": lambda b: unit_enrolment(b).pk,
    "attachment_id": lambda b: unit_attachment(b).pk,
    "declaration_reference": lambda b: unit_declaration(b).reference,
    "proof_id": lambda b: unit_proof(b).pk,
    "bill_reference": lambda b: unit_bill(b).reference,
    "export_reference": lambda b: unit_export_job(b).reference,
    # The admin's generic object parameters.
    "object_id": lambda b: b.agent.pk,
    "id": lambda b: b.agent.user_id,
    "pk": lambda b: b.agent.pk,
    # An unnamed regex group (django-simple-history's admin views): taken to name an object.
    POSITIONAL: lambda b: b.agent.pk,
}

# Parameters that name no unit's data: any valid value will do.
PLAIN_PARAMS = {
    "step": lambda b: "unit",
    "key": lambda b: "0" * 40,
    "path": lambda b: "nothing.txt",
    "app_label": lambda b: "employers",
    "content_type_id": lambda b: ContentType.objects.get_for_model(Agent).pk,
    "url": lambda b: "no-such-page/",
}

# Public pages, not walked: they serve visitors and hold no unit's data.
PUBLIC = {
    "home": "the public landing page",
    "healthz": "health endpoint: database, cache and broker status only",
    "set_language": "switches the interface language",
    "employers:register": "registration wizard: works on the visitor's own draft in the session",
    "employers:register_step": "registration wizard: works on the visitor's own draft",
    "employers:register_confirm": "registration wizard: works on the visitor's own draft",
    "accounts:login": "login page",
    "accounts:login_ca": "CA-certificate login page",
    "accounts:logout": "ends the caller's own session",
    "accounts:password_forgot": "password recovery: never reveals whether an account exists",
    "accounts:password_reset": "password recovery, second step: bound to the caller's session",
    "captcha-image": "captcha image of django-simple-captcha: a random key, no unit data",
    "captcha-image-2x": "captcha image (high resolution)",
    "captcha-audio": "captcha audio",
    "captcha-refresh": "a new captcha",
    "verification:face_callback": "the face provider's callback, authenticated by its signature",
    "verification:sandbox_face": (
        "plays the face provider in development only (SANDBOX_PROVIDERS, off in production); "
        "its random token is the capability, as at the real provider"
    ),
    "verification:sandbox_bank": "plays the bank in development only (SANDBOX_PROVIDERS)",
    "proof_public:form": "public proof check: a form for a verification code, no unit data",
    "proof_public:check": (
        "public proof check: shows a proof only to whoever holds its 79-bit code (what a QR on "
        "the paper gives), with the person's data masked; rate-limited per address"
    ),
}

REFUSED = {403, 404}


@dataclass
class Unit:
    agent: Agent
    application: RegistrationApplication
    face_session: FaceVerificationSession
    markers: list[str]


@dataclass
class Route:
    display: str  # the URL name, or the pattern for an unnamed URL
    parts: list  # (pattern object) from the root resolver down
    params: list[str]
    callback: object


def walk(patterns, parts=(), namespace=""):
    for entry in patterns:
        here = [*parts, entry.pattern]
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(entry.url_patterns, here, inner)
        elif isinstance(entry, URLPattern):
            params = []
            for p in here:
                params += list(p.regex.groupindex)
                params += [POSITIONAL] * (p.regex.groups - len(p.regex.groupindex))
            if entry.name:
                display = f"{namespace}:{entry.name}" if namespace else entry.name
            else:
                display = "".join(str(p) for p in here)
            yield Route(display, here, params, entry.callback)


def all_routes() -> list[Route]:
    return list(walk(get_resolver().url_patterns))


def build(route: Route, values: dict[str, str]) -> str:
    """Turn the route's patterns into a concrete path with the given parameter values."""
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


def make_unit(label: str) -> Unit:
    employer = create_employer(name=f"{label}隔离测试有限公司")
    agent = create_agent(employer=employer, roles=list(Role.values), name=f"{label}单位经办人")
    application = RegistrationApplication.objects.create(
        reference=f"ZC{label.encode().hex().upper()[:10]}X",
        account=employer.account,
        employer=employer,
    )
    face_session = FaceVerificationSession.objects.create(
        token=f"face-{label.encode().hex()}",
        application=application,
        provider="sandbox",
        id_number_index="x",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    return Unit(
        agent,
        application,
        face_session,
        markers=[employer.name, agent.name, application.reference, agent.masked_id_number],
    )


def unit_enrolment(unit: Unit):
    """An active enrolment of the unit's (made once), for the roster and 减员 URLs."""
    if not hasattr(unit, "enrolment"):
        from tests.enrollment.enrolment_helpers import create_enrolment

        unit.enrolment = create_enrolment(unit.agent.employer, name=f"{unit.agent.name}的职工")
        unit.markers += [unit.enrolment.person.name, unit.enrolment.person.masked_document_number]
    return unit.enrolment


def unit_export_job(unit: Unit):
    """A finished export job of the unit's, with a file (made once)."""
    if not hasattr(unit, "export_job"):
        from django.core.files.base import ContentFile

        from contributions.models import ExportJob

        unit.export_job = ExportJob.objects.create(
            reference=f"DC{unit.application.reference[2:]}",
            employer=unit.agent.employer,
            requested_by=unit.agent,
            kind=ExportJob.Kind.ROSTER,
            format=ExportJob.Format.CSV,
            status=ExportJob.Status.DONE,
            expires_at=timezone.now() + datetime.timedelta(days=7),
        )
        unit.export_job.file.save("roster.csv", ContentFile(b"\xef\xbb\xbfname\n"), save=True)
        unit.markers.append(unit.export_job.reference)
    return unit.export_job


def unit_proof(unit: Unit):
    """A 参保缴费证明 of the unit's (made once), for the 打印证明 URLs."""
    if not hasattr(unit, "proof"):
        from django.core.files.base import ContentFile

        from contributions.models import ContributionProof

        unit.proof = ContributionProof(
            code=f"PRF{unit.application.reference[2:]}"[:16].upper(),
            kind=ContributionProof.Kind.UNIT,
            employer=unit.agent.employer,
            month_from=datetime.date(2026, 1, 1),
            month_to=datetime.date(2026, 6, 1),
            content={"unit": {"name": unit.agent.employer.name}},
            created_by=unit.agent,
        )
        unit.proof.pdf.save("proof.pdf", ContentFile(b"%PDF-1.4"), save=True)
        unit.markers.append(unit.proof.code)
    return unit.proof


def unit_declaration(unit: Unit):
    """A 缴费基数申报 of the unit's for its one employee (made once)."""
    if not hasattr(unit, "declaration"):
        import uuid
        from decimal import Decimal

        from contributions.models import BaseDeclaration, BaseDeclarationLine, PolicyPeriod

        employer = unit.agent.employer
        period = PolicyPeriod.objects.filter(region=employer.region).first()
        if period is None:
            from tests.contributions.factories import make_period

            period = make_period(employer.region)
        unit.declaration = BaseDeclaration.objects.create(
            reference=f"JS{unit.application.reference[2:]}",
            employer=employer,
            period=period,
            submitted_by=unit.agent,
            source=BaseDeclaration.Source.SCREEN,
            idempotency_key=uuid.uuid4(),
        )
        BaseDeclarationLine.objects.create(
            declaration=unit.declaration,
            enrolment=unit_enrolment(unit),
            declared_base=Decimal("9000"),
            wage=Decimal("9000"),
        )
        unit.markers.append(unit.declaration.reference)
    return unit.declaration


def unit_attachment(unit: Unit):
    """An attachment of an add-employee filing of the unit's (made once)."""
    if not hasattr(unit, "attachment"):
        import uuid

        from django.core.files.base import ContentFile

        from enrollment.models import AddEmployeeFiling, Attachment

        employer = unit.agent.employer
        filing = AddEmployeeFiling.objects.create(
            reference=f"ZY{unit.application.reference[2:]}",
            employer=employer,
            enrolment=unit_enrolment(unit),
            submitted_by=unit.agent,
            idempotency_key=uuid.uuid4(),
        )
        unit.attachment = Attachment(
            filing=filing,
            employer_id=employer.pk,
            kind=Attachment.Kind.ID_SCAN,
            original_name="scan.pdf",
            content_type="application/pdf",
            size=8,
            sha256="0" * 64,
        )
        unit.attachment.file.save("scan.pdf", ContentFile(b"%PDF-1.4"), save=True)
        unit.markers.append(filing.reference)
    return unit.attachment


def unit_bill(unit: Unit):
    """A monthly bill of the unit's (made once), for the 月度核定 and 缴费确认 URLs."""
    if not hasattr(unit, "bill"):
        from contributions.models import PolicyPeriod
        from tests.contributions.bill_helpers import create_bill
        from tests.contributions.factories import make_period

        employer = unit.agent.employer
        month = datetime.date(2026, 7, 1)
        if not PolicyPeriod.objects.filter(
            region=employer.region, starts_on__lte=month, ends_on__gte=month
        ).exists():
            make_period(employer.region)
        unit.bill = create_bill(employer, month, [unit_enrolment(unit)])
        unit.markers.append(unit.bill.reference)
    return unit.bill


@pytest.fixture
def units():
    a, b = make_unit("甲"), make_unit("乙")
    unit_enrolment(b)  # B employs someone, so that the roster pages are checked for leaks
    unit_attachment(b)  # and has an add filing, so that the filing lists are checked too
    unit_declaration(b)  # and a base declaration, for the declaration list
    unit_proof(b)  # and an issued proof, so that the proof list is checked too
    unit_bill(b)  # and a monthly bill, so that the bill lists are checked too
    return a, b


def accepts_post(callback) -> bool:
    view_class = getattr(callback, "view_class", None)
    if view_class is None:
        return True  # a function view: try it
    return hasattr(view_class, "post") and "post" in view_class.http_method_names


def reveals(location: str, b: Unit, values: dict) -> bool:
    """Tell whether a redirect target shows unit B's data (the login's ?next= echoes the ask)."""
    path = urlsplit(location).path
    segments = set(path.strip("/").split("/"))
    leaked = {str(values[name]) for name in values if name in UNIT_B_PARAMS}
    return bool(segments & leaked) or any(marker in path for marker in b.markers)


def unknown_params_message(route: Route) -> str | None:
    unknown = [p for p in route.params if p not in UNIT_B_PARAMS and p not in PLAIN_PARAMS]
    if not unknown:
        return None
    return (
        f"URL {route.display} has path parameter(s) {unknown} that the tenant-isolation walk "
        "does not know: add each to UNIT_B_PARAMS (it names an object of a unit: give unit B's) "
        "or PLAIN_PARAMS (it names no unit's data) in tests/test_tenant_isolation.py."
    )


def test_every_url_refuses_unit_a_the_objects_of_unit_b(units):
    a, b = units
    client = Client()
    problems, walked = [], 0
    for route in all_routes():
        if route.display in PUBLIC:
            continue
        message = unknown_params_message(route)
        if message:
            pytest.fail(message)
        values = {name: (UNIT_B_PARAMS.get(name) or PLAIN_PARAMS[name])(b) for name in route.params}
        url = build(route, values)
        assert resolve(url).func == route.callback, f"{route.display}: built {url} wrongly"
        names_b_object = any(name in UNIT_B_PARAMS for name in route.params)
        methods = ["get", "post"] if accepts_post(route.callback) else ["get"]
        for method in methods:
            client.force_login(a.agent.user)
            response = getattr(client, method)(url)
            walked += 1
            status = response.status_code
            where = f"{method.upper()} {url} ({route.display}) answered {status}"
            if status in REFUSED or (method == "post" and status == 405):
                continue
            if status in (301, 302, 303, 307, 308):
                if reveals(response["Location"], b, values):
                    problems.append(f"{where}, redirecting to B's data: {response['Location']}")
                continue
            if names_b_object:
                problems.append(f"{where}: a URL naming unit B's object must be 403 or 404")
                continue
            raw = b"".join(response.streaming_content) if response.streaming else response.content
            body = raw.decode(errors="replace")  # exports stream; a CSV is checked like a page
            leaked = [marker for marker in b.markers if marker in body]
            if leaked:
                problems.append(f"{where} and shows unit B's {leaked}")
    assert walked > 50
    assert problems == []


def test_unit_b_registration_pages_are_not_found_for_unit_a(client, units):
    a, b = units
    client.force_login(a.agent.user)
    reference = b.application.reference
    for suffix in ["", "verify/", "verify/bank/", "verify/face/", "verify/ca/"]:
        assert client.get(f"/registration/{reference}/{suffix}").status_code == 404, suffix


def test_unit_a_reaches_its_own_agents_so_the_walk_can_tell_the_difference(client, units):
    a, b = units
    client.force_login(a.agent.user)
    assert client.get(f"/unit/agents/{a.agent.pk}/roles/").status_code == 200
    assert client.get(f"/unit/agents/{b.agent.pk}/roles/").status_code == 404


def test_every_public_entry_names_an_existing_url():
    displays = {route.display for route in all_routes()}
    stale = sorted(set(PUBLIC) - displays)
    assert stale == [], f"remove these from PUBLIC or fix their names: {stale}"


def test_unknown_parameters_fail_with_a_message_naming_the_fix():
    route = Route("demo:thing", [RoutePattern("thing/<int:gadget_id>/")], ["gadget_id"], None)
    message = unknown_params_message(route)
    assert "gadget_id" in message and "UNIT_B_PARAMS" in message and "demo:thing" in message
    known = Route("agents:roles", [RoutePattern("x/<int:agent_id>/")], ["agent_id"], None)
    assert unknown_params_message(known) is None
