"""参保人员查询 pages (信息查询员): search, one person's page, the 个人权益记录 PDF.

The search form POSTs; the results are at ``?s=<token>`` (a name or a document number never goes
into an address: portal.search_tokens). ``?year=`` names only a year.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.generic import TemplateView, View

from contributions.persons.forms import PersonSearchForm, PersonYearForm
from contributions.persons.selectors import person_rights_get_for_agent, person_search_for_agent
from contributions.persons.services import person_rights_print
from employers.permissions import PermissionRequiredMixin
from portal.search_tokens import search_read, search_redirect

PDF_FILENAME = "个人权益记录-%s-%s.pdf"


class PersonsMixin(PermissionRequiredMixin):
    permission = "queries.view"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="queries", **kwargs)


class PersonSearchView(PersonsMixin, TemplateView):
    """The unit's persons by full name, the beginning of a name, or a full document number."""

    template_name = "contributions/persons/search.html"

    def post(self, request, *args, **kwargs):
        form = PersonSearchForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        return search_redirect(request, {"q": form.cleaned_data["q"]})

    def get_context_data(self, form=None, **kwargs):
        result = None
        if form is None:  # a refused POST shows its form; a GET answers the search it names
            search = search_read(self.request, self.request.GET.get("s"))
            form = PersonSearchForm(search.data or None)
            if form.is_bound and form.is_valid():
                result = person_search_for_agent(agent=self.agent, q=form.cleaned_data["q"])
        return super().get_context_data(form=form, result=result, **kwargs)


class PersonDetailView(PersonsMixin, TemplateView):
    """One person's enrolments with the unit and 个人权益记录; 404 for anyone else."""

    template_name = "contributions/persons/detail.html"

    def get_context_data(self, **kwargs):
        year = PersonYearForm(self.request.GET).year_or_default()
        rights = person_rights_get_for_agent(
            agent=self.agent, person_id=self.kwargs["person_id"], year=year
        )
        return super().get_context_data(rights=rights, person=rights.person, **kwargs)


class PersonRightsPdfView(PersonsMixin, View):
    """The 个人权益记录 as a PDF download (audited)."""

    def get(self, request, *args, **kwargs):
        person_id = self.kwargs["person_id"]
        data = person_rights_print(
            agent=self.agent,
            person_id=person_id,
            year=PersonYearForm(request.GET).year_or_default(),
            request=request,
        )
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True,
            filename=PDF_FILENAME % (person_id, f"{timezone.localdate():%Y%m%d}"),
        )
        response["Cache-Control"] = "private, no-store"
        return response
