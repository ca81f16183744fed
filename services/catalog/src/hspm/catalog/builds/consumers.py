"""Curation's decisions drive a build's status and publication."""

from __future__ import annotations

from hspm.common.db import Conn
from hspm.common.events import curation


async def on_build_review_changed(conn: Conn, event: curation.BuildReviewChanged) -> None:
    """Mirror the review state; approval publishes, deprecation/withdrawal/recall retires."""
