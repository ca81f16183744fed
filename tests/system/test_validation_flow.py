"""Every sample image through the whole flow: submit → validate in runc → review → publish.

The stack's own ``docker-registry`` holds the samples (``samples/<name>:1``); the catalog
emits the submission, curation opens a case and asks the validator, which pulls the
image, checks it and runs it in a real sandbox. Each sample must end in the state its
defect deserves, with the failing rule named.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from hspm.common.testing import unique
from hspm.devstack.api import GatewayApi
from hspm.devstack.stack import Stack

VERDICT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Case:
    sample: str
    state: str  # the review state the validation must lead to
    failing: frozenset[str] = frozenset()  # required rules that must fail
    exposes: tuple[str, ...] = ()  # interface names (seeded by the demo)
    memory: int = 64
    extra: dict[str, Any] = field(default_factory=dict)
    registry: str | None = None  # None: the stack's own (allow-listed) registry


CASES = (
    Case("good", "awaiting_review"),
    Case("bad-env-arm64", "auto_rejected", frozenset({"env.names", "image.platform"})),
    Case("no-health", "auto_rejected", frozenset({"runtime.healthy"})),
    Case("ignores-sigterm", "auto_rejected", frozenset({"runtime.stop"})),
    Case("memory-hog", "auto_rejected", frozenset({"runtime.memory"})),
    Case("writes-rootfs", "auto_rejected", frozenset({"runtime.filesystem"})),
    Case("fhir-good", "awaiting_review", exposes=("FHIR R4",)),
    Case("fhir-broken", "auto_rejected", frozenset({"smoke.fhir"}), exposes=("FHIR R4",)),
    Case("cds-good", "awaiting_review", exposes=("CDS Hooks 1.0",)),
    # Hostile input, bounded and reported.
    Case("fork-bomb", "auto_rejected", frozenset({"runtime.processes"})),
    Case("path-traversal", "auto_rejected", frozenset({"image.layers"})),
    Case("good", "auto_rejected", frozenset({"image.reference"}), registry="10.20.30.40:5000"),
)


@dataclass
class Outcome:
    case: Case
    product_id: str
    build_id: str
    review: dict[str, Any]
    run: dict[str, Any]

    @property
    def failed(self) -> set[str]:
        return {r["rule"] for r in self.run["rules"] if r["status"] == "fail"}


async def _submit(api: GatewayApi, stack: Stack, case: Case, interfaces: dict[str, str]) -> tuple[str, str]:
    product = await api.ok("POST", "/products", "isv", {"name": unique(f"Sample {case.sample}")})
    pid = product["id"]
    build = await api.ok(
        "POST",
        f"/products/{pid}/builds",
        "isv",
        {
            "version": "1.0.0",
            "container_registry": case.registry or stack.config.registry_host,
            "container_repository": f"samples/{case.sample}",
            "container_tag": "1",
        },
    )
    at = f"/products/{pid}/builds/{build['id']}"
    config = await api.ok("POST", f"{at}/configurations", "isv", {"name": "default", "default": True})
    task = {
        "name": "web",
        "memory_maximum": case.memory,
        "instances_minimum": 1,
        "instances_maximum": 2,
        "ports": [8080],
        "environment": [{"key": "APP_MODE", "required": False, "default": "validation"}],
    } | case.extra
    await api.ok("POST", f"{at}/configurations/{config['id']}/tasks", "isv", task)
    for name in case.exposes:
        await api.ok("POST", f"{at}/exposures", "isv", {"interface_id": interfaces[name]})
    await api.ok("POST", f"{at}/submit", "isv")
    return pid, build["id"]


async def _verdict(api: GatewayApi, case: Case, pid: str, bid: str, after_run: str | None = None) -> Outcome:
    """The case once a run (newer than ``after_run``) has decided it."""
    deadline = asyncio.get_running_loop().time() + VERDICT_TIMEOUT
    while True:
        body = await api.ok("GET", f"/reviews?build_id={bid}", "operator")
        reviews = body["results"]
        if reviews and reviews[0]["state"] not in ("submitted", "validating"):
            runs = await api.ok("GET", f"/products/{pid}/builds/{bid}/validations", "isv")
            latest = runs["results"][0] if runs["results"] else None
            if latest is not None and latest["status"] == "completed" and latest["id"] != after_run:
                return Outcome(case, pid, bid, reviews[0], latest)
        assert asyncio.get_running_loop().time() < deadline, f"{case.sample}: no verdict ({reviews})"
        await asyncio.sleep(0.5)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def outcomes(stack: Stack, tokens: dict[str, str]) -> AsyncIterator[dict[str, Outcome]]:
    """Submit every sample at once (the validator runs them in parallel), then wait."""
    async with aiohttp.ClientSession() as http:
        api = GatewayApi(http, stack.config.gateway_url, tokens)
        policy = await api.ok("GET", "/validation_policy", "operator")
        # Shorter budgets keep the deliberately broken samples quick to judge.
        quick = policy | {"startup_seconds": 8, "stop_grace_seconds": 3}
        await api.ok("PUT", "/validation_policy", "operator", quick)
        try:
            listed = await api.ok("GET", "/interfaces?per_page=100", None)
            interfaces = {i["name"]: i["id"] for i in listed["results"]}
            submitted = await asyncio.gather(*(_submit(api, stack, c, interfaces) for c in CASES))
            results = await asyncio.gather(
                *(_verdict(api, c, pid, bid) for c, (pid, bid) in zip(CASES, submitted, strict=True))
            )
            yield {_key(o.case): o for o in results}
        finally:
            await api.ok("PUT", "/validation_policy", "operator", policy)


def _key(case: Case) -> str:
    return case.sample if case.registry is None else f"{case.sample}@{case.registry}"


@pytest.mark.parametrize("case", CASES, ids=_key)
async def test_each_sample_is_judged_by_a_real_run(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[_key(case)]
    run = outcome.run
    assert outcome.review["state"] == case.state, run.get("summary")
    assert run["status"] == "completed"
    assert case.failing <= outcome.failed, run.get("summary")
    if case.state == "awaiting_review":
        assert run["outcome"] == "passed", run.get("summary")
        assert not {r["rule"] for r in run["rules"] if r["status"] == "fail" and r["required"]}
        # A real sandbox ran it: never "skipped" on a machine that can run runc (CI can).
        assert run["runtime"]["status"] == "ran", run["runtime"]
    else:
        assert run["outcome"] == "failed"


async def test_approval_publishes_the_good_build(
    stack: Stack, tokens: dict[str, str], outcomes: dict[str, Outcome]
) -> None:
    good = outcomes["good"]
    async with aiohttp.ClientSession() as http:
        api = GatewayApi(http, stack.config.gateway_url, tokens)
        decision = {"decision": "approve", "reason": "Report read; all required rules pass."}
        review = await api.ok("POST", f"/reviews/{good.review['id']}/decisions", "operator", decision)
        assert review["state"] in ("approved", "published")
        build_path = f"/products/{good.product_id}/builds/{good.build_id}"
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            status, build = await api.send("GET", build_path, "isv")
            if status == 200 and build["published_at"]:
                break
            assert asyncio.get_running_loop().time() < deadline, build
            await asyncio.sleep(0.2)
        assert build["status"] == "published"
        assert build["validated_at"] is not None
        detail = await api.ok("GET", f"/reviews/{good.review['id']}", "operator")
        # Submitted, validating, awaiting review, approved (and published) are all on record.
        assert len(detail["provenance"]) >= 4, detail["provenance"]


async def test_the_report_reads_as_text(
    stack: Stack, tokens: dict[str, str], outcomes: dict[str, Outcome]
) -> None:
    hog = outcomes["memory-hog"]
    async with aiohttp.ClientSession() as http:
        api = GatewayApi(http, stack.config.gateway_url, tokens)
        path = f"/products/{hog.product_id}/builds/{hog.build_id}/validations/{hog.run['id']}"
        status, text = await api.send("GET", path, "isv", accept="text/plain")
        assert status == 200
        assert "FAILED" in text.upper() and "runtime.memory" in text
        # Another ISV cannot read it.
        assert (await api.send("GET", path, "customer"))[0] == 404


async def test_a_rejected_build_can_be_fixed_and_resubmitted(
    stack: Stack, tokens: dict[str, str], outcomes: dict[str, Outcome]
) -> None:
    broken = outcomes["no-health"]
    async with aiohttp.ClientSession() as http:
        api = GatewayApi(http, stack.config.gateway_url, tokens)
        at = f"/products/{broken.product_id}/builds/{broken.build_id}"
        build = await api.ok("PATCH", at, "isv", {"container_repository": "samples/good"})
        assert build["container_repository"] == "samples/good"
        await api.ok("POST", f"{at}/submit", "isv")
        again = await _verdict(api, broken.case, broken.product_id, broken.build_id, broken.run["id"])
        assert again.review["id"] == broken.review["id"]  # the same case, reopened
        assert again.review["state"] == "awaiting_review", again.run.get("summary")
        assert again.run["id"] != broken.run["id"]


async def test_a_customer_evaluates_a_listed_build_and_an_operator_recalls_it(
    stack: Stack, tokens: dict[str, str], outcomes: dict[str, Outcome]
) -> None:
    fhir = outcomes["fhir-good"]
    async with aiohttp.ClientSession() as http:
        api = GatewayApi(http, stack.config.gateway_url, tokens)
        runs_path = f"/products/{fhir.product_id}/builds/{fhir.build_id}/validations"
        # Not published yet: the customer cannot even see that the build exists.
        assert (await api.send("POST", runs_path, "customer"))[0] == 404
        decision = {"decision": "approve", "reason": "FHIR smoke test passed."}
        await api.ok("POST", f"/reviews/{fhir.review['id']}/decisions", "operator", decision)
        await api.ok("POST", f"/products/{fhir.product_id}/publish", "operator", {})
        build_path = f"/products/{fhir.product_id}/builds/{fhir.build_id}"

        async def status_is(wanted: str) -> None:
            deadline = asyncio.get_running_loop().time() + 30
            while (await api.send("GET", build_path, "operator"))[1]["status"] != wanted:
                assert asyncio.get_running_loop().time() < deadline, wanted
                await asyncio.sleep(0.2)

        await status_is("published")
        # Listed now: a customer evaluating the product can run the same suite, as soon
        # as curation's read copy has the publication (events, so not in the same instant).
        deadline = asyncio.get_running_loop().time() + 15
        while (reply := await api.send("POST", runs_path, "customer"))[0] == 404:
            assert asyncio.get_running_loop().time() < deadline, reply
            await asyncio.sleep(0.2)
        status, run = reply
        assert status == 202, run
        assert run["trigger"] == "manual"
        evaluated = await _verdict(api, fhir.case, fhir.product_id, fhir.build_id, fhir.run["id"])
        assert evaluated.run["outcome"] == "passed", evaluated.run.get("summary")
        assert evaluated.review["state"] == "published"  # a manual run does not move the case

        recall = {
            "product_id": fhir.product_id,
            "versions": ">=1.0.0 <1.1.0",
            "severity": "critical",
            "reason": "Patient matching returns another patient's record under load.",
        }
        status, issued = await api.send("POST", "/recalls", "operator", recall)
        assert status == 201, issued
        assert issued["build_ids"] == [fhir.build_id]
        await status_is("recalled")
        assert (await api.send("POST", "/recalls", "customer", recall))[0] == 403
