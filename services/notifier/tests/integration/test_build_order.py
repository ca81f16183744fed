"""The catalog's build events may arrive out of order (one nacked while the database was
away is redelivered after a later one): a withdrawn or recalled build stays so."""

from __future__ import annotations

from datetime import UTC, datetime

from hspm.common.events import catalog


async def test_a_late_publication_does_not_make_a_recalled_build_deployable(notifier) -> None:
    pid, bid = await notifier.published_build()
    await notifier.deliver(catalog.BuildWithdrawn(build_id=bid, product_id=pid, status="recalled"))
    late = catalog.BuildPublished(build_id=bid, product_id=pid, published_at=datetime.now(UTC))
    await notifier.deliver(late)
    row = await (await notifier.db()).fetchrow("SELECT published, status FROM builds WHERE id = $1", bid)
    assert (row["published"], row["status"]) == (False, "recalled")
