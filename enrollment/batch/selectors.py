"""Reads of batch imports, scoped to the asking agent's unit."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _

from enrollment.models import (
    BatchImport,
)


def batch_import_list_for_agent(*, agent):
    """The imports of the agent's unit, newest first."""
    return BatchImport.objects.filter(employer_id=agent.employer_id).order_by("-created_at")


def batch_import_get_for_agent(*, agent, reference: str) -> BatchImport:
    """One import of the agent's unit; 404 whether it is missing or another unit's."""
    batch = batch_import_list_for_agent(agent=agent).filter(reference=reference).first()
    if batch is None:
        raise Http404(_("没有找到该批量增员记录。"))
    return batch
