"""{% constant_fragment %} (portal.templatetags.portal_tags): a layout part rendered once per
language, script prefix, urlconf and the values it names, and printed from the store after;
its {% slot %}s rendered on every request."""

import pytest
from django.middleware.csrf import _unmask_cipher_token, get_token
from django.template import Context, RequestContext, Template, TemplateSyntaxError
from django.urls import reverse, set_script_prefix
from django.utils import translation

from portal.navigation import MODULES, Module
from portal.templatetags import portal_tags

pytestmark = pytest.mark.django_db

FRAGMENT = Template(
    '{% load i18n portal_tags %}{% constant_fragment "t" who %}{{ who }} {{ count }} '
    '{% translate "首页" %} {% url "home" %}{% endconstant_fragment %}'
)


@pytest.fixture(autouse=True)
def empty_store():
    portal_tags.fragments_clear()
    yield
    portal_tags.fragments_clear()


def render(**context) -> str:
    return FRAGMENT.render(Context(context))


def test_the_fragment_is_rendered_once_for_the_same_values():
    assert render(who="a", count=1) == "a 1 首页 /"
    # ``count`` is not a key value: the stored text comes back (what the tag is for).
    assert render(who="a", count=2) == "a 1 首页 /"
    assert render(who="b", count=2) == "b 2 首页 /"


def test_the_language_and_the_script_prefix_are_part_of_the_key():
    assert render(who="a") == "a  首页 /"
    with translation.override("en"):
        assert render(who="a") == "a  Home /"
    set_script_prefix("/portal/")
    try:
        assert render(who="a") == "a  首页 /portal/"
    finally:
        set_script_prefix("/")


def test_a_settings_change_clears_the_store(settings):
    render(who="a", count=1)
    settings.SERVICE_HOTLINE = "12333-0"
    assert render(who="a", count=2) == "a 2 首页 /"


def test_modules_count_by_their_keys_and_the_items_an_agent_may_see():
    fewer = [Module(MODULES[0].key, MODULES[0].label, MODULES[0].items[:1])]
    assert portal_tags._fragment_key_part(MODULES[:1]) != portal_tags._fragment_key_part(fewer)
    nav = Template(
        '{% load portal_tags %}{% constant_fragment "n" mods %}'
        "{{ mods|length }}{% endconstant_fragment %}"
    )
    assert nav.render(Context({"mods": MODULES})) == str(len(MODULES))
    assert nav.render(Context({"mods": MODULES[:2]})) == "2"


def test_an_unhashable_value_is_refused():
    with pytest.raises(TypeError):
        render(who={"a": 1})


def test_the_name_must_be_quoted():
    with pytest.raises(TemplateSyntaxError):
        Template("{% load portal_tags %}{% constant_fragment t %}{% endconstant_fragment %}")


SLOTTED = Template(
    '{% load portal_tags %}{% constant_fragment "s" who %}{{ who }}:{{ count }} '
    "[{% slot %}{{ count }}{% endslot %}]{% if who %} [{% slot %}{{ name }}{% endslot %}]"
    "{% endif %}{% endconstant_fragment %}"
)


def test_a_slot_is_rendered_on_every_request_and_escaped_as_the_template_does():
    assert SLOTTED.render(Context({"who": "a", "count": 1, "name": "x"})) == "a:1 [1] [x]"
    assert SLOTTED.render(Context({"who": "a", "count": 2, "name": "<b>&'"})) == (
        "a:1 [2] [&lt;b&gt;&amp;&#x27;]"
    )
    # Off the key's values the rest comes from the store, slots or not.
    assert SLOTTED.render(Context({"who": "", "count": 3, "name": "y"})) == ":3 [3]"


def test_a_slot_outside_a_fragment_is_rendered_as_is():
    page = Template("{% load portal_tags %}<{% slot %}{{ name }}{% endslot %}>")
    assert page.render(Context({"name": "<i>"})) == "<&lt;i&gt;>"


@pytest.mark.parametrize(
    "body",
    [
        "{% csrf_token %}",
        "{% if x %}{% csrf_token %}{% endif %}",
        "{% block b %}{% endblock %}",
        '{% constant_fragment "inner" %}{% endconstant_fragment %}',
        "{% for x in xs %}{% slot %}{{ x }}{% endslot %}{% endfor %}",
        "{% with x=1 %}{% slot %}{{ x }}{% endslot %}{% endwith %}",
        "{% filter upper %}{% slot %}{{ x }}{% endslot %}{% endfilter %}",
    ],
)
def test_what_cannot_be_stored_is_refused(body):
    with pytest.raises(TemplateSyntaxError):
        Template(
            '{% load portal_tags %}{% constant_fragment "t" %}'
            + body
            + "{% endconstant_fragment %}"
        )


def test_a_csrf_token_in_a_slot_is_new_on_every_request(rf):
    page = Template(
        '{% load portal_tags %}{% constant_fragment "f" %}<form>{% slot %}{% csrf_token %}'
        "{% endslot %}</form>{% endconstant_fragment %}"
    )
    request = rf.get("/")
    secret = _unmask_cipher_token(get_token(request))
    tokens = []
    for _ in range(2):
        html = page.render(RequestContext(request))
        tokens.append(html.split('value="')[1].split('"')[0])
    assert tokens[0] != tokens[1]
    assert [_unmask_cipher_token(token) for token in tokens] == [secret, secret]


def test_the_side_menu_key_is_the_current_items_index(rf):
    page = Template(
        "{% load portal_tags %}{% active_menu_item module as active %}{{ active|default:'-' }}"
    )
    enrollment = next(module for module in MODULES if module.key == "enrollment")
    roster = [item.url_name for item in enrollment.items].index("enrollment:roster")

    def active(path, module=enrollment):
        return page.render(Context({"module": module, "request": rf.get(path)}))

    assert active(reverse("enrollment:roster")) == str(roster)
    assert active(reverse("enrollment:roster") + "123/") == "-"
    assert active("/", None) == "-"
    assert page.render(Context({"module": enrollment})) == "-"  # no request


def test_the_store_is_bounded(monkeypatch):
    monkeypatch.setattr(portal_tags, "FRAGMENTS_MAX", 3)
    for who in "abcd":
        render(who=who)
    assert len(portal_tags._FRAGMENTS) <= 3
    assert render(who="d", count=5) == "d  首页 /"
