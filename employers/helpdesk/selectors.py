"""Reads of the 留言板, scoped to the asking agent's unit, and of the help pages' regions."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import Case, IntegerField, Q, Value, When
from django.shortcuts import get_object_or_404

from employers.models import Agent, Question, QuestionMessage
from portal.models import Region

PAGE_SIZE = 20


def question_page_for_agent(*, agent: Agent, page_number=1) -> Page:
    """One page of the unit's questions, newest first, with who asked."""
    questions = (
        Question.objects.filter(employer_id=agent.employer_id)
        .select_related("agent")
        .order_by("-created_at", "-pk")
    )
    return Paginator(questions, PAGE_SIZE).get_page(page_number)


def question_get_for_agent(*, agent: Agent, reference: str) -> Question:
    """One question of the agent's unit; 404 whether it is missing or another unit's."""
    return get_object_or_404(
        Question.objects.select_related("agent"), reference=reference, employer_id=agent.employer_id
    )


def question_thread(question: Question) -> list[QuestionMessage]:
    """The question's messages in order, with the asking agents."""
    return list(question.messages.select_related("agent").order_by("created_at", "pk"))


def question_attachment_get_for_agent(*, agent: Agent, message_id: int) -> QuestionMessage:
    """A message with an attachment of the agent's unit; 404 otherwise (missing or another's)."""
    return get_object_or_404(
        QuestionMessage.objects.select_related("question").exclude(attachment=""),
        pk=message_id,
        question__employer_id=agent.employer_id,
    )


def help_regions(*, first_region_id: int | None = None) -> list[Region]:
    """The regions whose office gave a hotline or hours, the given one (the agent's) first."""
    # Not all of GB/T 2260 (manage.py load_regions): only the regions that have an office here.
    listed = Q(is_active=True) & ~Q(hotline="", service_hours="")
    if first_region_id is not None:
        listed |= Q(pk=first_region_id)
    regions = Region.objects.filter(listed)
    if first_region_id is not None:
        regions = regions.annotate(
            mine=Case(
                When(pk=first_region_id, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        ).order_by("mine", "code")
    return list(regions)
