"""Reads of exports: what an export of the unit holds, and the unit's export jobs."""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from contributions.models import ExportJob
from contributions.records.selectors import records_for_agent
from employers.permissions import agent_has_permission
from enrollment.roster.selectors import roster_for_agent


def export_record_filters(params: dict) -> dict:
    """The records_for_agent filters of a records export's (stored, JSON) parameters."""
    return {
        "q": params.get("q", ""),
        "month_from": datetime.date.fromisoformat(params["month_from"]),
        "month_to": datetime.date.fromisoformat(params["month_to"]),
        "insurance_type": params.get("insurance_type", ""),
    }


def export_queryset(*, agent, kind: str, params: dict) -> QuerySet:
    """The rows of an export of the agent's unit, from the (already validated) filters."""
    if kind == ExportJob.Kind.ROSTER:
        return roster_for_agent(
            agent,
            q=params.get("q", ""),
            status=params.get("status", ""),
            insurance_code=params.get("insurance_code", ""),
        )
    return records_for_agent(agent, **export_record_filters(params))


def export_kinds_for_agent(agent) -> list[str]:
    """The kinds of export job the agent may see: every kind with the export permission
    (信息查询员, 单位管理员), the roster's with the roster permission (增减员经办, whose roster
    page queues them)."""
    if agent_has_permission(agent, "queries.export"):
        return list(ExportJob.Kind.values)
    if agent_has_permission(agent, "enrollment.roster"):
        return [ExportJob.Kind.ROSTER]
    return []


def export_jobs_for_agent(*, agent, any_kind: bool = False) -> QuerySet[ExportJob]:
    """The unit's export jobs the agent may see (of every kind with ``any_kind``), newest first;
    a full export only for the agent who asked."""
    jobs = ExportJob.objects.filter(employer_id=agent.employer_id)
    if not any_kind:
        jobs = jobs.filter(kind__in=export_kinds_for_agent(agent))
    return (
        jobs.filter(Q(full=False) | Q(requested_by_id=agent.pk))
        .select_related("requested_by")
        .order_by("-created_at", "-pk")
    )


def export_job_get_for_agent(*, agent, reference: str, any_kind: bool = False) -> ExportJob:
    """One job of the unit; 404 whether missing, another unit's, another agent's full export, or
    (unless ``any_kind``) of a kind the agent may not see."""
    return get_object_or_404(
        export_jobs_for_agent(agent=agent, any_kind=any_kind), reference=reference
    )


def export_job_expired(job: ExportJob, *, now: datetime.datetime | None = None) -> bool:
    """Whether the job's file is gone: past its keeping time, or finished and since deleted."""
    now = now or timezone.now()
    return bool(job.expires_at and job.expires_at <= now) or (
        job.status == ExportJob.Status.DONE and not job.file
    )


def export_jobs_recent_for_agent(*, agent, limit: int) -> list[ExportJob]:
    """The unit's latest jobs (one query), each marked ``expired`` when its file is gone."""
    jobs = list(export_jobs_for_agent(agent=agent)[:limit])
    now = timezone.now()
    for job in jobs:
        job.expired = export_job_expired(job, now=now)
    return jobs
