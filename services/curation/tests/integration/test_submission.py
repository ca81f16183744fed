"""Submission → validation → awaiting review or auto-rejection; resubmission; idempotency."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from hspm.common.events import catalog, validator


async def _provenance(curation, build_id: UUID) -> list[tuple[str | None, str, str]]:
    rows = await (await curation.db()).fetch(
        "SELECT p.from_state, p.to_state, p.event FROM provenance p JOIN review_cases c ON c.id = p.case_id "
        "WHERE c.build_id = $1 ORDER BY p.id",
        build_id,
    )
    return [(r["from_state"], r["to_state"], r["event"]) for r in rows]


class TestSubmission:
    async def test_opens_a_case_requests_a_run_and_validates(self, curation) -> None:
        pid = await curation.product()
        mark = await curation.outbox_mark()
        bid = await curation.submit(pid, "1.2.0")
        case = await curation.case(bid)
        assert case["state"] == "validating" and case["submission"] == 1
        assert await _provenance(curation, bid) == [
            (None, "submitted", "Build submitted"),
            ("submitted", "validating", "Submission received"),
        ]
        [request] = await curation.events(mark, "curation.validation.requested")
        assert request["run_id"] == str(case["current_run_id"]) and request["trigger"] == "submission"
        assert request["build_id"] == str(bid) and request["version"] == "1.2.0"
        assert request["image"] == {
            "registry": "registry.example.org",
            "repository": "acme/app",
            "tag": "1.2.0",
            "digest": "sha256:" + "a" * 64,
        }
        assert request["mime_type"] == "application/smart.v1" and request["has_asset"] is True
        assert request["configurations"][0]["tasks"][0]["memory_maximum"] == 512
        assert request["exposures"][0]["interface_uri"] == "http://hl7.org/fhir/R4"
        assert request["policy"]["required_labels"] == ["org.opencontainers.image.title"]
        assert "runtime.starts" in request["policy"]["required_rules"]
        # One announcement per transaction: the state the case rests in.
        [changed] = await curation.events(mark, "curation.build.review_changed")
        assert changed["state"] == "validating" and changed["build_id"] == str(bid)
        run = await (await curation.db()).fetchrow(
            "SELECT status, trigger, requested_by FROM validation_runs WHERE id = $1", case["current_run_id"]
        )
        assert dict(run) == {"status": "queued", "trigger": "submission", "requested_by": None}

    async def test_the_owner_comes_from_the_submission(self, curation) -> None:
        pid, owner = uuid4(), curation.other_isv
        bid = await curation.submit(pid, owner=owner)
        r = await curation.get(f"/reviews?build_id={bid}", owner)
        assert r.status == 200 and r.body["total_entries"] == 1, r


class TestValidationOutcome:
    async def test_passed_awaits_review(self, curation) -> None:
        pid = await curation.product()
        bid = await curation.submit(pid)
        run_id = await curation.current_run(bid)
        mark = await curation.outbox_mark()
        await curation.complete(run_id, bid, pid, "passed", summary="All good.")
        case = await curation.case(bid)
        assert case["state"] == "awaiting_review" and case["attention"] is False
        assert (await _provenance(curation, bid))[-1] == (
            "validating",
            "awaiting_review",
            "Validation passed",
        )
        [changed] = await curation.events(mark, "curation.build.review_changed")
        assert changed["state"] == "awaiting_review" and changed["reason"] == "All good."
        run = await (await curation.db()).fetchrow("SELECT * FROM validation_runs WHERE id = $1", run_id)
        assert run["status"] == "completed" and run["outcome"] == "passed" and run["completed_at"]
        assert run["timings"] == {"total": 4.2} and run["runtime"] == {"status": "ran", "reason": None}
        assert [r["rule"] for r in run["rules"]] == ["image.reference", "runtime.starts"]

    async def test_failed_is_rejected_automatically_naming_the_rules(self, curation) -> None:
        pid = await curation.product()
        bid = await curation.submit(pid)
        rules = [
            curation.rule("image.platform", "fail"),
            curation.rule("user.non_root", "fail", required=False),
            curation.rule("env.names", "fail", waived="legacy image"),
            curation.rule("runtime.starts", "fail"),
        ]
        mark = await curation.outbox_mark()
        await curation.complete(await curation.current_run(bid), bid, pid, "failed", rules=rules)
        assert (await curation.case(bid))["state"] == "auto_rejected"
        remark = await (await curation.db()).fetchval(
            "SELECT remark FROM provenance ORDER BY id DESC LIMIT 1"
        )
        assert remark == "Required rules failed: image.platform, runtime.starts."
        [changed] = await curation.events(mark, "curation.build.review_changed")
        assert changed["state"] == "auto_rejected" and changed["reason"] == remark

    async def test_error_goes_to_an_operator_with_attention(self, curation) -> None:
        pid = await curation.product()
        bid = await curation.submit(pid)
        run_id = await curation.current_run(bid)
        await curation.complete(run_id, bid, pid, "error", rules=[], error="registry unreachable")
        case = await curation.case(bid)
        assert case["state"] == "awaiting_review" and case["attention"] is True
        assert "registry unreachable" in case["attention_reason"]
        assert (await _provenance(curation, bid))[-1][2] == "Validation could not run"
        r = await curation.get("/reviews?attention=true", curation.operator)
        assert [c["build_id"] for c in r.body["results"]] == [str(bid)]

    async def test_started_moves_the_run_to_running_once(self, curation) -> None:
        pid = await curation.product()
        bid = await curation.submit(pid)
        run_id = await curation.current_run(bid)
        await curation.deliver(validator.ValidationStarted(run_id=run_id, build_id=bid, attempt=2))
        db = await curation.db()
        row = await db.fetchrow(
            "SELECT status, attempt, started_at FROM validation_runs WHERE id = $1", run_id
        )
        assert row["status"] == "running" and row["attempt"] == 2 and row["started_at"] is not None
        await curation.complete(run_id, bid, pid, "passed")
        await curation.deliver(validator.ValidationStarted(run_id=run_id, build_id=bid, attempt=3))
        assert await db.fetchval("SELECT status FROM validation_runs WHERE id = $1", run_id) == "completed"

    async def test_unknown_run_is_ignored(self, curation) -> None:
        mark = await curation.outbox_mark()
        await curation.complete(uuid4(), uuid4(), uuid4(), "passed")
        await curation.deliver(validator.ValidationStarted(run_id=uuid4(), build_id=uuid4()))
        assert await curation.events(mark) == []


class TestIdempotency:
    async def test_a_redelivered_completion_changes_nothing(self, curation) -> None:
        pid = await curation.product()
        bid = await curation.submit(pid)
        event = curation.completion(await curation.current_run(bid), bid, pid, "failed")
        await curation.deliver(event)
        mark = await curation.outbox_mark()
        entries = len(await _provenance(curation, bid))
        await curation.deliver(event)
        assert await curation.events(mark) == []
        assert len(await _provenance(curation, bid)) == entries

    async def test_a_second_completion_of_a_finished_run_is_ignored(self, curation) -> None:
        """Another event id (the validator retried): the first report stands."""
        pid = await curation.product()
        bid = await curation.submit(pid)
        run_id = await curation.current_run(bid)
        await curation.complete(run_id, bid, pid, "passed")
        mark = await curation.outbox_mark()
        await curation.complete(run_id, bid, pid, "failed")
        assert await curation.events(mark) == []
        assert (await curation.case(bid))["state"] == "awaiting_review"
        outcome = await (await curation.db()).fetchval(
            "SELECT outcome FROM validation_runs WHERE id = $1", run_id
        )
        assert outcome == "passed"

    async def test_a_redelivered_submission_opens_nothing_more(self, curation) -> None:
        pid = await curation.product()
        event = curation.snapshot(uuid4(), pid, curation.isv.user_id, "1.0.0")
        await curation.deliver(event)
        await curation.deliver(event)
        db = await curation.db()
        assert await db.fetchval("SELECT count(*) FROM validation_runs") == 1
        assert await db.fetchval("SELECT count(*) FROM provenance") == 2


class TestResubmission:
    @pytest.mark.parametrize("sent_back", ["auto_rejected", "rejected", "changes_requested"])
    async def test_reopens_the_same_case(self, curation, sent_back: str) -> None:
        pid = await curation.product()
        bid = await curation.submit(pid)
        first_run = await curation.current_run(bid)
        if sent_back == "auto_rejected":
            await curation.complete(first_run, bid, pid, "failed")
        else:
            await curation.complete(first_run, bid, pid, "passed")
            decision = "reject" if sent_back == "rejected" else "request_changes"
            case_id = (await curation.case(bid))["id"]
            r = await curation.post(
                f"/reviews/{case_id}/decisions",
                curation.operator,
                {"decision": decision, "reason": "Fix it."},
            )
            assert r.status == 200, r
        before = await curation.case(bid)
        assert before["state"] == sent_back
        mark = await curation.outbox_mark()
        await curation.submit(pid, "1.0.1", build_id=bid)
        after = await curation.case(bid)
        assert after["id"] == before["id"] and after["submission"] == 2 and after["state"] == "validating"
        assert after["current_run_id"] != first_run
        [request] = await curation.events(mark, "curation.validation.requested")
        assert request["version"] == "1.0.1" and request["run_id"] == str(after["current_run_id"])
        assert (await _provenance(curation, bid))[-2:] == [
            (sent_back, "submitted", "Build resubmitted"),
            ("submitted", "validating", "Submission received"),
        ]
        # The old run's late report no longer moves the case.
        await curation.complete(first_run, bid, pid, "failed")
        assert (await curation.case(bid))["state"] == "validating"

    async def test_is_ignored_while_the_case_is_open(self, curation) -> None:
        pid = await curation.product()
        bid = await curation.submit(pid)
        mark = await curation.outbox_mark()
        await curation.submit(pid, "9.9.9", build_id=bid)
        assert await curation.events(mark) == []
        case = await curation.case(bid)
        assert case["state"] == "validating" and case["submission"] == 1
        version = await (await curation.db()).fetchval("SELECT version FROM builds WHERE id = $1", bid)
        assert version == "1.0.0"


class TestPublication:
    async def test_catalog_publication_moves_approved_to_published(self, curation) -> None:
        pid = await curation.product()
        bid, case_id = await curation.through_review(pid)
        await curation.post(f"/reviews/{case_id}/decisions", curation.operator, {"decision": "approve"})
        mark = await curation.outbox_mark()
        now = datetime.now(UTC)
        await curation.deliver(catalog.BuildPublished(build_id=bid, product_id=pid, published_at=now))
        assert (await curation.case(bid))["state"] == "published"
        [changed] = await curation.events(mark, "curation.build.review_changed")
        assert changed["state"] == "published"
        assert (await _provenance(curation, bid))[-1] == ("approved", "published", "Published")
        # The catalog hearing "published" and publishing again moves nothing further.
        mark = await curation.outbox_mark()
        await curation.deliver(catalog.BuildPublished(build_id=bid, product_id=pid, published_at=now))
        assert await curation.events(mark) == []

    async def test_publication_of_a_build_not_approved_is_ignored(self, curation) -> None:
        pid = await curation.product()
        bid = await curation.submit(pid)
        await curation.deliver(
            catalog.BuildPublished(build_id=bid, product_id=pid, published_at=datetime.now(UTC))
        )
        assert (await curation.case(bid))["state"] == "validating"
