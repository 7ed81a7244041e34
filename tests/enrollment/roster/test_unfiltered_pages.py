"""The roster's pages without a filter or a search build no filter form (the form is printed
only into the stored fragment): the same pages as binding and cleaning the form gave."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from employers.models import Role
from enrollment.models import Enrolment, InsuranceCode
from enrollment.roster import views
from enrollment.roster.selectors import PAGE_SIZE, roster_page
from enrollment.roster.views import RosterFilterForm, RosterView
from portal.search_tokens import search_read
from portal.templatetags import portal_tags, row_tags
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

ROSTER = "/enrollment/roster/"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


class OldRosterFilterForm(RosterFilterForm):
    """The form as it was: its choices lists, not callables."""

    status = forms.ChoiceField(
        label=_("参保状态"), required=False, choices=[("", _("全部")), *Enrolment.Status.choices]
    )
    insurance_code = forms.ChoiceField(
        label=_("参保险种"), required=False, choices=[("", _("全部")), *InsuranceCode.choices]
    )


def old_context(self, **kwargs):
    """RosterView.get_context_data as it was: the old form bound to the search's data always."""
    search = search_read(self.request, self.request.GET.get("s"), filters=views.PLAIN_FILTERS)
    form = OldRosterFilterForm(search.data)
    filters = form.filters()
    page = roster_page(self.agent, self.request.GET.get("page"), **filters)
    return super(RosterView, self).get_context_data(
        form=form,
        filters=filters,
        page=page,
        rows=page.object_list,
        search=search,
        query=search.query,
        may_export_full=views.full_export_allowed(self.agent),
        **kwargs,
    )


@pytest.fixture
def agent_client(client):
    employer = create_employer()
    for index in range(PAGE_SIZE + 2):
        create_enrolment(
            employer,
            name=f"王<{index}>",
            status=[Enrolment.Status.ACTIVE, Enrolment.Status.TERMINATED][index % 2],
        )
    agent = create_agent(employer, roles=[Role.UNIT_ADMIN, Role.ENROLMENT])
    client.force_login(agent.user)
    return client


def test_an_empty_form_cleans_to_empty_filters():
    assert RosterFilterForm({}).filters() == dict.fromkeys(views.FILTER_NAMES, "")
    assert views.FILTER_NAMES == ("q", "status", "insurance_code")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_form_with_choices_callables_is_the_form_with_lists(language):
    values = ["", "active", "terminated", "Active", "x", "410", "510", "999", " 410", None]
    names = ["", "王", " 王 五 ", "x" * 50, "x" * 51, "11010519491231002X"]
    with translation.override(language):
        for name in ("status", "insurance_code"):
            new, old = RosterFilterForm().fields[name], OldRosterFilterForm().fields[name]
            assert [(v, str(label)) for v, label in new.choices] == [
                (v, str(label)) for v, label in old.choices
            ]
            assert len(list(new.choices)) > 2
        for q in names:
            for status in values:
                for code in values:
                    data = {"q": q, "status": status, "insurance_code": code}
                    data = {key: value for key, value in data.items() if value is not None}
                    filters = RosterFilterForm(data).filters()
                    assert filters == OldRosterFilterForm(data).filters()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_unfiltered_pages_print_what_the_bound_form_printed(agent_client, monkeypatch, language):
    searched = agent_client.post(ROSTER, {"q": "王<1"})["Location"]
    addresses = [
        ROSTER,
        f"{ROSTER}?page=2",
        f"{ROSTER}?page=99",
        f"{ROSTER}?page=x",
        f"{ROSTER}?s=expired",  # an unknown token: the empty search, a message
        f"{ROSTER}?status=active",
        searched,
        f"{searched}&page=2",
    ]
    new_get = RosterView.get_context_data
    for address in addresses:
        pages = []
        for get_context_data in (old_context, new_get):
            # Each way from an empty store: the stored fragments are rendered with its form.
            portal_tags.fragments_clear()
            row_tags.stored_bodies_clear()
            monkeypatch.setattr(RosterView, "get_context_data", get_context_data)
            response = agent_client.get(address, HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code == 200
            pages.append(CSRF.sub("", response.content.decode()))
        assert pages[0] == pages[1], address
    with translation.override(language):
        assert str(RosterFilterForm.base_fields["q"].label) in pages[1]
