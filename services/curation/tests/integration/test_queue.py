"""Issue 9, the fair validation queue: limits with 429 and Retry-After, fair release.

Release order is asserted through the outbox (the order the validator is asked in),
never through timing: with one run in flight at most, each report releases the next.
"""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID, uuid4

from hspm.curation.reviews import scheduler


def runs_path(pid, bid) -> str:
    return f"/products/{pid}/builds/{bid}/validations"


def customer(curation, name: str = "Another customer"):
    return replace(curation.customer, user_id=uuid4(), name=name)


async def _released(curation, mark: int) -> list[str]:
    """Run ids of the ValidationRequested written after ``mark``, in outbox order."""
    return [e["run_id"] for e in await curation.events(mark, "curation.validation.requested")]


async def _catalogue(curation, n: int) -> tuple[UUID, list[UUID]]:
    pid = await curation.product(curation.isv)
    return pid, [await curation.published(pid, f"1.0.{i}") for i in range(n)]


async def _finish(curation, run_id: str, pid: UUID) -> None:
    db = await curation.db()
    bid = await db.fetchval("SELECT build_id FROM validation_runs WHERE id = $1", UUID(run_id))
    await curation.complete(UUID(run_id), bid, pid, "passed")


class TestLimits:
    async def test_too_many_runs_of_one_requester_is_429_with_retry_after(self, curation) -> None:
        pid, builds = await _catalogue(curation, 3)
        await curation.limits(max_open_per_requester=2)
        first = await curation.post(runs_path(pid, builds[0]), curation.customer)
        assert (await curation.post(runs_path(pid, builds[1]), curation.customer)).status == 202
        db = await curation.db()
        runs = await db.fetchval("SELECT count(*) FROM validation_runs")
        mark = await curation.outbox_mark()
        r = await curation.post(runs_path(pid, builds[2]), curation.customer)
        assert r.status == 429 and r.headers["Retry-After"] == "60", r
        assert r.body["status"] == 429 and r.body["retry_after"] == 60 and "at most 2" in r.body["detail"]
        assert r.headers["Content-Type"].startswith("application/problem+json")
        # Nothing changed, and asking again for a build whose run is open is no new run.
        assert await db.fetchval("SELECT count(*) FROM validation_runs") == runs
        assert await curation.events(mark) == []
        again = await curation.post(runs_path(pid, builds[0]), curation.customer)
        assert again.status == 202 and again.body["id"] == first.body["id"], again
        # Another requester is not held to this one's count; staff are not limited.
        assert (await curation.post(runs_path(pid, builds[2]), customer(curation))).status == 202

    async def test_too_many_runs_of_one_product_is_429(self, curation) -> None:
        pid, builds = await _catalogue(curation, 3)
        await curation.limits(max_open_per_product=2)
        assert (await curation.post(runs_path(pid, builds[0]), customer(curation, "A"))).status == 202
        assert (await curation.post(runs_path(pid, builds[1]), customer(curation, "B"))).status == 202
        r = await curation.post(runs_path(pid, builds[2]), customer(curation, "C"))
        assert r.status == 429 and r.headers["Retry-After"] == "60", r
        assert (await curation.post(runs_path(pid, builds[2]), curation.operator)).status == 202

    async def test_a_finished_run_makes_room_again(self, curation) -> None:
        pid, builds = await _catalogue(curation, 2)
        await curation.limits(max_open_per_requester=1)
        first = await curation.post(runs_path(pid, builds[0]), curation.customer)
        assert (await curation.post(runs_path(pid, builds[1]), curation.customer)).status == 429
        await curation.complete(UUID(first.body["id"]), builds[0], pid, "passed")
        assert (await curation.post(runs_path(pid, builds[1]), curation.customer)).status == 202


class TestFairRelease:
    async def test_a_flood_of_evaluations_does_not_delay_another_owners_submission(self, curation) -> None:
        pid, builds = await _catalogue(curation, 4)
        await curation.limits(max_in_flight=1, max_open_per_requester=50, max_open_per_product=50)
        mark = await curation.outbox_mark()
        evaluations = [(await curation.post(runs_path(pid, b), curation.customer)).body["id"] for b in builds]
        assert await _released(curation, mark) == evaluations[:1]  # one in flight, the rest wait
        theirs = await curation.product(curation.other_isv)
        submitted = await curation.submit(theirs, owner=curation.other_isv)
        submission = str(await curation.current_run(submitted))
        assert (await curation.case(submitted))["state"] == "validating"
        run = await curation.get(f"{runs_path(theirs, submitted)}/{submission}", curation.other_isv)
        assert run.body["status"] == "queued" and run.body["dispatched_at"] is None
        order = []
        for _ in range(4):
            step = await curation.outbox_mark()
            await _finish(curation, (await _released(curation, 0))[-1], pid)
            order += await _released(curation, step)
        assert order == [submission, *evaluations[1:]]

    async def test_one_requester_cannot_starve_another(self, curation) -> None:
        pid, builds = await _catalogue(curation, 5)
        await curation.limits(max_in_flight=1, max_open_per_requester=50, max_open_per_product=50)
        flood = [(await curation.post(runs_path(pid, b), curation.customer)).body["id"] for b in builds[:4]]
        late = (await curation.post(runs_path(pid, builds[4]), customer(curation))).body["id"]
        mark = await curation.outbox_mark()
        order = []
        for _ in range(4):
            step = await curation.outbox_mark()
            await _finish(curation, (await _released(curation, 0))[-1], pid)
            order += await _released(curation, step)
        # Round-robin: the other requester's first run goes right after the flood's first.
        assert order == [late, *flood[1:]]
        assert await _released(curation, mark) == order

    async def test_a_waiting_run_is_not_lost_and_is_released_when_room_is_made(self, curation) -> None:
        await curation.limits(max_in_flight=1)
        pid = await curation.product()
        first, second = await curation.submit(pid, "1.0.0"), await curation.submit(pid, "2.0.0")
        waiting = await curation.current_run(second)
        db = await curation.db()
        await db.execute(
            "UPDATE validation_runs SET requested_at = requested_at - interval '2 hours', "
            "dispatched_at = dispatched_at - interval '2 hours'"
        )
        mark = await curation.outbox_mark()
        done = await scheduler.revalidate_once(curation.pool, 86_400.0, 3_600.0)
        assert done.expired == 1  # the released one; the waiting one was never sent
        assert await _released(curation, mark) == [str(waiting)]
        assert (await curation.case(first))["state"] == "awaiting_review"
        assert (await curation.case(second))["state"] == "validating"
