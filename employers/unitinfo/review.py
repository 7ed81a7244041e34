"""How a unit change filing (单位信息变更) takes part in the review workflow (portal.review)."""

from __future__ import annotations

from employers.models import UnitChangeFiling
from portal import review


def register() -> None:
    """Register the UnitChangeFiling hooks with the review workflow (from AppConfig.ready)."""
    review.register(UnitChangeFiling)
