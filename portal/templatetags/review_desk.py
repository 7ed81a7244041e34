"""The admin index's links to the clerk's review home and report (portal/admin_queue.py)."""

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from portal.review_stats import review_types_for

register = template.Library()


@register.simple_tag(takes_context=True)
def review_desk_links(context) -> list[tuple[str, str, str]]:
    """(url, label, explanation) of the review pages, for users who may see a reviewable type."""
    request = context.get("request")
    if request is None or not review_types_for(request.user):
        return []
    return [
        (
            reverse("review_desk:home"),
            _("审核工作台"),
            _("各类业务待处理、今日到期和已超期的件数"),
        ),
        (
            reverse("review_desk:report"),
            _("审核统计"),
            _("按业务类型、统筹区和状态统计,近30日审核用时"),
        ),
    ]
