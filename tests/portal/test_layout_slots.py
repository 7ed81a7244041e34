"""The layout printed from its stored fragments (top bar, header, breadcrumbs, side menu, footer)
is the layout the template engine renders when every part is rendered on every request.

The plain layout is base.html without the {% constant_fragment %}, {% slot %} and
{% active_menu_item %} tags: the same template text, rendered node by node. Only the CSRF
tokens differ, by design (a fresh mask for every rendering); each must still carry the
request's secret.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.middleware.csrf import _unmask_cipher_token
from django.template import engines, loader
from django.test import Client
from django.urls import reverse
from django.utils import translation

from portal.models import User
from portal.templatetags import portal_tags
from tests.conftest import otp_verify
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

BASE = Path(settings.BASE_DIR) / "templates" / "base.html"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]*)"')
PAGE = "{% extends base %}{% block content %}<p>{{ page_text }}</p>{% endblock %}"


def plain_layout_source() -> str:
    """base.html with its fragments, slots and the side menu's key tag taken out."""
    source = BASE.read_text(encoding="utf-8")
    source = re.sub(r"{% (?:slot|endslot|endconstant_fragment) %}", "", source)
    source = re.sub(r"{% (?:constant_fragment|active_menu_item) [^%]*%}", "", source)
    assert "constant_fragment" not in source and "slot" not in source
    return source


def without_tokens(html: str, request) -> str:
    """The page with its CSRF tokens blanked, each checked to be a masked form of the
    request's secret."""
    tokens = CSRF_INPUT.findall(html)
    for token in tokens:
        assert len(token) == 64
        assert _unmask_cipher_token(token) == request.META["CSRF_COOKIE"]
    return CSRF_INPUT.sub('name="csrfmiddlewaretoken" value=""', html)


def render_both(request, **context):
    """The page in the stored-fragment layout and in the plain one."""
    page = engines["django"].from_string(PAGE)
    plain = engines["django"].from_string(plain_layout_source()).template
    stored = loader.get_template("base.html").template
    context.setdefault("page_text", "正文")
    return (
        page.render({**context, "base": stored}, request),
        page.render({**context, "base": plain}, request),
    )


def assert_same_layout(request, **context) -> str:
    # Twice: the first rendering stores the fragments, the second prints them from the store.
    for _ in range(2):
        stored, plain = render_both(request, **context)
        assert without_tokens(stored, request) == without_tokens(plain, request)
    return stored


@pytest.fixture
def agent_request(client):
    """An agent's request (logged in, unit active), as the views get it."""
    agent = create_agent(employer=create_employer(), name="李四")
    client.force_login(agent.user)
    return client.get(reverse("dashboard"), {"from": "a&b", "q": '"<x>"'}).wsgi_request


@pytest.fixture
def roster_request(client):
    """An agent's request for the roster, the enrollment module's fourth item."""
    agent = create_agent(employer=create_employer(), name="王五")
    client.force_login(agent.user)
    return client.get(reverse("enrollment:roster")).wsgi_request


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_visitor_sees_the_same_layout(client, language):
    request = client.get(reverse("home"), {"next": "/x/?a=1&b=2"}).wsgi_request
    with translation.override(language):
        html = assert_same_layout(request)
        assert_same_layout(request, current_module="unit")
    assert reverse("accounts:login") in html and len(CSRF_INPUT.findall(html)) == 1


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("unread", [None, 0, 7, 150])
def test_an_agent_sees_the_same_layout_whatever_the_inbox(agent_request, language, unread):
    with translation.override(language):
        html = assert_same_layout(agent_request, inbox_unread=unread)
    assert ("data-inbox-link" in html) is (unread is not None)
    assert ("data-inbox-unread" in html) is bool(unread)
    assert html.count('name="csrfmiddlewaretoken"') == 2


def test_the_values_put_in_slots_are_escaped_as_the_template_escapes_them(agent_request):
    html = assert_same_layout(agent_request, greeting_name="<b>\"赵&钱'</b>", inbox_unread=3)
    assert "&lt;b&gt;&quot;赵&amp;钱&#x27;&lt;/b&gt;" in html
    assert 'value="/dashboard/?from=a%26b&amp;q=%22%3Cx%3E%22"' in html


def test_one_agents_values_are_not_shown_to_the_next(client):
    """The store is shared by every request: the second agent gets its own name, count and
    address, with the first one's fragments."""
    pages = []
    for name, unread in [("甲", 5), ("乙", 120)]:
        agent = create_agent(employer=create_employer(), name=name)
        client.force_login(agent.user)
        request = client.get(reverse("dashboard"), {"n": name}).wsgi_request
        pages.append(assert_same_layout(request, inbox_unread=unread))
    assert "您好，乙" in pages[1] and "甲" not in pages[1]
    assert 'data-inbox-unread="120">99+' in pages[1]


def test_one_store_serves_visitors_agents_and_clerks_in_turn(client, agent_request, roster_request):
    """Every kind of page after every other, the store kept: a fragment stored for one must
    never be printed for another."""
    visitor = Client().get(reverse("home")).wsgi_request
    clerk = User.objects.create_user(username="clerk2", password="x", is_staff=True)
    otp_verify(client, clerk)
    clerk_request = client.get(reverse("home")).wsgi_request
    pages = [
        (visitor, {}),
        (agent_request, {"inbox_unread": None}),
        (agent_request, {"inbox_unread": 0}),
        (agent_request, {"inbox_unread": 2, "current_module": "enrollment"}),
        (roster_request, {"inbox_unread": 2, "current_module": "enrollment"}),
        (clerk_request, {"current_module": "enrollment"}),
        (visitor, {"current_module": "enrollment"}),
    ]
    for language in ["zh-hans", "en", "zh-hans"]:
        with translation.override(language):
            for request, context in pages + pages[::-1]:
                assert_same_layout(request, **context)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_clerk_sees_the_same_layout(client, language):
    clerk = User.objects.create_user(username="clerk1", password="x", is_staff=True)
    clerk.first_name = "孙"
    clerk.save()
    otp_verify(client, clerk)
    request = client.get(reverse("home")).wsgi_request
    with translation.override(language):
        html = assert_same_layout(request)
    assert reverse("admin:logout") in html and html.count('name="csrfmiddlewaretoken"') == 2


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_side_menu_marks_the_current_item_as_before(roster_request, agent_request, language):
    with translation.override(language):
        on_roster = assert_same_layout(roster_request, current_module="enrollment")
        # The same module on a page that is none of its items: nothing marked.
        elsewhere = assert_same_layout(agent_request, current_module="enrollment")
    roster = reverse("enrollment:roster")
    assert f'<a href="{roster}" class="active" aria-current="page">' in on_roster
    assert 'class="active" aria-current="page"' not in elsewhere.split("portal-sidemenu")[1]


def test_every_module_and_an_agent_with_fewer_items_look_as_before(client, agent_request):
    from employers.models import Role

    for module in ["unit", "enrollment", "contributions", "queries", "benefits", "proofs"]:
        assert_same_layout(agent_request, current_module=module)
    queries_only = create_agent(employer=create_employer(), roles=[Role.QUERIES])
    client.force_login(queries_only.user)
    request = client.get(reverse("contributions:record_list")).wsgi_request
    html = assert_same_layout(request, current_module="queries")
    assert 'class="active" aria-current="page"' in html


def test_messages_look_as_before(agent_request):
    agent_request._messages = [
        Message(constants.SUCCESS, "增员申报已提交"),
        Message(constants.ERROR, "附件格式<不支持>"),
    ]
    html = assert_same_layout(agent_request)
    assert "附件格式&lt;不支持&gt;" in html


def test_a_page_without_a_request_looks_as_before():
    stored, plain = render_both(None, nav_modules=[])
    assert stored == plain and "csrfmiddlewaretoken" not in stored


@pytest.mark.parametrize(
    ("login", "url_name"),
    [
        (False, "home"),
        (True, "dashboard"),
        (True, "enrollment:roster"),
        (True, "contributions:bill_list"),
    ],
)
def test_whole_pages_are_the_same_as_with_the_plain_layout(
    client, settings, tmp_path, login, url_name
):
    if login:
        client.force_login(create_agent(employer=create_employer(), name="周七").user)
    url = reverse(url_name)
    stored = client.get(url)
    (tmp_path / "base.html").write_text(plain_layout_source(), encoding="utf-8")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    plain = client.get(url)
    assert stored.status_code == plain.status_code == 200
    assert any(str(tmp_path) in template.origin.name for template in plain.templates)
    request = plain.wsgi_request
    assert without_tokens(stored.content.decode(), request) == without_tokens(
        plain.content.decode(), request
    )


def test_the_store_holds_one_entry_per_key_not_per_page(agent_request, roster_request):
    portal_tags.fragments_clear()
    assert_same_layout(agent_request, current_module="enrollment")
    size = len(portal_tags._FRAGMENTS)
    for _ in range(3):
        assert_same_layout(agent_request, current_module="enrollment", inbox_unread=4)
    assert len(portal_tags._FRAGMENTS) == size
