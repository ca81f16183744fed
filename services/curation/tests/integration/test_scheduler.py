"""Scheduled re-validation: which builds are due, what a failure does, lost runs, replicas."""

from __future__ import annotations

import asyncio
from uuid import UUID

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from hspm.common.testing import TEST_INTERNAL_SECRET, broker, unique
from hspm.curation.app import create_app
from hspm.curation.config import Settings
from hspm.curation.keys import scheduler_key
from hspm.curation.reviews import scheduler
from hspm.curation.reviews.service import Pass
from hspm.curation.validations.store import SCHEDULER_LOCK

DAY = 86_400.0


async def _age_runs(curation, build_id: UUID, seconds: float) -> None:
    """Pretend the build's runs were requested, released and finished ``seconds`` ago."""
    await (await curation.db()).execute(
        "UPDATE validation_runs SET requested_at = requested_at - make_interval(secs => $2), "
        "dispatched_at = dispatched_at - make_interval(secs => $2), "
        "completed_at = completed_at - make_interval(secs => $2) WHERE build_id = $1",
        build_id,
        seconds,
    )


async def _pass(curation, interval: float = DAY, timeout: float = 3_600.0) -> Pass:
    return await scheduler.revalidate_once(curation.pool, interval, timeout)


async def _scheduled(curation, build_id: UUID) -> list[UUID]:
    rows = await (await curation.db()).fetch(
        "SELECT id FROM validation_runs WHERE build_id = $1 AND trigger = 'scheduled'", build_id
    )
    return [r["id"] for r in rows]


class TestPass:
    async def test_requests_the_latest_published_build_once_due(self, curation) -> None:
        pid = await curation.product()
        old = await curation.published(pid, "1.0.0")
        new = await curation.published(pid, "1.1.0")
        pending, _ = await curation.through_review(pid, "2.0.0")
        assert await _pass(curation) == Pass()  # everything was validated just now
        for build in (old, new, pending):
            await _age_runs(curation, build, DAY + 60)
        mark = await curation.outbox_mark()
        assert await _pass(curation) == Pass(requested=1)
        [request] = await curation.events(mark)
        assert request["type"] == "curation.validation.requested" and request["trigger"] == "scheduled"
        assert request["build_id"] == str(new)
        assert request["policy"]["required_rules"]
        # Open now: the next pass does not pile another run on it.
        assert await _pass(curation) == Pass()
        run = await (await curation.db()).fetchrow(
            "SELECT requested_by, requested_by_name FROM validation_runs WHERE id = $1",
            UUID(request["run_id"]),
        )
        assert dict(run) == {"requested_by": None, "requested_by_name": "system"}

    async def test_a_failure_flags_the_case_without_withdrawing(self, curation) -> None:
        pid = await curation.product()
        bid = await curation.published(pid)
        await _age_runs(curation, bid, DAY + 1)
        await _pass(curation)
        [run_id] = await _scheduled(curation, bid)
        mark = await curation.outbox_mark()
        rules = [curation.rule("image.resolvable", "fail")]
        await curation.complete(run_id, bid, pid, "failed", rules=rules)
        case = await curation.case(bid)
        assert case["state"] == "published" and case["attention"] is True
        assert case["attention_reason"] == "Required rules failed: image.resolvable."
        assert await curation.events(mark) == []  # not a state change: nothing to announce
        r = await curation.get(f"/reviews/{case['id']}", curation.operator)
        entry = r.body["provenance"][-1]
        assert (entry["event"], entry["from_state"], entry["to_state"]) == (
            "Re-validation failed",
            "published",
            "published",
        )
        assert entry["run_id"] == str(run_id) and entry["attribution"]["kind"] == "validator"
        # The next scheduled pass that passes lowers the flag.
        await _age_runs(curation, bid, DAY + 1)
        await _pass(curation)
        latest = [r for r in await _scheduled(curation, bid) if r != run_id]
        await curation.complete(latest[0], bid, pid, "passed")
        case = await curation.case(bid)
        assert case["attention"] is False and case["state"] == "published"

    async def test_a_manual_failure_does_not_flag(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await curation.published(pid)
        r = await curation.post(f"/products/{pid}/builds/{bid}/validations", curation.customer)
        await curation.complete(r.body["id"], bid, pid, "failed")
        assert (await curation.case(bid))["attention"] is False

    async def test_lost_runs_are_closed_as_errors(self, curation) -> None:
        pid = await curation.product()
        bid = await curation.submit(pid)
        run_id = await curation.current_run(bid)
        assert (await _pass(curation, timeout=3_600)).expired == 0
        await _age_runs(curation, bid, 3_601)
        assert (await _pass(curation, timeout=3_600)).expired == 1
        run = await (await curation.db()).fetchrow("SELECT * FROM validation_runs WHERE id = $1", run_id)
        assert run["status"] == "completed" and run["outcome"] == "error"
        assert "no report from the validator" in run["error"]
        case = await curation.case(bid)
        assert case["state"] == "awaiting_review" and case["attention"] is True
        # The real report arriving late is ignored.
        await curation.complete(run_id, bid, pid, "failed")
        assert (await curation.case(bid))["state"] == "awaiting_review"

    async def test_one_replica_passes_at_a_time(self, curation) -> None:
        pid = await curation.product()
        bid = await curation.published(pid)
        await _age_runs(curation, bid, DAY + 1)
        db = await curation.db()
        async with db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock($1)", SCHEDULER_LOCK)
            assert await _pass(curation) == Pass(skipped=True)
        results = await asyncio.gather(_pass(curation), _pass(curation))
        assert sum(r.requested for r in results) == 1
        assert len(await _scheduled(curation, bid)) == 1


async def test_the_loop_runs_in_the_app_and_stops_cleanly(pg_dsn, amqp_url) -> None:
    name = unique("hspm_test_curation_loop")
    settings = Settings(
        database_url=pg_dsn.rsplit("/", 1)[0] + "/" + name,
        amqp_url=amqp_url,
        amqp_namespace=broker.namespace("tcur"),
        internal_secret=TEST_INTERNAL_SECRET,
        db_pool_min=1,
        db_pool_max=2,
        revalidate_interval_seconds=0.05,
    )
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    task = client.server.app[scheduler_key]
    try:
        await asyncio.sleep(0.2)
        assert not task.done()
    finally:
        await client.close()
        # Stopped by its event, not cancelled by the shutdown's bounded wait, and no error.
        assert task.done() and not task.cancelled() and task.exception() is None
        conn = await asyncpg.connect(pg_dsn.rsplit("/", 1)[0] + "/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
