"""The unit's own kinds of filing in 已办业务查询 (portal.filings): changes and questions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from employers.models import Question, UnitChangeFiling
from portal import filings


def register() -> None:
    """Register the kinds with portal.filings (from AppConfig.ready)."""
    filings.register(
        filings.FilingKind(
            key="unit_change",
            label=_("单位信息变更"),
            model=UnitChangeFiling,
            url_name="unitinfo:change_detail",
            url_field="pk",
            permission="unit.view",
            # A withdrawn change never became a filing the hall worked on.
            exclude=lambda queryset: queryset.exclude(stage=UnitChangeFiling.Stage.CANCELLED),
        )
    )
    filings.register(
        filings.FilingKind(
            key="question",
            label=_("留言咨询"),
            model=Question,
            submitted_field="created_at",
            state_field="state",
            comment_field=None,
            states=dict(Question.State.choices),
            outcomes={
                filings.Outcome.OPEN: [Question.State.OPEN.value],
                filings.Outcome.DONE: [Question.State.ANSWERED.value, Question.State.CLOSED.value],
            },
            url_name="helpdesk:detail",
            permission="unit.view",
        )
    )
