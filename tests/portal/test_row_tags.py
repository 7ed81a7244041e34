"""{% for_rows %} (portal/templatetags/row_tags.py): the same text as {% for %}, cheaper."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import NamedTuple

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.utils import translation
from django.utils.safestring import mark_safe

from portal.templatetags.row_tags import ForRowsNode


class Row(NamedTuple):
    pk: int
    name: str
    url: str
    note: object
    amount: object


BODY = (
    '\n  <tr data-label="{{ label }}"><td><a href="{{ row.url }}">{{ row.name }}</a></td>'
    "<td>{{ row.pk }}</td><td>{{ row.amount }}</td>"
    '{% if row.note %}<td class="note">{{ row.note }}</td>{% else %}<td>-</td>{% endif %}'
    "{% if not row.url %} none{% endif %}</tr>\n"
)
EMPTY = "{% empty %}<tr><td>{{ label }}: nothing</td></tr>"

ROWS = [
    Row(1, "<b>张三</b> & \"李四\" '王五'", "/a/1/?x=1&y=2", "", Decimal("1234.5")),
    Row(12345, "赵六", "", None, 0),
    Row(3, "孙七", "/a/3/", mark_safe("<i>safe</i>"), datetime.date(2026, 12, 1)),
    Row(4, "", "/a/4/", 0, 1.5),
    Row(5, "周八", "/a/5/", "备注 <x>", Decimal("0.00")),
    Row(6, "<b>张三</b> & \"李四\" '王五'", "/a/1/?x=1&y=2", "", Decimal("1234.5")),
]


def render_both(rows, *, body=BODY, empty=EMPTY, autoescape=True):
    context = {"rows": rows, "label": "标签 & <label>"}
    with_for = Template("{% for row in rows %}" + body + empty + "{% endfor %}").render(
        Context(context, autoescape=autoescape)
    )
    with_rows = Template(
        "{% load row_tags %}{% for_rows row in rows %}" + body + empty + "{% endfor_rows %}"
    ).render(Context(context, autoescape=autoescape))
    return with_for, with_rows


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_for_rows_prints_what_for_prints(language):
    with translation.override(language):
        with_for, with_rows = render_both(ROWS)
    assert with_rows == with_for
    assert "&lt;b&gt;张三&lt;/b&gt; &amp; &quot;李四&quot; &#x27;王五&#x27;" in with_rows
    assert "<i>safe</i>" in with_rows and "备注 &lt;x&gt;" in with_rows
    assert with_rows.count(" none") == 1 and with_rows.count("<td>-</td>") == 4


def test_for_rows_without_autoescape_prints_what_for_prints():
    with_for, with_rows = render_both(ROWS, autoescape=False)
    assert with_rows == with_for
    assert '<b>张三</b> & "李四"' in with_rows


@pytest.mark.parametrize("empty", [EMPTY, ""])
def test_for_rows_of_no_rows_prints_the_empty_part(empty):
    with_for, with_rows = render_both([], empty=empty)
    assert with_rows == with_for
    assert ("nothing" in with_rows) == bool(empty)


@pytest.mark.parametrize(
    "body",
    [
        "{{ row.name|upper }}",
        "{{ row }}",
        "{{ row.name.upper }}",
        "{{ forloop.counter }}",
        "{% if row.name == 'x' %}x{% endif %}",
        "{% cycle 'a' row.name %}",
        "{% with n=row.name %}{{ n }}{% endwith %}",
    ],
)
def test_for_rows_refuses_a_body_that_uses_the_row_otherwise(body):
    with pytest.raises(TemplateSyntaxError):
        Template("{% load row_tags %}{% for_rows row in rows %}" + body + "{% endfor_rows %}")


def test_for_rows_renders_the_body_once_per_shape_of_row():
    template = Template(
        "{% load row_tags %}{% for_rows row in rows %}{{ row.name }}{{ counter.next }}"
        "{% endfor_rows %}"
    )

    class Counter:
        calls = 0

        def next(self):
            self.calls += 1
            return ""

    counter = Counter()
    template.render(Context({"rows": ROWS, "counter": counter}))
    assert counter.calls == 5  # rows 1 and 6 have the same shape (which fields are empty)


# Rows of plain strings only (display rows): their fields are escaped in one go ---------------


class TextRow(NamedTuple):
    name: str
    url: str
    note: str


TEXT_ROWS = [
    TextRow("<b>张三</b> & \"李四\" '王五'", "/a/1/?x=1&y=2", ""),
    TextRow("100% 赵六 %s %(x)s %%", "/a/%20/", "备注 <x> %d"),
    TextRow("孙七", "", "&amp;"),
    TextRow("", "/a/4/", "周八"),
    TextRow("<b>张三</b> & \"李四\" '王五'", "/a/1/?x=1&y=2", ""),
]
TEXT_BODY = (
    '\n  <tr data-label="{{ label }} 50%"><td><a href="{{ row.url }}">{{ row.name }}</a></td>'
    '{% if row.note %}<td class="note">{{ row.note }}</td>{% else %}<td>%s -</td>{% endif %}'
    "<td>{{ row.name }}</td>{% if not row.url %} none{% endif %}</tr>\n"
)


@pytest.mark.parametrize(
    "body",
    [
        TEXT_BODY,
        "<td>{{ row.note }} 100%</td>",  # one field
        "<td>%% {{ label }}</td>",  # no field of the row
        "{% if row.url %}{{ row.url }}{% endif %}",  # some rows print nothing
    ],
)
def test_for_rows_of_plain_strings_prints_what_for_prints(body):
    with_for, with_rows = render_both(TEXT_ROWS, body=body)
    assert with_rows == with_for


def test_for_rows_of_plain_strings_escapes_each_field():
    with_for, with_rows = render_both(TEXT_ROWS, body=TEXT_BODY)
    assert with_rows == with_for
    assert with_rows.count("&lt;b&gt;张三&lt;/b&gt; &amp; &quot;李四&quot; &#x27;王五&#x27;") == 4
    assert "100% 赵六 %s %(x)s %%" in with_rows and "备注 &lt;x&gt; %d" in with_rows
    assert "&amp;amp;" in with_rows and 'data-label="标签 &amp; &lt;label&gt; 50%"' in with_rows


@pytest.mark.parametrize(
    "odd",
    [
        TextRow("nul \x00 in a name", "/a/9/", "x"),  # cannot be joined with NUL characters
        TextRow(mark_safe("<i>safe</i>"), "/a/9/", "x"),  # printed as it is, not escaped
        TextRow("王", "/a/9/", 7),  # not a str: localised as the template does
    ],
)
def test_for_rows_with_another_field_prints_what_for_prints(odd):
    rows = [*TEXT_ROWS, odd]
    with_for, with_rows = render_both(rows, body=TEXT_BODY)
    assert with_rows == with_for
    with_for, with_rows = render_both(rows, body=TEXT_BODY, autoescape=False)
    assert with_rows == with_for


def test_for_rows_renders_the_body_once_per_shape_when_printing_field_by_field():
    template = Template(
        "{% load row_tags %}{% for_rows row in rows %}{{ row.note }}{{ counter.next }}"
        "{% endfor_rows %}"
    )

    class Counter:
        calls = 0

        def next(self):
            self.calls += 1
            return ""

    counter = Counter()
    text = template.render(
        Context({"rows": [*TEXT_ROWS, TextRow("a", "b", 7)], "counter": counter})
    )
    assert counter.calls == 4  # once per shape (which fields are empty), not twice
    assert text == "备注 &lt;x&gt; %d&amp;amp;周八7"


# Bodies stored per process: made of text, fields, tests of fields, plain variables and
# {% translate %} of constants ------------------------------------------------------------------

STORABLE = (
    '{% load i18n row_tags %}{% for_rows row in rows %}<td data-label="{{ label }}">'
    '{% translate "姓名" %}{{ row.name }}{% if not row.url %}-{% else %}{{ row.url }}{% endif %}'
    "</td>{% endfor_rows %}"
)


@pytest.fixture
def parts_made(monkeypatch):
    made = []
    parts = ForRowsNode._parts

    def counted(self, context, row):
        made.append(row)
        return parts(self, context, row)

    monkeypatch.setattr(ForRowsNode, "_parts", counted)
    return made


def test_a_plain_body_is_stored_once_per_shape_language_and_label(parts_made):
    template = Template(STORABLE)
    for_template = Template(STORABLE.replace("for_rows", "for").replace("endfor_rows", "endfor"))
    cases = [
        ("zh-hans", "标签 & <x>"),
        ("zh-hans", "标签 & <x>"),
        ("en", "标签 & <x>"),
        ("zh-hans", mark_safe("<b>safe</b>")),
        ("zh-hans", "<b>safe</b>"),
        ("zh-hans", 0),
        ("zh-hans", None),
    ]
    for language, label in cases:
        context = {"rows": TEXT_ROWS, "label": label}
        with translation.override(language):
            assert template.render(Context(context)) == for_template.render(Context(context))
    node = template.nodelist.get_nodes_by_type(ForRowsNode)[0]
    assert node.outside == ["label"]
    shapes = 4  # of TEXT_ROWS' fields
    assert len(parts_made) == shapes * 6  # the second case came from the store
    assert len(node.stored) == shapes * 6
    with translation.override("en"):
        assert "Name" in template.render(Context({"rows": TEXT_ROWS, "label": ""}))


def test_a_body_without_its_label_is_rendered_not_stored(parts_made):
    template = Template(STORABLE)
    for label in [{"a": 1}, lambda: "called"]:
        context = {"rows": TEXT_ROWS, "label": label}
        for_template = Template(
            STORABLE.replace("for_rows", "for").replace("endfor_rows", "endfor")
        )
        assert template.render(Context(context)) == for_template.render(Context(context))
    template.render(Context({"rows": TEXT_ROWS}))  # no label at all
    node = template.nodelist.get_nodes_by_type(ForRowsNode)[0]
    assert node.stored == {} and len(parts_made) == 4 * 3


@pytest.mark.parametrize(
    "inside",
    [
        "{{ label.upper }}",
        "{{ label|upper }}",
        "{% if label %}x{% endif %}",
        "{% if row.url %}{% if label %}x{% endif %}{% endif %}",
        "{% url 'home' %}",
        "{% translate label %}",
        '{% translate "姓名" as x %}{{ x }}',
        "{% now 'Y' %}",
        "{% blocktranslate %}x{% endblocktranslate %}",
    ],
)
def test_a_body_that_may_depend_on_more_is_never_stored(inside):
    template = Template(
        "{% load i18n row_tags %}{% for_rows row in rows %}" + inside + "{{ row.name }}"
        "{% endfor_rows %}"
    )
    node = template.nodelist.get_nodes_by_type(ForRowsNode)[0]
    assert node.outside is None
    template.render(Context({"rows": TEXT_ROWS, "label": "x"}))
    assert node.stored == {}


def test_a_settings_change_empties_the_stored_bodies(settings):
    template = Template(STORABLE)
    template.render(Context({"rows": TEXT_ROWS, "label": "x"}))
    node = template.nodelist.get_nodes_by_type(ForRowsNode)[0]
    assert node.stored
    settings.USE_THOUSAND_SEPARATOR = True
    assert node.stored == {}


def test_for_rows_escapes_each_text_once_a_page(monkeypatch):
    import html
    from types import SimpleNamespace

    from portal.templatetags import row_tags

    escaped = []
    counting = SimpleNamespace(escape=lambda text: escaped.append(text) or html.escape(text))
    monkeypatch.setattr(row_tags, "html", counting)
    with_for, with_rows = render_both(ROWS * 3)
    assert with_rows == with_for
    texts = [value for row in ROWS for value in (row.name, row.url) if type(value) is str and value]
    texts += [row.note for row in ROWS if type(row.note) is str and row.note]
    assert sorted(escaped) == sorted(set(texts))
