"""The review queue, a case with provenance, and decisions, per persona."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import pytest

from hspm.common.events import catalog


def persona_with(curation, keys):
    return replace(curation.nobody, permissions=frozenset(keys), user_id=uuid4())


async def _decide(curation, case_id, who, **body):
    return await curation.post(f"/reviews/{case_id}/decisions", who, body)


class TestQueue:
    async def test_oldest_first_with_the_envelope(self, curation) -> None:
        pid = await curation.product()
        builds = [await curation.submit(pid, f"1.0.{i}") for i in range(3)]
        r = await curation.get("/reviews?per_page=2", curation.operator)
        assert r.status == 200, r
        assert [c["build_id"] for c in r.body["results"]] == [str(b) for b in builds[:2]]
        assert (r.body["total_entries"], r.body["total_pages"], r.body["next_page"]) == (3, 2, 2)
        case = r.body["results"][0]
        assert case["state"] == "validating" and case["version"] == "1.0.0"
        assert case["allowed_decisions"] == [] and case["path"] == f"/reviews/{case['id']}"
        assert case["url"] == "http://marketplace.test" + case["path"]
        r = await curation.get("/reviews?order=desc", curation.auditor)
        assert [c["build_id"] for c in r.body["results"]] == [str(b) for b in reversed(builds)]

    async def test_filters(self, curation) -> None:
        p1, p2 = await curation.product(), await curation.product()
        b1, _ = await curation.through_review(p1)
        b2 = await curation.submit(p2)
        op = curation.operator
        got = await curation.get("/reviews?state=awaiting_review", op)
        assert [c["build_id"] for c in got.body["results"]] == [str(b1)]
        got = await curation.get(f"/reviews?product_id={p2}", op)
        assert [c["build_id"] for c in got.body["results"]] == [str(b2)]
        got = await curation.get(f"/reviews?build_id={b1}&attention=false", op)
        assert [c["build_id"] for c in got.body["results"]] == [str(b1)]
        assert (await curation.get("/reviews?attention=true", op)).body["results"] == []

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("state=open", "state"),
            ("product_id=x", "product_id"),
            ("attention=maybe", "attention"),
            ("sort=version", "sort"),
            ("per_page=0", "per_page"),
        ],
    )
    async def test_bad_filters_are_422(self, curation, query: str, field: str) -> None:
        r = await curation.get(f"/reviews?{query}", curation.operator)
        assert r.status == 422 and field in r.errors, r

    async def test_who_sees_what(self, curation) -> None:
        mine = await curation.product(curation.isv)
        theirs = await curation.product(curation.other_isv)
        b_mine = await curation.submit(mine)
        await curation.submit(theirs, owner=curation.other_isv)
        assert (await curation.get("/reviews")).status == 401
        got = await curation.get("/reviews", curation.isv)
        assert [c["build_id"] for c in got.body["results"]] == [str(b_mine)]
        assert (await curation.get("/reviews", curation.customer)).body["total_entries"] == 0
        assert (await curation.get("/reviews", curation.auditor)).body["total_entries"] == 2

    async def test_a_scoped_token_without_reviews_read_sees_no_own_cases(self, curation) -> None:
        pid = await curation.product(curation.isv)
        await curation.submit(pid)
        scoped = replace(curation.isv, scopes=frozenset({"validations.create"}))
        assert (await curation.get("/reviews", scoped)).body["total_entries"] == 0
        allowed = replace(curation.isv, scopes=frozenset({"reviews.read"}))
        assert (await curation.get("/reviews", allowed)).body["total_entries"] == 1


class TestCase:
    async def test_shows_provenance_and_the_latest_run(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid, case_id = await curation.through_review(pid)
        r = await curation.get(f"/reviews/{case_id}", curation.isv)
        assert r.status == 200, r
        assert r.body["state"] == "awaiting_review"
        assert r.body["allowed_decisions"] == ["approve", "reject", "request_changes"]
        assert [e["event"] for e in r.body["provenance"]] == [
            "Build submitted",
            "Submission received",
            "Validation passed",
        ]
        first = r.body["provenance"][0]
        assert first["attribution"] == {"kind": "user", "id": str(curation.isv.user_id), "name": None}
        assert r.body["provenance"][2]["attribution"]["kind"] == "validator"
        run = r.body["validation"]
        assert run["outcome"] == "passed" and run["status"] == "completed" and run["policy"]["required_rules"]
        assert run["path"] == f"/products/{pid}/builds/{bid}/validations/{run['id']}"
        assert r.body["build_url"] == f"http://marketplace.test/products/{pid}/builds/{bid}"

    async def test_who_may_read_a_case(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await curation.submit(pid)
        case_id = (await curation.case(bid))["id"]
        path = f"/reviews/{case_id}"
        assert (await curation.get(path)).status == 401
        assert (await curation.get(path, curation.other_isv)).status == 404
        assert (await curation.get(path, curation.customer)).status == 404
        assert (await curation.get(path, curation.auditor)).status == 200
        assert (await curation.get(path + "/provenance", curation.other_isv)).status == 404
        assert (await curation.get(f"/reviews/{uuid4()}", curation.operator)).status == 404
        assert (await curation.get("/reviews/not-a-uuid", curation.operator)).status == 404

    async def test_provenance_pages(self, curation) -> None:
        pid = await curation.product()
        _, case_id = await curation.through_review(pid)
        r = await curation.get(f"/reviews/{case_id}/provenance?per_page=2", curation.isv)
        assert r.status == 200, r
        assert [e["to_state"] for e in r.body["results"]] == ["submitted", "validating"]
        assert r.body["total_entries"] == 3 and r.body["next_page"] == 2
        r = await curation.get(f"/reviews/{case_id}/provenance?order=desc", curation.operator)
        assert r.body["results"][0]["to_state"] == "awaiting_review"

    async def test_provenance_is_append_only(self, curation) -> None:
        pid = await curation.product()
        await curation.submit(pid)
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await (await curation.db()).execute("UPDATE provenance SET remark = 'rewritten'")


class TestDecisions:
    async def test_approve_announces_validated_and_badges(self, curation) -> None:
        pid = await curation.product()
        bid, case_id = await curation.through_review(pid)
        badges = [str(uuid4()), str(uuid4())]
        mark = await curation.outbox_mark()
        r = await _decide(
            curation, case_id, curation.operator, decision="approve", reason="Fine.", badge_ids=badges
        )
        assert r.status == 200, r
        assert r.body["state"] == "approved" and r.body["allowed_decisions"] == []
        entry = r.body["provenance"][-1]
        assert (entry["event"], entry["remark"], entry["badge_ids"]) == ("Approved", "Fine.", badges)
        assert entry["attribution"] == {
            "kind": "user",
            "id": str(curation.operator.user_id),
            "name": "Olga Operator",
        }
        [changed] = await curation.events(mark)
        assert changed["type"] == "curation.build.review_changed"
        assert (changed["state"], changed["validated"], changed["badge_ids"]) == ("approved", True, badges)
        assert changed["build_id"] == str(bid) and changed["product_id"] == str(pid)

    async def test_approving_after_a_broken_run_is_not_validated(self, curation) -> None:
        pid = await curation.product()
        bid = await curation.submit(pid)
        await curation.complete(await curation.current_run(bid), bid, pid, "error", error="timeout")
        case_id = (await curation.case(bid))["id"]
        mark = await curation.outbox_mark()
        assert (await _decide(curation, case_id, curation.operator, decision="approve")).status == 200
        [changed] = await curation.events(mark)
        assert changed["validated"] is False
        assert (await curation.case(bid))["attention"] is False

    @pytest.mark.parametrize(
        ("decision", "state"), [("reject", "rejected"), ("request_changes", "changes_requested")]
    )
    async def test_send_back_with_a_reason(self, curation, decision: str, state: str) -> None:
        pid = await curation.product()
        _, case_id = await curation.through_review(pid)
        mark = await curation.outbox_mark()
        r = await _decide(curation, case_id, curation.admin, decision=decision, reason="Memory too high.")
        assert r.status == 200 and r.body["state"] == state, r
        [changed] = await curation.events(mark)
        assert (changed["state"], changed["reason"], changed["validated"]) == (
            state,
            "Memory too high.",
            False,
        )

    async def test_deprecate_then_withdraw_a_published_build(self, curation) -> None:
        pid = await curation.product()
        bid = await curation.published(pid)
        case_id = (await curation.case(bid))["id"]
        r = await curation.get(f"/reviews/{case_id}", curation.operator)
        assert r.body["allowed_decisions"] == ["deprecate", "withdraw"]
        r = await _decide(curation, case_id, curation.operator, decision="deprecate")
        assert r.status == 200 and r.body["state"] == "deprecated", r
        assert r.body["allowed_decisions"] == ["withdraw"]
        assert (await _decide(curation, case_id, curation.operator, decision="withdraw")).status == 422
        mark = await curation.outbox_mark()
        r = await _decide(curation, case_id, curation.operator, decision="withdraw", reason="End of life.")
        assert r.status == 200 and r.body["state"] == "withdrawn", r
        assert [e["state"] for e in await curation.events(mark)] == ["withdrawn"]
        # The catalog echoes the withdrawal: only the read copy changes.
        await curation.deliver(
            catalog.BuildWithdrawn(build_id=bid, product_id=pid, status="withdrawn", reason="End of life.")
        )
        row = await (await curation.db()).fetchrow(
            "SELECT status, withdrawn_at FROM builds WHERE id = $1", bid
        )
        assert row["status"] == "withdrawn" and row["withdrawn_at"] is not None
        assert (await curation.case(bid))["state"] == "withdrawn"

    async def test_illegal_decision_is_409_naming_the_open_ones(self, curation) -> None:
        pid = await curation.product()
        bid = await curation.submit(pid)
        case_id = (await curation.case(bid))["id"]
        mark = await curation.outbox_mark()
        r = await _decide(curation, case_id, curation.operator, decision="approve")
        assert r.status == 409 and r.body["allowed_decisions"] == [], r
        assert "validating" in r.body["detail"]
        await curation.complete(await curation.current_run(bid), bid, pid, "passed")
        mark = await curation.outbox_mark()
        r = await _decide(curation, case_id, curation.operator, decision="deprecate")
        assert r.status == 409 and r.body["allowed_decisions"] == ["approve", "reject", "request_changes"], r
        assert await curation.events(mark) == []
        assert (await curation.case(bid))["state"] == "awaiting_review"

    async def test_deciding_needs_only_reviews_update(self, curation) -> None:
        pid = await curation.product()
        _, case_id = await curation.through_review(pid)
        decider = persona_with(curation, {"reviews.update"})
        r = await _decide(curation, case_id, decider, decision="reject", reason="No.")
        assert r.status == 200 and r.body["state"] == "rejected", r

    async def test_who_may_decide(self, curation) -> None:
        pid = await curation.product(curation.isv)
        _, case_id = await curation.through_review(pid)
        body = {"decision": "approve"}
        assert (await curation.post(f"/reviews/{case_id}/decisions", None, body)).status == 401
        assert (await curation.post(f"/reviews/{case_id}/decisions", curation.isv, body)).status == 403
        assert (await curation.post(f"/reviews/{case_id}/decisions", curation.auditor, body)).status == 403
        assert (await curation.post(f"/reviews/{uuid4()}/decisions", curation.operator, body)).status == 404
        assert (await curation.get(f"/reviews/{case_id}", curation.isv)).body["state"] == "awaiting_review"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"decision": "reject"}, "reason"),
            ({"decision": "request_changes", "reason": "   "}, "reason"),
            ({"decision": "withdraw"}, "reason"),
            ({"decision": "reject", "reason": "x", "badge_ids": [str(uuid4())]}, "badge_ids"),
            ({"decision": "approve", "badge_ids": ["nope"]}, "badge_ids.0"),
            ({"decision": "publish"}, "decision"),
            ({"decision": "approve", "colour": "red"}, "colour"),
        ],
    )
    async def test_bad_bodies_are_422_and_change_nothing(self, curation, body, field: str) -> None:
        pid = await curation.product()
        bid, case_id = await curation.through_review(pid)
        mark = await curation.outbox_mark()
        r = await curation.post(f"/reviews/{case_id}/decisions", curation.operator, body)
        assert r.status == 422 and field in r.errors, r
        assert await curation.events(mark) == []
        assert (await curation.case(bid))["state"] == "awaiting_review"

    async def test_wrapped_body_and_malformed_json(self, curation) -> None:
        pid = await curation.product()
        _, case_id = await curation.through_review(pid)
        path = f"/reviews/{case_id}/decisions"
        r = await curation.post(
            path, curation.operator, data=b"{", headers={"Content-Type": "application/json"}
        )
        assert r.status == 400 and r.headers["Content-Type"].startswith("application/problem+json"), r
        r = await curation.post(path, curation.operator, {"decision": {"decision": "approve"}})
        assert r.status == 200 and r.body["state"] == "approved", r


class TestReadCopy:
    async def test_ownership_follows_the_catalog(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await curation.submit(pid)
        case_id = (await curation.case(bid))["id"]
        await curation.deliver(
            catalog.ProductUpdated(product_id=pid, owner_id=curation.other_isv.user_id, name="P")
        )
        assert (await curation.get(f"/reviews/{case_id}", curation.isv)).status == 404
        assert (await curation.get(f"/reviews/{case_id}", curation.other_isv)).status == 200

    async def test_publication_events_out_of_order(self, curation) -> None:
        pid = await curation.product(listed=False)
        later, earlier = datetime.now(UTC), datetime(2020, 1, 1, tzinfo=UTC)
        await curation.deliver(catalog.ProductUnpublished(product_id=pid, occurred_at=later))
        await curation.deliver(
            catalog.ProductPublished(
                product_id=pid, published_at=earlier, visible_at=earlier, occurred_at=earlier
            )
        )
        row = await (await curation.db()).fetchrow("SELECT published_at FROM products WHERE id = $1", pid)
        assert row["published_at"] is None
        await curation.deliver(catalog.ProductPublished(product_id=pid, published_at=later, visible_at=later))
        row = await (await curation.db()).fetchrow(
            "SELECT published_at, owner_id FROM products WHERE id = $1", pid
        )
        assert row["published_at"] == later and row["owner_id"] == curation.isv.user_id

    async def test_unknown_ids_in_catalog_events_are_harmless(self, curation) -> None:
        mark = await curation.outbox_mark()
        await curation.deliver(catalog.BuildDeleted(build_id=uuid4(), product_id=uuid4()))
        await curation.deliver(
            catalog.BuildWithdrawn(build_id=uuid4(), product_id=uuid4(), status="recalled")
        )
        await curation.deliver(catalog.ProductDeleted(product_id=uuid4(), owner_id=uuid4()))
        assert await curation.events(mark) == []
        assert await (await curation.db()).fetchval("SELECT count(*) FROM builds") == 0
