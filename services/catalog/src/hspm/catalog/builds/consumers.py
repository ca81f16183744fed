"""Curation's decisions drive a build's status and publication."""

from __future__ import annotations

import structlog

from hspm.catalog.builds import store
from hspm.catalog.events import emit
from hspm.common.db import Conn
from hspm.common.events import catalog as ev
from hspm.common.events import curation

log = structlog.get_logger(__name__)

PUBLISHING = frozenset({"approved", "published"})
RETIRING = frozenset({"deprecated", "withdrawn", "recalled"})


async def on_build_review_changed(conn: Conn, event: curation.BuildReviewChanged) -> None:
    """Mirror the review state; approval publishes, deprecation/withdrawal/recall retires."""
    state = "published" if event.state in PUBLISHING else event.state
    build = await store.set_status(conn, event.build_id, state, event.reason)
    if build is None:
        # Deleted meanwhile (or never ours): nothing to mirror, and nothing to retry.
        log.info("build.review_ignored", build_id=str(event.build_id), state=event.state)
        return
    if event.validated:
        await store.mark_validated(conn, event.build_id)
    if event.state in PUBLISHING:
        published = await store.mark_published(conn, event.build_id)
        assert published is not None
        await emit(
            conn,
            ev.BuildPublished(
                build_id=event.build_id,
                product_id=build["product_id"],
                published_at=published["published_at"],
            ),
        )
    elif event.state in RETIRING:
        await store.mark_withdrawn(conn, event.build_id)
        await emit(
            conn,
            ev.BuildWithdrawn(
                build_id=event.build_id,
                product_id=build["product_id"],
                status=event.state,
                reason=event.reason,
            ),
        )
