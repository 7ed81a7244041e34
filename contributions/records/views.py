"""查询统计 pages: contribution records with totals, and why a record is missing.

The exports of 查询统计 live in contributions.exports.views.
"""

from __future__ import annotations

from django.views.generic import TemplateView

from contributions.records.causes import missing_record_cause_lookup, records_filter_cause
from contributions.records.forms import MissingCauseForm, RecordFilterForm
from contributions.records.selectors import records_for_agent, records_page, records_totals_of
from employers.permissions import PermissionRequiredMixin, agent_has_permission


class QueriesMixin(PermissionRequiredMixin):
    permission = "queries.view"

    def get_context_data(self, **kwargs):
        return super().get_context_data(current_module="queries", **kwargs)


class RecordListView(QueriesMixin, TemplateView):
    """The unit's records by person, month range and insurance type, with totals."""

    template_name = "contributions/record_list.html"

    def get_context_data(self, **kwargs):
        form = RecordFilterForm(self.request.GET)
        filters = form.filters()
        context = {
            "form": form,
            "typed": form.query_params(),
            "may_export": agent_has_permission(self.agent, "queries.export"),
        }
        if filters is not None:
            queryset = records_for_agent(self.agent, **filters)
            totals = records_totals_of(agent=self.agent, queryset=queryset, filters=filters)
            query = self.request.GET.copy()
            query.pop("page", None)
            context.update(
                filters=filters,
                totals=totals,
                page=records_page(queryset, self.request.GET.get("page"), totals=totals),
                query=query.urlencode(),
            )
            # One person and one month: say why the record is missing or not yet settled.
            found = records_filter_cause(agent=self.agent, filters=filters)
            if found is not None:
                context["cause"], context["cause_person"] = found.cause, found.person
        return super().get_context_data(**context, **kwargs)


class MissingCauseView(QueriesMixin, TemplateView):
    """查询某人某月无记录原因."""

    template_name = "contributions/record_missing_cause.html"

    def get_context_data(self, **kwargs):
        data = self.request.GET if self.request.GET else None
        form = MissingCauseForm(data)
        context = {"form": form}
        if data is not None and form.is_valid():
            month = form.cleaned_data["month"]
            found = missing_record_cause_lookup(
                agent=self.agent,
                q=form.cleaned_data["q"],
                person_id=form.cleaned_data.get("person"),
                month=month,
            )
            if found.error:
                form.add_error("q", found.error)
            else:
                context["cause"] = found.cause
                if found.person is not None:
                    context["person"] = found.person
            context["month"] = month
        return super().get_context_data(**context, **kwargs)
