"""Recalls: SemVer ranges or ids, what they reach, who may issue and read them."""

from __future__ import annotations

from uuid import uuid4

import pytest


async def _catalogue(curation, owner=None):
    """A product with builds in several states: {version: build id}."""
    pid = await curation.product(owner or curation.isv)
    builds = {v: await curation.published(pid, v) for v in ("1.0.0", "1.1.0", "1.2.3-rc.1", "1.2.3", "2.0.0")}
    case = (await curation.case(builds["1.0.0"]))["id"]
    r = await curation.post(f"/reviews/{case}/decisions", curation.operator, {"decision": "deprecate"})
    assert r.status == 200, r
    builds["1.1.5"], _ = await curation.through_review(pid, "1.1.5")  # awaiting review: not on offer
    return pid, builds


async def _states(curation, builds) -> dict[str, str]:
    return {v: (await curation.case(b))["state"] for v, b in builds.items()}


class TestIssue:
    async def test_by_semver_range(self, curation) -> None:
        pid, builds = await _catalogue(curation)
        mark = await curation.outbox_mark()
        body = {
            "product_id": str(pid),
            "versions": ">=1.0.0 <1.2.3",
            "severity": "critical",
            "reason": "CVE-2026-0001 in the FHIR parser.",
            "fixed_build_id": str(builds["2.0.0"]),
            "deadline": "2026-12-01T00:00:00",
        }
        r = await curation.post("/recalls", curation.operator, body)
        assert r.status == 201, r
        hit = {"1.0.0", "1.1.0", "1.2.3-rc.1"}
        assert sorted(r.body["build_ids"]) == sorted(str(builds[v]) for v in hit)
        assert r.headers["Location"] == r.body["url"] == f"http://marketplace.test/recalls/{r.body['id']}"
        assert r.body["deadline"] == "2026-12-01T00:00:00Z" and r.body["versions"] == ">=1.0.0 <1.2.3"
        assert r.body["issued_by"] == {"id": str(curation.operator.user_id), "name": "Olga Operator"}
        states = await _states(curation, builds)
        assert {v for v, s in states.items() if s == "recalled"} == hit
        assert states["1.2.3"] == "published" and states["1.1.5"] == "awaiting_review"
        events = await curation.events(mark)
        changed = [e for e in events if e["type"] == "curation.build.review_changed"]
        assert {e["build_id"] for e in changed} == {str(builds[v]) for v in hit}
        assert {(e["state"], e["reason"]) for e in changed} == {("recalled", body["reason"])}
        [issued] = [e for e in events if e["type"] == "curation.recall.issued"]
        assert issued["recall_id"] == r.body["id"] and issued["severity"] == "critical"
        assert sorted(issued["build_ids"]) == sorted(r.body["build_ids"])
        assert issued["fixed_build_id"] == str(builds["2.0.0"]) and issued["versions"] == ">=1.0.0 <1.2.3"
        case = (await curation.case(builds["1.1.0"]))["id"]
        entry = (await curation.get(f"/reviews/{case}", curation.operator)).body["provenance"][-1]
        assert (entry["event"], entry["from_state"], entry["recall_id"]) == (
            "Recalled",
            "published",
            r.body["id"],
        )

    async def test_by_ids_and_alternatives(self, curation) -> None:
        pid, builds = await _catalogue(curation)
        body = {"product_id": str(pid), "build_ids": [str(builds["2.0.0"])], "severity": "low", "reason": "x"}
        r = await curation.post("/recalls", curation.admin, body)
        assert r.status == 201 and r.body["versions"] == "2.0.0", r
        body = {"product_id": str(pid), "versions": "1.0.0 || >=1.2.3", "severity": "high", "reason": "y"}
        r = await curation.post("/recalls", curation.admin, body)
        assert r.status == 201, r
        assert sorted(r.body["build_ids"]) == sorted([str(builds["1.0.0"]), str(builds["1.2.3"])])

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"versions": ">=3.0.0"}, "versions"),
            ({"versions": ">=1.0 <2"}, "versions"),
            ({"versions": "1.0.0 ||"}, "versions"),
            ({"versions": None}, "versions"),
            ({"build_ids": ["{b2}"]}, "versions"),
            ({"versions": None, "build_ids": ["{pending}"]}, "build_ids"),
            ({"versions": None, "build_ids": [str(uuid4())]}, "build_ids"),
            ({"versions": None, "build_ids": []}, "build_ids"),
            ({"fixed_build_id": "{b1}"}, "fixed_build_id"),
            ({"fixed_build_id": str(uuid4())}, "fixed_build_id"),
            ({"severity": "apocalyptic"}, "severity"),
            ({"reason": ""}, "reason"),
            ({"product_id": str(uuid4())}, "product_id"),
            ({"deadline": "soon"}, "deadline"),
        ],
    )
    async def test_bad_recalls_are_422_and_change_nothing(self, curation, change, field: str) -> None:
        pid, builds = await _catalogue(curation)
        names = {
            "{b1}": str(builds["1.0.0"]),
            "{b2}": str(builds["2.0.0"]),
            "{pending}": str(builds["1.1.5"]),
        }
        body = {"product_id": str(pid), "versions": "1.0.0", "severity": "high", "reason": "Harm."}
        for key, value in change.items():
            if isinstance(value, list):
                value = [names.get(v, v) for v in value]
            body[key] = names.get(value, value) if isinstance(value, str) else value
        body = {k: v for k, v in body.items() if v is not None}
        before = await _states(curation, builds)
        mark = await curation.outbox_mark()
        r = await curation.post("/recalls", curation.operator, body)
        assert r.status == 422 and field in r.errors, r
        assert await curation.events(mark) == []
        assert await _states(curation, builds) == before

    async def test_who_may_issue(self, curation) -> None:
        pid, _ = await _catalogue(curation)
        body = {"product_id": str(pid), "versions": "2.0.0", "severity": "low", "reason": "x"}
        assert (await curation.post("/recalls", None, body)).status == 401
        assert (await curation.post("/recalls", curation.isv, body)).status == 403
        assert (await curation.post("/recalls", curation.auditor, body)).status == 403


class TestRead:
    async def test_who_sees_which(self, curation) -> None:
        mine, _ = await _catalogue(curation, curation.isv)
        theirs = await curation.product(curation.other_isv)
        await curation.published(theirs, "3.0.0")
        first = await curation.post(
            "/recalls",
            curation.operator,
            {"product_id": str(mine), "versions": "2.0.0", "severity": "low", "reason": "a"},
        )
        second = await curation.post(
            "/recalls",
            curation.operator,
            {"product_id": str(theirs), "versions": "3.0.0", "severity": "high", "reason": "b"},
        )
        assert (await curation.get("/recalls")).status == 401
        r = await curation.get("/recalls", curation.auditor)
        assert [x["id"] for x in r.body["results"]] == [second.body["id"], first.body["id"]]
        r = await curation.get(f"/recalls?product_id={mine}", curation.operator)
        assert [x["id"] for x in r.body["results"]] == [first.body["id"]]
        r = await curation.get("/recalls", curation.isv)
        assert [x["id"] for x in r.body["results"]] == [first.body["id"]]
        assert (await curation.get("/recalls", curation.customer)).body["total_entries"] == 0
        assert (await curation.get(first.body["path"], curation.isv)).status == 200
        assert (await curation.get(second.body["path"], curation.isv)).status == 404
        assert (await curation.get(second.body["path"], curation.auditor)).body["reason"] == "b"
        assert (await curation.get(f"/recalls/{uuid4()}", curation.auditor)).status == 404
        assert (await curation.get("/recalls?product_id=x", curation.auditor)).status == 422

    async def test_a_recall_outlives_its_product(self, curation) -> None:
        from hspm.common.events import catalog

        pid, _ = await _catalogue(curation)
        r = await curation.post(
            "/recalls",
            curation.operator,
            {"product_id": str(pid), "versions": "2.0.0", "severity": "low", "reason": "a"},
        )
        await curation.deliver(catalog.ProductDeleted(product_id=pid, owner_id=curation.isv.user_id))
        assert (await curation.get(r.body["path"], curation.auditor)).status == 200
        assert (await curation.get(r.body["path"], curation.isv)).status == 404
