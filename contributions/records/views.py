"""查询统计 pages: contribution records with totals, and why a record is missing.

The search forms POST; the results are at ``?s=<token>`` with the months and the insurance type
(a name or a document number never goes into an address: portal.search_tokens). The exports of
查询统计 live in contributions.exports.views.
"""

from __future__ import annotations

from django.views.generic import TemplateView

from contributions.records.causes import missing_record_cause_lookup, records_filter_cause
from contributions.records.forms import RECORD_PLAIN_FILTERS, MissingCauseForm, RecordFilterForm
from contributions.records.selectors import records_for_agent, records_page, records_totals_of
from employers.permissions import PermissionRequiredMixin, agent_has_permission
from portal.search_tokens import Search, search_read, search_redirect


class QueriesMixin(PermissionRequiredMixin):
    permission = "queries.view"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="queries", **kwargs)


class RecordListView(QueriesMixin, TemplateView):
    """The unit's records by person, month range and insurance type, with totals."""

    template_name = "contributions/record_list.html"

    def post(self, request, *args, **kwargs):
        form = RecordFilterForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        typed = form.query_params()
        return search_redirect(
            request,
            {"q": form.cleaned_data["q"]},
            **{name: typed[name] for name in RECORD_PLAIN_FILTERS},
        )

    def get_context_data(self, form=None, **kwargs):
        search = Search()  # a refused POST shows its form, no results
        if form is None:
            search = search_read(
                self.request, self.request.GET.get("s"), filters=RECORD_PLAIN_FILTERS
            )
            form = RecordFilterForm(search.data)
        filters = form.filters()
        context = {
            "form": form,
            "typed": form.query_params(),
            "may_export": agent_has_permission(self.agent, "queries.export"),
        }
        if filters is not None:
            # The records' queryset serves a person filter only (the rest is compiled SQL).
            queryset = records_for_agent(self.agent, **filters) if filters["q"] else None
            totals = records_totals_of(agent=self.agent, queryset=queryset, filters=filters)
            page = records_page(
                agent=self.agent,
                filters=filters,
                page_number=self.request.GET.get("page"),
                totals=totals,
                queryset=queryset,
            )
            context.update(
                filters=filters,
                totals=totals,
                page=page,
                query=search.query,
            )
            # One person and one month: say why the record is missing or not yet settled.
            found = records_filter_cause(agent=self.agent, filters=filters)
            if found is not None:
                context["cause"], context["cause_person"] = found.cause, found.person
        return super().get_context_data(**context, **kwargs)


class MissingCauseView(QueriesMixin, TemplateView):
    """查询某人某月无记录原因."""

    template_name = "contributions/record_missing_cause.html"

    def post(self, request, *args, **kwargs):
        form = MissingCauseForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        terms = {"q": form.cleaned_data["q"], "person": str(form.cleaned_data["person"] or "")}
        return search_redirect(request, terms, month=form.data.get("month", ""))

    def get_context_data(self, form=None, **kwargs):
        context = {}
        if form is None:  # a refused POST shows its form; a GET answers the search it names
            search = search_read(self.request, self.request.GET.get("s"), filters=("month",))
            form = MissingCauseForm(search.data or None)
            if form.is_bound and form.is_valid():
                month = form.cleaned_data["month"]
                found = missing_record_cause_lookup(
                    agent=self.agent,
                    q=form.cleaned_data["q"],
                    person_id=form.cleaned_data.get("person"),
                    month=month,
                )
                if found.error:
                    form.add_error("q", found.error)
                    context["candidates"] = found.candidates
                else:
                    context["cause"] = found.cause
                    if found.person is not None:
                        context["person"] = found.person
                context["month"] = month
        return super().get_context_data(form=form, **context, **kwargs)
