"""Validation runs over HTTP: who may request and read them, dedup, the text report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from hspm.common.events import catalog


def runs_path(pid, bid) -> str:
    return f"/products/{pid}/builds/{bid}/validations"


class TestRequest:
    async def test_owner_requests_a_manual_run(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid, case_id = await curation.through_review(pid)
        mark = await curation.outbox_mark()
        r = await curation.post(runs_path(pid, bid), curation.isv)
        assert r.status == 202, r
        assert r.body["trigger"] == "manual" and r.body["status"] == "queued" and r.body["outcome"] is None
        assert r.headers["Location"] == r.body["url"]
        assert r.body["path"] == f"{runs_path(pid, bid)}/{r.body['id']}"
        assert r.body["requested_by"] == {"kind": "user", "id": str(curation.isv.user_id), "name": "P"}
        [request] = await curation.events(mark)
        assert request["type"] == "curation.validation.requested"
        assert (request["trigger"], request["run_id"]) == ("manual", r.body["id"])
        # A manual run does not move the case, whatever it finds.
        await curation.complete(r.body["id"], bid, pid, "failed")
        assert (await curation.case(bid))["state"] == "awaiting_review"

    async def test_an_open_run_is_returned_instead_of_a_new_one(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await curation.submit(pid)
        submission_run = str(await curation.current_run(bid))
        mark = await curation.outbox_mark()
        r = await curation.post(runs_path(pid, bid), curation.operator)
        assert r.status == 202 and r.body["id"] == submission_run, r
        assert await curation.events(mark) == []
        await curation.complete(submission_run, bid, pid, "passed")
        first = await curation.post(runs_path(pid, bid), curation.isv)
        second = await curation.post(runs_path(pid, bid), curation.operator)
        assert first.body["id"] == second.body["id"] != submission_run
        assert len(await curation.events(mark, "curation.validation.requested")) == 1

    async def test_a_customer_may_evaluate_a_published_build_of_a_listed_product(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await curation.published(pid)
        r = await curation.post(runs_path(pid, bid), curation.customer)
        assert r.status == 202, r
        # Nobody else learns who evaluated it.
        r = await curation.get(f"{runs_path(pid, bid)}/{r.body['id']}", curation.isv)
        assert r.body["requested_by"] == {"kind": "user", "id": None, "name": None}
        r = await curation.get(f"{runs_path(pid, bid)}/{r.body['id']}", curation.operator)
        assert r.body["requested_by"]["name"] == "Carla"

    async def test_who_may_request(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid, _ = await curation.through_review(pid)
        path = runs_path(pid, bid)
        assert (await curation.post(path)).status == 401
        # Not on offer: a customer and another ISV cannot even see it.
        assert (await curation.post(path, curation.customer)).status == 404
        assert (await curation.post(path, curation.other_isv)).status == 404
        # Sees it, but lacks validations.create.
        assert (await curation.post(path, curation.auditor)).status == 403
        assert (await curation.post(runs_path(pid, uuid4()), curation.operator)).status == 404
        assert (await curation.post(runs_path(uuid4(), bid), curation.operator)).status == 404
        assert (await curation.post(runs_path(pid, "x"), curation.operator)).status == 404
        db = await curation.db()
        assert await db.fetchval("SELECT count(*) FROM validation_runs WHERE trigger = 'manual'") == 0

    async def test_published_build_of_a_hidden_product_is_not_on_offer(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await curation.published(pid)
        future = datetime.now(UTC) + timedelta(days=1)
        await curation.deliver(
            catalog.ProductPublished(product_id=pid, published_at=future, visible_at=future)
        )
        assert (await curation.post(runs_path(pid, bid), curation.customer)).status == 404
        assert (await curation.get(runs_path(pid, bid), curation.customer)).status == 404
        await curation.deliver(catalog.ProductUnpublished(product_id=pid))
        assert (await curation.get(runs_path(pid, bid), curation.customer)).status == 404
        assert (await curation.get(runs_path(pid, bid), curation.isv)).status == 200

    async def test_a_withdrawn_build_is_no_longer_on_offer(self, curation) -> None:
        """A recalled or withdrawn build is gone from the catalog: its runs go with it."""
        pid = await curation.product(curation.isv)
        bid = await curation.published(pid)
        assert (await curation.get(runs_path(pid, bid), curation.customer)).status == 200
        await curation.deliver(
            catalog.BuildWithdrawn(build_id=bid, product_id=pid, status="recalled", reason="Recalled.")
        )
        assert (await curation.post(runs_path(pid, bid), curation.customer)).status == 404
        assert (await curation.get(runs_path(pid, bid), curation.customer)).status == 404
        assert (await curation.get(runs_path(pid, bid), curation.other_isv)).status == 404
        assert (await curation.get(runs_path(pid, bid), curation.isv)).status == 200


class TestRead:
    async def test_runs_newest_first_with_rules(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid, _ = await curation.through_review(pid)
        manual = (await curation.post(runs_path(pid, bid), curation.isv)).body["id"]
        r = await curation.get(runs_path(pid, bid), curation.isv)
        assert r.status == 200, r
        assert [x["trigger"] for x in r.body["results"]] == ["manual", "submission"]
        assert r.body["results"][0]["id"] == manual and r.body["total_entries"] == 2
        done = r.body["results"][1]
        assert done["status"] == "completed" and done["outcome"] == "passed"
        assert done["timings"] == {"total": 4.2} and [x["rule"] for x in done["rules"]] == [
            "image.reference",
            "runtime.starts",
        ]
        assert done["requested_by"] == {"kind": "system", "id": None, "name": "system"}
        assert "policy" not in done
        r = await curation.get(runs_path(pid, bid) + "?order=asc&per_page=1", curation.isv)
        assert [x["trigger"] for x in r.body["results"]] == ["submission"] and r.body["next_page"] == 2

    async def test_who_may_read(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await curation.submit(pid)
        path = runs_path(pid, bid)
        run = f"{path}/{await curation.current_run(bid)}"
        assert (await curation.get(path)).status == 401
        assert (await curation.get(path, curation.customer)).status == 404
        assert (await curation.get(run, curation.other_isv)).status == 404
        assert (await curation.get(path, curation.auditor)).status == 200
        assert (await curation.get(run, curation.isv)).status == 200
        assert (await curation.get(f"{path}/{uuid4()}", curation.isv)).status == 404

    async def test_a_run_of_another_build_is_404(self, curation) -> None:
        pid = await curation.product(curation.isv)
        b1, b2 = await curation.submit(pid, "1.0.0"), await curation.submit(pid, "2.0.0")
        other = await curation.current_run(b2)
        assert (await curation.get(f"{runs_path(pid, b1)}/{other}", curation.isv)).status == 404

    async def test_text_report(self, curation) -> None:
        pid = await curation.product(curation.isv)
        bid = await curation.submit(pid)
        run_id = await curation.current_run(bid)
        path = f"{runs_path(pid, bid)}/{run_id}"
        r = await curation.get(path, curation.isv, headers={"Accept": "text/plain"})
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain"), r
        assert "Not finished yet: the run is queued." in r.body
        rules = [
            curation.rule("image.platform", "fail", evidence="only arm64", suggestion="Build for amd64."),
            curation.rule("image.reference"),
        ]
        await curation.complete(run_id, bid, pid, "failed", rules=rules)
        r = await curation.get(path, curation.isv, headers={"Accept": "text/plain, application/json"})
        assert "Verdict: FAILED" in r.body
        assert "[FAIL] image.platform" in r.body and "Evidence: only arm64" in r.body
        assert "Suggestion: Build for amd64." in r.body and "[PASS] image.reference" in r.body
        r = await curation.get(path, curation.isv, headers={"Accept": "application/json, text/plain"})
        assert r.body["outcome"] == "failed"
