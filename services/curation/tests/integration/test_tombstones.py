"""Issue 9, the audit trail: a build or product the catalog deletes leaves a tombstone.

The case, its provenance and its runs stay readable by staff and auditors; the case
leaves every queue and its owner no longer sees it; nothing can delete provenance.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
import pytest

from hspm.common.events import catalog
from hspm.curation.reviews import scheduler

TABLES = ("products", "builds", "review_cases", "provenance", "validation_runs")


async def _counts(curation) -> dict[str, int]:
    db = await curation.db()
    return {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


async def _assert_kept_for_auditors(curation, pid: UUID, bid: UUID, case_id: UUID) -> None:
    r = await curation.get(f"/reviews/{case_id}", curation.auditor)
    assert r.status == 200 and r.body["deleted_at"] is not None, r
    assert r.body["allowed_decisions"] == []
    assert r.body["provenance"][-1]["event"] == "Build deleted"
    assert [e["event"] for e in r.body["provenance"][:3]] == [
        "Build submitted",
        "Submission received",
        "Validation passed",
    ]
    r = await curation.get(f"/reviews/{case_id}/provenance", curation.auditor)
    assert r.status == 200 and r.body["total_entries"] == 4, r
    runs = await curation.get(f"/products/{pid}/builds/{bid}/validations", curation.auditor)
    assert runs.status == 200 and runs.body["total_entries"] == 1, runs
    # The owner's queue, case and runs no longer show it; nor does anyone's default queue.
    assert (await curation.get("/reviews", curation.isv)).body["total_entries"] == 0
    assert (await curation.get(f"/reviews/{case_id}", curation.isv)).status == 404
    assert (await curation.get(f"/products/{pid}/builds/{bid}/validations", curation.isv)).status == 404
    assert (await curation.get("/reviews", curation.operator)).body["total_entries"] == 0
    r = await curation.get("/reviews?deleted=true", curation.auditor)
    assert [c["id"] for c in r.body["results"]] == [str(case_id)]
    assert (await curation.get("/reviews?deleted=true", curation.isv)).body["total_entries"] == 0


class TestTombstones:
    async def test_a_deleted_build_keeps_its_case_provenance_and_runs(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid, case_id = await curation.through_review(pid)
        before = await _counts(curation)
        await curation.deliver(catalog.BuildDeleted(build_id=bid, product_id=pid))
        after = await _counts(curation)
        assert after == before | {"provenance": before["provenance"] + 1}
        await _assert_kept_for_auditors(curation, pid, bid, case_id)
        # Closed: no decision, no run, no resubmission reopens it.
        r = await curation.post(f"/reviews/{case_id}/decisions", curation.operator, {"decision": "approve"})
        assert r.status == 409, r
        run = await curation.post(f"/products/{pid}/builds/{bid}/validations", curation.operator)
        assert run.status == 404, run
        mark = await curation.outbox_mark()
        await curation.submit(pid, "1.0.1", build_id=bid)
        assert await curation.events(mark) == []
        # A redelivered deletion adds nothing.
        await curation.deliver(catalog.BuildDeleted(build_id=bid, product_id=pid))
        assert await _counts(curation) == after

    async def test_a_deleted_product_keeps_everything(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid, case_id = await curation.through_review(pid)
        before = await _counts(curation)
        await curation.deliver(catalog.ProductDeleted(product_id=pid, owner_id=curation.isv.user_id))
        assert await _counts(curation) == before | {"provenance": before["provenance"] + 1}
        await _assert_kept_for_auditors(curation, pid, bid, case_id)

    async def test_a_deleted_published_build_is_no_longer_revalidated(self, curation) -> None:
        pid = await curation.product()
        bid = await curation.published(pid)
        await (await curation.db()).execute(
            "UPDATE validation_runs SET completed_at = completed_at - interval '2 days' WHERE build_id = $1",
            bid,
        )
        await curation.deliver(catalog.BuildDeleted(build_id=bid, product_id=pid))
        assert (await scheduler.revalidate_once(curation.pool, 86_400.0, 3_600.0)).requested == 0

    async def test_provenance_cannot_be_deleted(self, curation) -> None:
        pid = await curation.product()
        await curation.submit(pid)
        db = await curation.db()
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await db.execute("DELETE FROM provenance")
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await db.execute("DELETE FROM builds")
