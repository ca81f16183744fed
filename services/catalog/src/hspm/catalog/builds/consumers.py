"""Curation's decisions drive a build's status, its publication and the product's badges."""

from __future__ import annotations

from hspm.catalog.builds.service import lifecycle
from hspm.common.db import Conn
from hspm.common.events import curation


async def on_build_review_changed(conn: Conn, event: curation.BuildReviewChanged) -> None:
    """Mirror the review state and pin the validated digest: approval publishes (and awards
    badges), retirement withdraws."""
    await lifecycle.review_changed(
        conn, event.build_id, event.state, event.reason, event.validated, event.badge_ids, event.image_digest
    )
