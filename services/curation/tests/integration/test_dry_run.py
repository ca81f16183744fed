"""Issue 9, the ISV's dry run: validate an editable build without opening or moving a case."""

from __future__ import annotations

from uuid import UUID


def runs_path(pid, bid) -> str:
    return f"/products/{pid}/builds/{bid}/validations"


async def _case_count(curation) -> int:
    return int(await (await curation.db()).fetchval("SELECT count(*) FROM review_cases"))


class TestDryRun:
    async def test_the_owner_dry_runs_a_draft_build_and_no_case_opens(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await curation.draft(pid, tag="2.0.0-rc1", digest=None)
        assert await _case_count(curation) == 0
        mark = await curation.outbox_mark()
        r = await curation.post(runs_path(pid, bid), curation.isv)
        assert r.status == 202 and r.body["trigger"] == "dry_run", r
        [request] = await curation.events(mark, "curation.validation.requested")
        assert request["trigger"] == "dry_run" and request["run_id"] == r.body["id"]
        assert request["image"]["tag"] == "2.0.0-rc1" and request["configurations"]
        await curation.complete(UUID(r.body["id"]), bid, pid, "failed")
        assert await _case_count(curation) == 0
        assert await curation.events(mark, "curation.build.review_changed") == []
        done = await curation.get(f"{runs_path(pid, bid)}/{r.body['id']}", curation.isv)
        assert done.body["status"] == "completed" and done.body["outcome"] == "failed"

    async def test_a_sent_back_build_is_dry_run_and_its_case_does_not_move(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await curation.submit(pid)
        await curation.complete(await curation.current_run(bid), bid, pid, "failed")
        before = await curation.case(bid)
        assert before["state"] == "auto_rejected"
        await curation.draft(pid, build_id=bid, tag="1.0.1")
        mark = await curation.outbox_mark()
        r = await curation.post(runs_path(pid, bid), curation.isv)
        assert r.status == 202 and r.body["trigger"] == "dry_run", r
        [request] = await curation.events(mark, "curation.validation.requested")
        assert request["image"]["tag"] == "1.0.1"
        await curation.complete(UUID(r.body["id"]), bid, pid, "passed")
        after = await curation.case(bid)
        assert (after["state"], after["submission"], after["current_run_id"]) == (
            "auto_rejected",
            1,
            before["current_run_id"],
        )
        assert await curation.events(mark, "curation.build.review_changed") == []

    async def test_nobody_else_sees_a_draft(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await curation.draft(pid)
        for who in (curation.other_isv, curation.customer):
            assert (await curation.post(runs_path(pid, bid), who)).status == 404
        assert (await curation.post(runs_path(pid, bid))).status == 401

    async def test_a_stale_draft_event_does_not_touch_a_submitted_build(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await curation.submit(pid, "1.0.0")
        await curation.draft(pid, build_id=bid, version="0.9.0")
        version = await (await curation.db()).fetchval("SELECT version FROM builds WHERE id = $1", bid)
        assert version == "1.0.0" and (await curation.case(bid))["state"] == "validating"
