"""Content-Security-Policy: every page type carries the policy and holds nothing it would block.

The policy (portal/settings.py, django-csp) allows scripts and styles from the portal's own
static files only, so a page may contain no ``<script>`` without ``src``, no ``<style>`` element,
no ``style="…"`` attribute, no ``on<event>=`` handler and no ``javascript:`` URL. The pages are
rendered with data (a unit with one object of every kind); the admin's through a clerk who has
passed the second factor. tests/e2e/test_csp.py checks the same in Chromium.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from employers.models import Role
from tests.conftest import otp_verify
from tests.factories import create_agent
from tests.tenant_helpers import Unit, make_unit

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
HEADER = "Content-Security-Policy"
HEADER_REPORT_ONLY = "Content-Security-Policy-Report-Only"


def directives(header: str) -> dict[str, list[str]]:
    """The policy header as {directive: [sources]}."""
    parsed = {}
    for part in header.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


class InlineCodeFinder(HTMLParser):
    """Collects what a policy without 'unsafe-inline' blocks: inline scripts and styles, event
    handler attributes and javascript: URLs."""

    URL_ATTRIBUTES = {"href", "src", "action", "formaction"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = [name for name, _value in attrs]
        where = f"<{tag} {' '.join(names)}>"
        if tag == "script" and "src" not in names:
            self.found.append(f"inline script {where}")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name == "style":
                self.found.append(f'style="{value}" on {where}')
            elif name.startswith("on"):
                self.found.append(f"{name}= on {where}")
            elif name in self.URL_ATTRIBUTES and re.match(r"\s*javascript:", value or "", re.I):
                self.found.append(f"javascript: URL on {where}")

    handle_startendtag = handle_starttag


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def assert_policy_enforced(response):
    assert HEADER in response, f"no {HEADER} header"
    header = response[HEADER]
    policy = directives(header)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header
    assert HEADER_REPORT_ONLY not in response


# The pages ------------------------------------------------------------------------------------


@dataclass
class Visit:
    unit: Unit
    clients: dict[str, Client]
    monkeypatch: pytest.MonkeyPatch


def get(who: str, name: str, *args: Callable[[Unit], object] | str, query: str = ""):
    """A GET of the named URL by "anonymous", "agent" (all roles) or "clerk" (superuser)."""

    def fetch(visit: Visit):
        values = [arg(visit.unit) if callable(arg) else arg for arg in args]
        return visit.clients[who].get(reverse(name, args=values) + query)

    return fetch


def roster_with_pages(visit: Visit):
    # One row a page: the page-jump field (its width was an inline style) shows from 2 pages on.
    visit.monkeypatch.setattr("enrollment.roster.selectors.PAGE_SIZE", 1)
    response = visit.clients["agent"].get(reverse("enrollment:roster"))
    assert 'id="id_page"' in response.content.decode()
    return response


def roster_full_export_password(visit: Visit):
    """The password page in front of a full export."""
    return visit.clients["agent"].post(reverse("enrollment:roster_csv"), {"full": "1"})


def batch_detail_running(visit: Visit):
    batch = visit.unit.batch
    batch.status = batch.Status.RUNNING
    batch.total_rows, batch.processed_rows = 3, 1
    batch.save(update_fields=["status", "total_rows", "processed_rows"])
    response = visit.clients["agent"].get(
        reverse("enrollment:batch_detail", args=[batch.reference])
    )
    # The width reaches the bar through a data attribute that batch_progress.js reads.
    assert 'data-percent="33"' in response.content.decode()
    return response


def denied_for_lack_of_role(visit: Visit):
    agent = create_agent(employer=visit.unit.employer, roles=[Role.QUERIES])
    client = Client()
    client.force_login(agent.user)
    return client.get(reverse("enrollment:add"))


def missing_page(visit: Visit):
    return visit.clients["agent"].get("/no-such-page/")


PAGES: dict[str, tuple[Callable[[Visit], object], int]] = {
    "home": (get("anonymous", "home"), 200),
    "login": (get("anonymous", "accounts:login"), 200),
    "login_ca": (get("anonymous", "accounts:login_ca"), 200),
    "password_forgot": (get("anonymous", "accounts:password_forgot"), 200),
    "register_step": (get("anonymous", "employers:register_step", "unit"), 200),
    "proof_public_form": (get("anonymous", "proof_public:form"), 200),
    "proof_public_check": (get("anonymous", "proof_public:check", lambda u: u.proof.code), 200),
    "dashboard": (get("agent", "dashboard"), 200),
    "agents": (get("agent", "agents:list"), 200),
    "roster": (roster_with_pages, 200),
    "roster_detail": (get("agent", "enrollment:roster_detail", lambda u: u.enrolment.pk), 200),
    "roster_export_full": (roster_full_export_password, 200),
    "add_employee": (get("agent", "enrollment:add"), 200),
    "add_detail": (get("agent", "enrollment:add_detail", lambda u: u.add_filing.reference), 200),
    "batch_upload": (get("agent", "enrollment:batch"), 200),
    "batch_detail": (get("agent", "enrollment:batch_detail", lambda u: u.batch.reference), 200),
    "batch_detail_running": (batch_detail_running, 200),
    "removal": (get("agent", "enrollment:remove"), 200),
    "bill_list": (get("agent", "contributions:bill_list"), 200),
    "bill_detail": (
        get("agent", "contributions:bill_detail", lambda u: u.assessed_bill.reference),
        200,
    ),
    "bill_sandbox_bank": (get("agent", "contributions:bill_sandbox_bank"), 200),
    "collection_sandbox_tax": (get("agent", "contributions:collection_sandbox_tax"), 200),
    "declaration": (get("agent", "contributions:declaration"), 200),
    "declaration_detail": (
        get("agent", "contributions:declaration_detail", lambda u: u.declaration.reference),
        200,
    ),
    "records": (get("agent", "contributions:record_list"), 200),
    "exports": (get("agent", "contributions:export_list"), 200),
    "proof_issue": (get("agent", "contributions:proof_issue"), 200),
    "proof_detail": (get("agent", "contributions:proof_detail", lambda u: u.proof.pk), 200),
    "403": (denied_for_lack_of_role, 403),
    "404": (missing_page, 404),
    "admin_login": (get("anonymous", "admin:login"), 200),
    "admin_index": (get("clerk", "admin:index"), 200),
    # Every review state: the unit's filing is a rejected one.
    "admin_changelist": (
        get("clerk", "admin:enrollment_addemployeefiling_changelist", query="?queue=all"),
        200,
    ),
    "admin_change_form": (
        get("clerk", "admin:enrollment_addemployeefiling_change", lambda u: u.add_filing.pk),
        200,
    ),
    "admin_user_changelist": (get("clerk", "admin:portal_user_changelist"), 200),
    # The user form has the two-box region picker (filter_horizontal), drawn by the admin's JS.
    "admin_user_change_form": (
        get("clerk", "admin:portal_user_change", lambda u: u.agent.user.pk),
        200,
    ),
    "inbox": (get("agent", "inbox:list"), 200),
    "inbox_detail": (get("agent", "inbox:detail", lambda u: u.inbox_message.pk), 200),
    "questions": (get("agent", "helpdesk:list"), 200),
    "question_ask": (get("agent", "helpdesk:ask"), 200),
    "question_detail": (get("agent", "helpdesk:detail", lambda u: u.question.reference), 200),
    "help_center": (get("anonymous", "help:center"), 200),
    "help_faq": (get("anonymous", "help:faq"), 200),
    "help_states": (get("anonymous", "help:states"), 200),
    "admin_question_queue": (
        get("clerk", "admin:employers_question_changelist", query="?state=all"),
        200,
    ),
    "admin_question_change": (
        get("clerk", "admin:employers_question_change", lambda u: u.question.pk),
        200,
    ),
    "admin_review_home": (get("clerk", "review_desk:home"), 200),
    "admin_review_report": (get("clerk", "review_desk:report"), 200),
}


@pytest.fixture
def visit(settings, admin_user, monkeypatch):
    settings.SANDBOX_PROVIDERS = True  # the sandbox bank page has a form with a sized input
    unit = make_unit("甲", region_code="110000", county="110105", victim=False)
    agent = Client()
    agent.force_login(unit.agent.user)
    clients = {"anonymous": Client(), "agent": agent, "clerk": otp_verify(Client(), admin_user)}
    return Visit(unit, clients, monkeypatch)


@pytest.mark.parametrize("page", list(PAGES))
def test_page_carries_the_policy_and_no_inline_code(page, visit):
    fetch, status = PAGES[page]

    response = fetch(visit)

    assert response.status_code == status
    assert_policy_enforced(response)
    assert response["Content-Type"].startswith("text/html")
    assert inline_code(response.content.decode()) == []


def test_admin_pages_show_the_units_data(visit):
    # Guards the admin cases above against checking an empty list or a form of nothing.
    filing = visit.unit.add_filing
    changelist = PAGES["admin_changelist"][0](visit).content.decode()
    change_form = PAGES["admin_change_form"][0](visit).content.decode()
    assert filing.reference in changelist
    assert filing.reference in change_form


def test_the_finder_reports_each_kind_of_inline_code():
    html = (
        '<script>alert(1)</script><script src="/static/js/portal.js"></script>'
        '<div style="width: 3rem"></div><button onclick="go()"></button>'
        '<style>p{}</style><a href=" JavaScript:go()">x</a><img src="/a.png" onerror="x()"/>'
    )
    assert len(inline_code(html)) == 6
    assert inline_code('<div class="progress-bar" data-percent="33">33%</div>') == []


# The templates --------------------------------------------------------------------------------

INLINE_IN_TEMPLATE = re.compile(
    r"<script\b(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:", re.I
)


def project_templates() -> list[Path]:
    folders = [BASE_DIR / "templates"]
    for app in ("portal", "employers", "enrollment", "contributions"):
        folders += [p for p in (BASE_DIR / app).rglob("templates") if p.is_dir()]
    return sorted(path for folder in folders for path in folder.rglob("*.html"))


def test_no_template_of_the_project_holds_inline_code():
    # Also the pages that no test above renders (agent management, sandbox pages, e-mails).
    templates = project_templates()
    assert len(templates) > 50
    found = [
        f"{path.relative_to(BASE_DIR)}: {match.group(0).strip()}"
        for path in templates
        for match in INLINE_IN_TEMPLATE.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


# Report-only mode -----------------------------------------------------------------------------


def test_report_only_mode_sends_the_policy_under_the_report_only_header(client, settings):
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = None

    response = client.get(reverse("accounts:login"))

    assert HEADER not in response
    policy = directives(response[HEADER_REPORT_ONLY])
    assert policy["frame-ancestors"] == ["'none'"] and policy["script-src"] == ["'self'"]
    # Framing stays refused while the policy only reports.
    assert response["X-Frame-Options"] == "DENY"


PRINT_POLICIES = """
import json
from django.conf import settings
print(json.dumps([settings.CONTENT_SECURITY_POLICY, settings.CONTENT_SECURITY_POLICY_REPORT_ONLY]))
"""


def policies_with(tmp_path, env: dict[str, str]) -> list:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("CSP_", "DJANGO_"))}
    full_env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        PORTAL_VAR_DIR=str(tmp_path / "var"),
        STATIC_ROOT=str(tmp_path / "static"),
        **env,
    )
    result = subprocess.run(
        [sys.executable, "-c", PRINT_POLICIES],
        cwd=BASE_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_environment_switches_to_report_only_with_a_report_uri(tmp_path):
    enforced, report_only = policies_with(tmp_path, {})
    assert report_only is None
    assert enforced["DIRECTIVES"]["frame-ancestors"] == ["'none'"]
    assert "report-uri" not in enforced["DIRECTIVES"]

    enforced, report_only = policies_with(
        tmp_path, {"CSP_REPORT_ONLY": "true", "CSP_REPORT_URI": "https://csp.example.cn/report"}
    )
    assert enforced is None
    assert report_only["DIRECTIVES"]["report-uri"] == ["https://csp.example.cn/report"]
    assert report_only["DIRECTIVES"]["script-src"] == ["'self'"]
