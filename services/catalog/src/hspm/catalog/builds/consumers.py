"""Curation's decisions drive a build's status, its publication and the product's badges."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

import asyncpg
import structlog

from hspm.catalog.builds import store
from hspm.catalog.events import emit
from hspm.catalog.products import store as badges
from hspm.common.db import Conn
from hspm.common.events import catalog as ev
from hspm.common.events import curation

log = structlog.get_logger(__name__)

PUBLISHING = frozenset({"approved", "published"})
RETIRING = frozenset({"deprecated", "withdrawn", "recalled"})


async def on_build_review_changed(conn: Conn, event: curation.BuildReviewChanged) -> None:
    """Mirror the review state; approval publishes (and awards badges), retirement withdraws."""
    state = "published" if event.state in PUBLISHING else event.state
    build = await store.set_status(conn, event.build_id, state, event.reason)
    if build is None:
        # Deleted meanwhile (or never ours): nothing to mirror, and nothing to retry.
        log.info("build.review_ignored", build_id=str(event.build_id), state=event.state)
        return
    if event.validated:
        await store.mark_validated(conn, event.build_id)
    if event.state in PUBLISHING:
        await _publish(conn, build)
        if event.state == "approved":
            await _award(conn, build["product_id"], event.badge_ids, event.reason)
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


async def _publish(conn: Conn, build: asyncpg.Record) -> None:
    """Publish once: curation announces ``approved``, then ``published`` when it hears back."""
    if build["published_at"] is not None and build["withdrawn_at"] is None:
        return
    published = await store.mark_published(conn, build["id"])
    assert published is not None
    await emit(
        conn,
        ev.BuildPublished(
            build_id=build["id"], product_id=build["product_id"], published_at=published["published_at"]
        ),
    )


async def _award(conn: Conn, product_id: UUID, badge_ids: Sequence[UUID], reason: str | None) -> None:
    """The badges the operator awarded with the approval; an award already there is kept."""
    for badge_id in badge_ids:
        if await badges.get_badge(conn, badge_id) is None:
            log.warning("build.badge_unknown", badge_id=str(badge_id), product_id=str(product_id))
            continue
        if await badges.get_award(conn, product_id, badge_id) is not None:
            continue
        fields = {"id": uuid4(), "badge_id": badge_id, "product_id": product_id, "reason": reason}
        await badges.insert_award(conn, fields)
