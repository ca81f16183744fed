"""Curation's review states may arrive out of order (a message nacked while the database
was away is redelivered after a later one): a build retired for good stays retired."""

from __future__ import annotations

from typing import Any
from uuid import UUID


async def _published_build(catalog: Any) -> tuple[str, str, str]:
    pid = await catalog.sql_product(catalog.isv)
    r = await catalog.post(f"/products/{pid}/builds", catalog.isv, {"build": {"version": "1.0.0"}})
    assert r.status == 201, r
    bid = r.body["id"]
    await catalog.review(bid, pid, "approved", validated=True)
    return pid, bid, r.body["path"]


async def _status(catalog: Any, bid: str) -> tuple[str, Any]:
    db = await catalog.db()
    row = await db.fetchrow("SELECT status, withdrawn_at FROM builds WHERE id = $1", UUID(bid))
    return row["status"], row["withdrawn_at"]


async def test_a_late_publication_does_not_undo_a_recall(catalog) -> None:
    pid, bid, _ = await _published_build(catalog)
    await catalog.review(bid, pid, "recalled", reason="harm")
    mark = await catalog.outbox_mark()
    await catalog.review(bid, pid, "published")  # curation's earlier move, delivered late
    await catalog.review(bid, pid, "approved", validated=True)
    status, withdrawn_at = await _status(catalog, bid)
    assert status == "recalled" and withdrawn_at is not None
    assert await catalog.events(mark) == []  # not announced as published again


async def test_a_deprecated_build_may_still_be_recalled_but_not_republished(catalog) -> None:
    pid, bid, _ = await _published_build(catalog)
    await catalog.review(bid, pid, "deprecated")
    await catalog.review(bid, pid, "published")
    assert (await _status(catalog, bid))[0] == "deprecated"
    await catalog.review(bid, pid, "recalled", reason="harm")
    assert (await _status(catalog, bid))[0] == "recalled"
