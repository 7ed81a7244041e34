"""{% constant_fragment %} (portal.templatetags.portal_tags): a layout part rendered once per
language, script prefix, urlconf and the values it names, and printed from the store after."""

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.urls import set_script_prefix
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
