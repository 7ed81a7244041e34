"""Forms rendered in Python (portal.form_renderer, portal.crispy_fields): the same bytes as the
templates they stand in for, for every kind of field, unbound and bound with errors, zh and en."""

import uuid

import pytest
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils import translation
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from contributions.proofs.forms import ProofIssueForm
from contributions.records.forms import RecordFilterForm
from enrollment.add.forms import AddEmployeeForm
from enrollment.models import EmploymentForm
from portal.crispy_fields import crispy_field_html
from portal.form_fields import ShortModelChoiceField
from portal.form_renderer import DJANGO_FORM_TEMPLATES, PortalFormRenderer
from tests.enrollment.add_helpers import unit_with_agent

pytestmark = pytest.mark.django_db


class EveryKindForm(forms.Form):
    text = forms.CharField(label=_("姓名"), help_text=mark_safe("<b>粗</b> & 细"), max_length=5)
    note = forms.CharField(widget=forms.Textarea, required=False, help_text="a < b")
    number = forms.IntegerField(initial=12345)
    amount = forms.DecimalField(initial=1234.5, localize=True, required=False)
    email = forms.EmailField(label="")
    secret = forms.CharField(
        widget=forms.PasswordInput(attrs={"class": "mono", "data-on": True, "data-off": False})
    )
    hidden = forms.CharField(widget=forms.HiddenInput, initial='say "hi" & <go>')
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), required=False)
    choice = forms.ChoiceField(choices=[("", _("请选择")), ("a", "A & B"), ("b", 2)])
    grouped = forms.MultipleChoiceField(
        choices=[("组", [("x", "X"), ("y", "Y")]), ("z", "Z")], required=False
    )
    radio = forms.ChoiceField(choices=[(1, _("男")), (2, _("女"))], widget=forms.RadioSelect)
    boxes = forms.MultipleChoiceField(
        choices=[(1000, 1000), ("b", _("全部"))], widget=forms.CheckboxSelectMultiple
    )
    flag = forms.BooleanField(required=False)  # a single checkbox: crispy's own template
    upload = forms.FileField(required=False, help_text=_("不超过 5 MB。"))
    locked = forms.FileField(required=False, disabled=True)
    split = forms.SplitDateTimeField(required=False)  # a MultiWidget: crispy's own template


BAD = {
    "text": "太长的一个名字啊",
    "note": "<script>",
    "number": "x",
    "amount": "1.2.3",
    "email": "not-an-email",
    "secret": "",
    "date": "2026-13-01",
    "choice": "c",
    "grouped": ["x", "q"],
    "radio": "9",
    "boxes": ["1000", "c"],
    "flag": "on",
}


def form_makers():
    """(name, a function making a fresh form) for the portal's forms and the one above."""
    employment_forms = EmploymentForm.objects.all()
    _employer, agent = unit_with_agent()
    key = uuid.UUID(int=7)
    yield "every kind", lambda: EveryKindForm()
    yield "every kind, errors", lambda: EveryKindForm(BAD)
    yield (
        "every kind, prefixed",
        lambda: EveryKindForm({"p-text": "王"}, prefix="p", auto_id="f_%s"),
    )
    yield "every kind, no ids", lambda: EveryKindForm(BAD, auto_id=False)
    yield (
        "add employee",
        lambda: AddEmployeeForm(
            employment_forms=employment_forms, initial={"idempotency_key": key}
        ),
    )
    yield "add employee, empty", lambda: AddEmployeeForm({}, employment_forms=employment_forms)
    yield (
        "add employee, errors",
        lambda: AddEmployeeForm(
            {
                "name": "王" * 60,
                "sex": "x",
                "birth_date": "1990-13-01",
                "employment_form": "999999",
                "insurance_codes": ["110", "999"],
                "contribution_base": "-1.234",
            },
            employment_forms=employment_forms,
        ),
    )
    yield (
        "add employee, resubmission",
        lambda: AddEmployeeForm(employment_forms=employment_forms, attachments_required=False),
    )
    yield "proof", lambda: ProofIssueForm(agent=agent)
    yield "proof, errors", lambda: ProofIssueForm({"kind": "x", "month_from": "7"}, agent=agent)
    yield "records", lambda: RecordFilterForm()
    yield (
        "records, errors",
        lambda: RecordFilterForm({"q": "x" * 60, "month_from": "abc", "insurance_type": "zz"}),
    )


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_crispy_field_html_is_as_crispy_field_byte_for_byte(language):
    with translation.override(language):
        for name, make in form_makers():
            expected_form, form = make(), make()
            if form.is_bound:
                expected_form.is_valid()
                form.is_valid()
            # Twice: crispy's tag leaves its classes on the widget; the second rendering sees them.
            for _time in range(2):
                for field in form.fields:
                    expected = as_crispy_field(expected_form[field])
                    assert crispy_field_html(form[field]) == expected, (name, field)


def test_errors_are_rendered_next_to_the_field_in_chinese():
    with translation.override("zh-hans"):
        html = crispy_field_html(EveryKindForm(BAD)["text"])
    assert 'class="textinput form-control is-invalid"' in html
    assert 'value="太长的一个名字啊"' in html
    assert "<strong>确保该变量包含不超过 5 字符 (目前字符数 8)。</strong>" in html


def test_fields_crispy_does_not_cover_go_to_crispys_filter(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "portal.crispy_fields.as_crispy_field", lambda field: calls.append(field.name) or ""
    )
    form = EveryKindForm()
    for name in form.fields:
        crispy_field_html(form[name])
    assert calls == ["flag", "split"]


WIDGETS = [
    forms.TextInput(attrs={"placeholder": 'a "q" & <b>', "required": True, "disabled": False}),
    forms.NumberInput(),
    forms.EmailInput(),
    forms.HiddenInput(),
    forms.PasswordInput(render_value=True),
    forms.DateInput(format="%Y-%m-%d"),
    forms.CheckboxInput(),
    forms.FileInput(),
    forms.Textarea(),
    forms.Select(choices=[("", "---"), (1, 1000), ("a", mark_safe("<i>A</i>")), ("b", _("女"))]),
    forms.SelectMultiple(choices=[("组 & 1", [("x", "X"), ("y", "Y")]), ("z", "Z")]),
    forms.RadioSelect(choices=[("a", "A")]),  # rendered by Django's templates (no Python copy)
]
VALUES = [None, "", "x & <y>", mark_safe("<b>safe</b>"), 1234567, ["x", "z"], "a"]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("widget", WIDGETS, ids=lambda widget: type(widget).__name__)
def test_widgets_render_as_djangos_templates(widget, language):
    with translation.override(language):
        for value in VALUES:
            attrs = {"id": "id_f", "class": "form-control"}
            expected = widget.render("f", value, attrs=attrs, renderer=DjangoTemplates())
            assert widget.render("f", value, attrs=attrs, renderer=PortalFormRenderer()) == expected


def test_the_portal_renderer_is_the_default():
    assert isinstance(get_default_renderer(), PortalFormRenderer)


def test_a_template_overridden_elsewhere_is_rendered_from_its_file(tmp_path):
    widgets = tmp_path / "django" / "forms" / "widgets"
    widgets.mkdir(parents=True)
    (widgets / "input.html").write_text('<input data-overridden name="{{ widget.name }}">')

    class Overriding(PortalFormRenderer):
        @cached_property
        def engine(self):
            dirs = [tmp_path, DJANGO_FORM_TEMPLATES]
            return self.backend({"APP_DIRS": True, "DIRS": dirs, "NAME": "t", "OPTIONS": {}})

    html = forms.TextInput().render("f", "v", renderer=Overriding())
    assert html == '<input data-overridden name="f">'


def test_a_short_model_choice_field_reads_its_choices_once_per_form(django_assert_num_queries):
    class Choosing(forms.Form):
        plain = forms.ModelChoiceField(queryset=EmploymentForm.objects.all())
        short = ShortModelChoiceField(queryset=EmploymentForm.objects.all())

    form = Choosing()
    with django_assert_num_queries(1):
        first = str(form["short"])
        assert str(form["short"]) == first
    assert list(form.fields["short"].choices) == list(form.fields["plain"].choices)
    assert len(form.fields["short"].choices) > 2
    assert first == str(form["plain"]).replace('name="plain"', 'name="short"').replace(
        'id="id_plain"', 'id="id_short"'
    )


def test_a_crispy_template_the_project_overrides_is_rendered_from_its_file(settings, tmp_path):
    (tmp_path / "bootstrap5").mkdir()
    (tmp_path / "bootstrap5" / "field.html").write_text("overridden {{ field.name }}")
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [tmp_path, *engine["DIRS"]]}]
    assert crispy_field_html(EveryKindForm()["text"]) == "overridden text"


RECORD_SEARCHES = [
    {},
    {"month_from": "2026-07", "month_to": "2026-09"},
    {"month_from": "2026-08", "insurance_type": "pension"},
    {"q": "员工 01", "month_from": "2026-07", "insurance_type": "medical"},
    {"month_from": "2026-09", "month_to": "2026-07"},  # month_to has an error
    {"q": "x" * 60, "month_from": "abc", "insurance_type": "zz"},
]


def test_a_stored_field_is_the_field_crispy_prints(monkeypatch):
    """Each records search in each language, zh and en in turns, printed three times (the second
    and third from the store): what crispy_field_html prints for a new form each time."""
    from portal import crispy_fields

    monkeypatch.setattr(crispy_fields, "_STORED", {})
    for _time in range(3):
        for data in [None, *RECORD_SEARCHES]:
            for language in ("zh-hans", "en"):
                with translation.override(language):
                    form, expected_form = RecordFilterForm(data), RecordFilterForm(data)
                    form.is_valid(), expected_form.is_valid()
                    for name in form.fields:
                        expected = crispy_field_html(expected_form[name])
                        stored = crispy_fields.stored_crispy_field_html(form[name])
                        assert stored == expected, (data, language, name)
    # Stored: a value a language and field, never a field with errors.
    assert 0 < len(crispy_fields._STORED) < 2 * 7 * 4
    assert not any(value.count("is-invalid") for value in crispy_fields._STORED.values())


def test_only_a_form_that_opts_in_is_stored(monkeypatch):
    from portal import crispy_fields

    monkeypatch.setattr(crispy_fields, "_STORED", {})
    for _time in range(2):
        crispy_fields.stored_crispy_field_html(EveryKindForm()["text"])
        crispy_fields.stored_crispy_field_html(RecordFilterForm({})["q"])
    assert [key[0] for key in crispy_fields._STORED] == [RecordFilterForm]
