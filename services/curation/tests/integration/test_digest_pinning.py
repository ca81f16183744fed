"""Issue 9, digest pinning: an approved build is exactly the image that was validated.

A build submitted by tag is pinned to the digest its submission's run resolved; the
pin travels in ``curation.build.review_changed``, approval publishes it, every later
run of the build pulls it, and only scheduled (and submission) runs postpone the
nightly re-validation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from hspm.common.events import catalog
from hspm.curation.reviews import scheduler

DAY = 86_400.0
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


async def _by_tag(curation, pid: UUID, version: str = "1.0.0", build_id: UUID | None = None) -> UUID:
    """A submission that names a tag and no digest (what a pin protects against)."""
    bid = build_id or uuid4()
    event = curation.snapshot(bid, pid, curation.isv.user_id, version)
    await curation.deliver(event.model_copy(update={"digest": None}))
    return bid


async def _approve(curation, bid: UUID):
    case_id = (await curation.case(bid))["id"]
    return await curation.post(f"/reviews/{case_id}/decisions", curation.operator, {"decision": "approve"})


async def _published(curation, pid: UUID, digest: str = D1) -> UUID:
    bid = await _by_tag(curation, pid)
    await curation.complete(await curation.current_run(bid), bid, pid, "passed", digest=digest)
    assert (await _approve(curation, bid)).status == 200
    now = datetime.now(UTC)
    await curation.deliver(catalog.BuildPublished(build_id=bid, product_id=pid, published_at=now))
    return bid


async def _age_runs(curation, build_id: UUID, seconds: float) -> None:
    await (await curation.db()).execute(
        "UPDATE validation_runs SET requested_at = requested_at - make_interval(secs => $2), "
        "dispatched_at = dispatched_at - make_interval(secs => $2), "
        "completed_at = completed_at - make_interval(secs => $2) WHERE build_id = $1",
        build_id,
        seconds,
    )


class TestDigestPinning:
    async def test_the_report_pins_the_digest_and_the_move_announces_it(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await _by_tag(curation, pid)
        mark = await curation.outbox_mark()
        await curation.complete(await curation.current_run(bid), bid, pid, "passed", digest=D1)
        case = await curation.case(bid)
        assert case["state"] == "awaiting_review" and case["image_digest"] == D1
        [changed] = await curation.events(mark, "curation.build.review_changed")
        assert (changed["state"], changed["image_digest"]) == ("awaiting_review", D1)
        r = await curation.get(f"/reviews/{case['id']}", curation.isv)
        assert r.body["image_digest"] == D1 and r.body["validation"]["digest"] == D1

    async def test_an_auto_rejection_is_pinned_too(self, curation) -> None:
        pid = await curation.product()
        bid = await _by_tag(curation, pid)
        mark = await curation.outbox_mark()
        await curation.complete(await curation.current_run(bid), bid, pid, "failed", digest=D1)
        [changed] = await curation.events(mark, "curation.build.review_changed")
        assert (changed["state"], changed["image_digest"]) == ("auto_rejected", D1)

    async def test_approval_publishes_exactly_the_pinned_digest(self, curation) -> None:
        pid = await curation.product()
        bid = await _by_tag(curation, pid)
        await curation.complete(await curation.current_run(bid), bid, pid, "passed", digest=D1)
        mark = await curation.outbox_mark()
        r = await _approve(curation, bid)
        assert r.status == 200 and r.body["image_digest"] == D1, r
        [changed] = await curation.events(mark)
        assert (changed["state"], changed["validated"], changed["image_digest"]) == ("approved", True, D1)

    async def test_a_build_with_no_pinned_digest_cannot_be_approved(self, curation) -> None:
        pid = await curation.product()
        bid = await _by_tag(curation, pid)
        run_id = await curation.current_run(bid)
        await curation.complete(run_id, bid, pid, "error", rules=[], digest=None, error="registry down")
        mark = await curation.outbox_mark()
        r = await _approve(curation, bid)
        assert r.status == 409 and "no validated image digest" in r.body["detail"], r
        assert r.body["allowed_decisions"] == ["reject", "request_changes"]
        assert (await curation.case(bid))["state"] == "awaiting_review"
        assert await curation.events(mark) == []

    async def test_revalidation_requests_the_pinned_digest(self, curation) -> None:
        pid = await curation.product()
        bid = await _published(curation, pid, D1)
        await _age_runs(curation, bid, DAY + 60)
        mark = await curation.outbox_mark()
        assert (await scheduler.revalidate_once(curation.pool, DAY, 3_600.0)).requested == 1
        [request] = await curation.events(mark, "curation.validation.requested")
        assert request["trigger"] == "scheduled"
        # repository@digest: whatever the tag names today is not what gets judged.
        assert request["image"]["digest"] == D1 and request["image"]["repository"] == "acme/app"

    async def test_a_manual_run_of_an_approved_build_requests_the_pinned_digest(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await _published(curation, pid, D1)
        mark = await curation.outbox_mark()
        r = await curation.post(f"/products/{pid}/builds/{bid}/validations", curation.customer)
        assert r.status == 202 and r.body["trigger"] == "manual", r
        [request] = await curation.events(mark, "curation.validation.requested")
        assert request["image"]["digest"] == D1

    async def test_a_pinned_digest_no_longer_pullable_flags_the_case(self, curation) -> None:
        pid = await curation.product()
        bid = await _published(curation, pid, D1)
        # Even where the operator does not require the rule: the approved bytes are gone.
        policy = (await curation.get("/validation_policy", curation.operator)).body
        required = [r for r in policy["required_rules"] if r != "image.resolvable"]
        body = policy | {"required_rules": required}
        assert (await curation.put("/validation_policy", curation.operator, body)).status == 200
        await _age_runs(curation, bid, DAY + 60)
        await scheduler.revalidate_once(curation.pool, DAY, 3_600.0)
        run_id = await (await curation.db()).fetchval(
            "SELECT id FROM validation_runs WHERE build_id = $1 AND trigger = 'scheduled'", bid
        )
        gone = curation.rule("image.resolvable", "fail", required=False, evidence="manifest unknown")
        await curation.complete(run_id, bid, pid, "passed", rules=[gone], digest=None)
        case = await curation.case(bid)
        assert case["state"] == "published" and case["attention"] is True
        assert case["attention_reason"] == f"{D1} can no longer be pulled: manifest unknown"

    async def test_manual_runs_do_not_postpone_revalidation(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await _published(curation, pid, D1)
        await _age_runs(curation, bid, DAY + 60)
        # A customer's evaluation just now, finished: it is not the operator's re-validation.
        r = await curation.post(f"/products/{pid}/builds/{bid}/validations", curation.customer)
        await curation.complete(UUID(r.body["id"]), bid, pid, "passed", digest=D1)
        mark = await curation.outbox_mark()
        assert (await scheduler.revalidate_once(curation.pool, DAY, 3_600.0)).requested == 1
        [request] = await curation.events(mark, "curation.validation.requested")
        assert request["trigger"] == "scheduled" and request["build_id"] == str(bid)

    async def test_a_resubmission_pins_the_new_digest(self, curation) -> None:
        pid = await curation.product()
        bid = await _by_tag(curation, pid)
        await curation.complete(await curation.current_run(bid), bid, pid, "failed", digest=D1)
        assert (await curation.case(bid))["image_digest"] == D1
        mark = await curation.outbox_mark()
        await _by_tag(curation, pid, "1.0.1", build_id=bid)
        case = await curation.case(bid)
        assert case["state"] == "validating" and case["image_digest"] is None
        [validating] = await curation.events(mark, "curation.build.review_changed")
        assert validating["image_digest"] is None
        [request] = await curation.events(mark, "curation.validation.requested")
        assert request["image"]["digest"] is None and request["image"]["tag"] == "1.0.1"
        mark = await curation.outbox_mark()
        await curation.complete(case["current_run_id"], bid, pid, "passed", digest=D2)
        assert (await curation.case(bid))["image_digest"] == D2
        [changed] = await curation.events(mark, "curation.build.review_changed")
        assert (changed["state"], changed["image_digest"]) == ("awaiting_review", D2)
        mark = await curation.outbox_mark()
        assert (await _approve(curation, bid)).status == 200
        [approved] = await curation.events(mark)
        assert approved["image_digest"] == D2
