"""站内消息 pages: the list (unread marked, filters), one message (read on opening), mark all."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView, View

from employers.inbox.forms import InboxFilterForm
from employers.inbox.selectors import inbox_get_for_agent, inbox_page_for_agent
from employers.inbox.services import inbox_mark_all_read, inbox_mark_read
from employers.permissions import PermissionRequiredMixin


class InboxMixin(PermissionRequiredMixin):
    permission = "unit.view"


class InboxListView(InboxMixin, TemplateView):
    template_name = "employers/inbox/list.html"

    def get_context_data(self, **kwargs):
        form = InboxFilterForm(self.request.GET or None)
        filters = form.cleaned_data if form.is_valid() else {}
        page = inbox_page_for_agent(
            agent=self.agent,
            unread_only=filters.get("show") == "unread",
            category=filters.get("category") or "",
            page_number=self.request.GET.get("page") or 1,
        )
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(form=form, page_obj=page, query=query.urlencode(), **kwargs)


class InboxDetailView(InboxMixin, TemplateView):
    """Opening a message marks it read for this agent (its unread count drops at once)."""

    template_name = "employers/inbox/detail.html"

    def get(self, request, *args, **kwargs):
        message = inbox_get_for_agent(agent=self.agent, message_id=kwargs["message_id"])
        inbox_mark_read(agent=self.agent, message=message)
        return self.render_to_response(self.get_context_data(message=message))


class InboxMarkAllReadView(InboxMixin, View):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        count = inbox_mark_all_read(agent=self.agent)
        messages.success(request, _("已将 %(count)d 条消息标记为已读。") % {"count": count})
        return redirect("inbox:list")
