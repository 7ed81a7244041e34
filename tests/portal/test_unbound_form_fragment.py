"""{% unbound_form_fragment %} (portal.templatetags.portal_tags): an unbound form's part rendered
once per language and key, printed from the store after with each request's per-page values."""

import uuid
from decimal import Decimal

import pytest
from django import forms
from django.template import Context, Template, TemplateSyntaxError
from django.utils import translation

from portal.templatetags import portal_tags


class TokenForm(forms.Form):
    token = forms.UUIDField(widget=forms.HiddenInput)
    name = forms.CharField(label="姓名")

    def unbound_html_key(self):
        return ("v1",)


class KeylessForm(TokenForm):
    def unbound_html_key(self):
        return None


FRAGMENT = Template(
    '{% load i18n portal_tags %}{% unbound_form_fragment "t" form "token" with region %}'
    "{{ form.token }}|{{ form.name }}|{{ region }}|{{ count }}|{% translate '首页' %}"
    "{% endunbound_form_fragment %}"
)


@pytest.fixture(autouse=True)
def empty_store():
    portal_tags.fragments_clear()
    yield
    portal_tags.fragments_clear()


def render(form, **context) -> str:
    return FRAGMENT.render(Context({"form": form, **context}))


def token_form(form_class=TokenForm, **kwargs) -> tuple[forms.Form, uuid.UUID]:
    token = uuid.uuid4()
    return form_class(initial={"token": token}, **kwargs), token


def test_the_part_is_stored_and_printed_with_each_requests_token():
    form, token = token_form()
    first = render(form, region="京", count=1)
    assert f'value="{token}"' in first and first.endswith("|京|1|首页")
    again, other = token_form()
    second = render(again, region="京", count=2)
    # ``count`` is not a key value: the stored text comes back, with the new token.
    assert second == first.replace(str(token), str(other))
    assert render(token_form()[0], region="沪", count=3).endswith("|沪|3|首页")


def test_the_language_is_part_of_the_key():
    render(token_form()[0], region="京", count=1)
    with translation.override("en"):
        assert render(token_form()[0], region="京", count=2).endswith("|京|2|Home")


def test_key_values_count_by_their_type_and_text():
    render(token_form()[0], region=Decimal("1.0"), count=1)
    assert render(token_form()[0], region=Decimal("1.00"), count=2).endswith("|1.00|2|首页")
    assert render(token_form()[0], region=[1, "a"], count=3).endswith("|[1, &#x27;a&#x27;]|3|首页")
    with pytest.raises(TypeError):
        render(token_form()[0], region=object())


@pytest.mark.parametrize(
    "make",
    [
        # A bound form shows the user's input and errors.
        lambda: TokenForm({"token": str(uuid.uuid4()), "name": "王"}),
        # An initial value that is not a per-request one is not in the key.
        lambda: TokenForm(initial={"token": uuid.uuid4(), "name": "王"}),
        # A form that cannot say what its HTML depends on.
        lambda: token_form(KeylessForm)[0],
        # No token to put back.
        lambda: TokenForm(),
    ],
)
def test_forms_that_may_not_be_stored_are_rendered_every_time(make):
    assert render(make(), region="京", count=1).endswith("|京|1|首页")
    assert render(make(), region="京", count=2).endswith("|京|2|首页")
    assert not portal_tags._FORM_FRAGMENTS


def test_bound_form_shows_its_input_after_the_unbound_one_was_stored():
    render(token_form()[0], region="京", count=1)
    page = render(TokenForm({"token": "x", "name": "<王>"}), region="京", count=2)
    assert 'value="&lt;王&gt;"' in page and 'value="x"' in page and page.endswith("|2|首页")


def test_a_token_printed_twice_is_not_stored():
    twice = Template(
        '{% load portal_tags %}{% unbound_form_fragment "t" form "token" %}'
        "{{ form.token }}{{ form.token.value }}{{ count }}{% endunbound_form_fragment %}"
    )
    for count in (1, 2):
        assert twice.render(Context({"form": token_form()[0], "count": count})).endswith(str(count))
    assert not portal_tags._FORM_FRAGMENTS


def test_a_settings_change_clears_the_store(settings):
    render(token_form()[0], region="京", count=1)
    settings.SERVICE_HOTLINE = "12333-0"
    assert not portal_tags._FORM_FRAGMENTS
    assert render(token_form()[0], region="京", count=2).endswith("|2|首页")


def test_the_fields_must_be_quoted_names():
    with pytest.raises(TemplateSyntaxError):
        Template(
            '{% load portal_tags %}{% unbound_form_fragment "t" form token %}'
            "{% endunbound_form_fragment %}"
        )
    with pytest.raises(TemplateSyntaxError):
        Template(
            "{% load portal_tags %}{% unbound_form_fragment t form %}{% endunbound_form_fragment %}"
        )
