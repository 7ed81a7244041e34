"""{% for_rows %} (portal/templatetags/row_tags.py): the same text as {% for %}, cheaper."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import NamedTuple

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.utils import translation
from django.utils.safestring import mark_safe


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
