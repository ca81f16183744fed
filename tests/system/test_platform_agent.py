"""The Platform Agent end to end: a real marketplace, a real agent process, real podman.

An ISV's three builds are validated and approved (1.0.0 and 1.1.0 healthy anywhere;
1.2.0 healthy in validation but not with this platform's ``APP_MODE=production``). A
customer registers a platform and its agent key, starts ``hspm agent run``, and creates
an instance: podman runs the image from the local registry by digest and the instance
shows the containers' bindings and ``deployed_at``. The creation and the recall are
each followed as one trace from the gateway to the agent and back. Then: an upgrade; a
rollback of the unhealthy build; an agent killed mid-rollout and restarted; a recall
with the "upgrade" policy; and the instance destroyed, leaving no container behind.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from hspm.common.testing import wait_for
from hspm.devstack.agent_fixtures import WAIT, AgentProcess, World, make_world, register_key, sample
from hspm.devstack.stack import Stack
from hspm.devstack.traces import Collector, Span, new_traceparent

pytestmark = [
    pytest.mark.timeout(1200),
    pytest.mark.skipif(
        not (shutil.which("podman") and shutil.which("slirp4netns")), reason="needs podman and slirp4netns"
    ),
]
REPLICAS = 2
FIGURES: dict[str, float] = {}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(stack: Stack, tokens: dict[str, str]) -> AsyncIterator[World]:
    """The product with three approved builds, listed; a customer's platform with an agent key."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        versions = {"1.0.0": sample("1.0.0"), "1.1.0": sample("1.1.0"), "1.2.0": sample("1.2.0", True)}
        yield await make_world(http, stack, tokens, versions, REPLICAS)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def agent(world: World, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AgentProcess]:
    key, key_id = await register_key(world)
    running = AgentProcess(tmp_path_factory.mktemp("agent"), world, key, key_id)
    running.start()
    try:
        yield running
    finally:
        # The log stays with pytest's temporary files; the podman storage does not.
        await running.clean_up()
        print(f"\nFIGURES {json.dumps(FIGURES)}")


async def _instance_where(w: World, agent: AgentProcess, wanted: Any, what: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = await w.api.ok("GET", f"/instances/{w.instance_id}", "customer")
        return found if wanted(found) else None

    try:
        return await wait_for(probe, WAIT, 0.25)
    except TimeoutError:
        last = await w.api.ok("GET", f"/instances/{w.instance_id}", "customer")
        raise AssertionError(f"{what}: {json.dumps(last)[:1500]}\n{agent.log_tail()}") from None


def _running_build(bid: str) -> Any:
    return lambda i: i["reported_state"] == "running" and i["launch_bindings"].get("build_id") == bid


async def _generations(agent: AgentProcess, instance_id: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for c in await agent.containers(instance_id):
        found.setdefault(c["Labels"]["io.hspm.build"], []).append(c)
    return found


async def test_the_agent_runs_a_new_instance_by_digest_and_reports_it(
    world: World, agent: AgentProcess, traces: Collector
) -> None:
    b1 = world.builds["1.0.0"]
    # The agent reads how to run the build anonymously: it holds no user's token.
    async with aiohttp.ClientSession() as http:
        url = f"{world.stack.config.gateway_url}/products/{world.product_id}/builds/{b1}/marketplace.json"
        async with http.get(url) as resp:
            assert resp.status == 200, await resp.text()
    # Subscribed first, the agent hears of the new instance as an event (which carries its
    # trace), not within the full state it starts from.
    await agent.connected()
    started = time.monotonic()
    traceparent, trace_id = new_traceparent()
    made = await world.api.ok(
        "POST",
        f"/platforms/{world.platform_id}/instances",
        "customer",
        {"build_id": b1},
        extra={"traceparent": traceparent},
    )
    world.instance_id = made["id"]

    async def containers_running() -> bool:
        found = await agent.containers(world.instance_id)
        return len([c for c in found if c["State"] == "running"]) == REPLICAS

    await wait_for(containers_running, WAIT, 0.05)
    FIGURES["instance_created_to_containers_running_s"] = round(time.monotonic() - started, 3)
    shown = await _instance_where(world, agent, _running_build(b1), "never reported running")
    FIGURES["instance_created_to_reported_running_s"] = round(time.monotonic() - started, 3)
    assert shown["deployed_at"] and shown["errors"] == []
    replicas = shown["launch_bindings"]["tasks"]["web"]
    assert len(replicas) == REPLICAS and all(r["state"] == "running" for r in replicas)
    containers = await agent.containers(world.instance_id)
    assert sorted(c["Names"][0] for c in containers) == sorted(r["container"] for r in replicas)
    assert all(world.digests["1.0.0"] in c["Image"] for c in containers)
    async with aiohttp.ClientSession() as http:
        for replica in replicas:
            async with http.get(replica["url"] + "/index.html") as resp:
                assert resp.status == 200 and "v1.0.0" in await resp.text()
        async with http.get(f"http://{agent.listen}/healthz") as resp:
            health = await resp.json()
            assert resp.status == 200 and health["connected"] and health["seq"] >= 1, health
        async with http.get(f"http://{agent.listen}/metrics") as resp:
            text = await resp.text()
            assert "hspm_agent_reports_sent_total" in text and "hspm_agent_connected 1" in text, text
    _one_trace_to_the_agent_and_back(await _agent_and_answer(traces, trace_id), "notifier")


async def test_a_new_build_is_rolled_out_and_the_old_one_removed(world: World, agent: AgentProcess) -> None:
    b2 = world.builds["1.1.0"]
    await world.api.ok("PATCH", f"/instances/{world.instance_id}", "customer", {"build_id": b2})
    shown = await _instance_where(world, agent, _running_build(b2), "not upgraded")
    assert shown["errors"] == []
    assert list(await _generations(agent, world.instance_id)) == [b2]


async def test_a_build_unhealthy_here_is_rolled_back(world: World, agent: AgentProcess) -> None:
    b2, b3 = world.builds["1.1.0"], world.builds["1.2.0"]
    await world.api.ok("PATCH", f"/instances/{world.instance_id}", "customer", {"build_id": b3})
    shown = await _instance_where(
        world, agent, lambda i: i["reported_state"] == "rolled_back", "never rolled back"
    )
    assert shown["launch_bindings"]["build_id"] == b2
    assert shown["launch_bindings"]["rolled_back_from"]["build_id"] == b3
    assert any("did not become healthy" in e for e in shown["errors"]), shown["errors"]
    generations = await _generations(agent, world.instance_id)
    assert list(generations) == [b2] and len(generations[b2]) == REPLICAS


async def test_an_agent_killed_mid_rollout_converges_without_duplicates(
    world: World, agent: AgentProcess
) -> None:
    b1, b2 = world.builds["1.0.0"], world.builds["1.1.0"]
    await world.api.ok("PATCH", f"/instances/{world.instance_id}", "customer", {"build_id": b1})

    async def both_generations() -> bool:
        return len(await _generations(agent, world.instance_id)) == 2

    await wait_for(both_generations, WAIT, 0.02)  # the new one is starting, the old one still serves
    agent.kill()
    seen = await _generations(agent, world.instance_id)
    assert set(seen) <= {b1, b2}
    agent.start()
    shown = await _instance_where(world, agent, _running_build(b1), "not converged after the restart")
    assert shown["errors"] == []
    generations = await _generations(agent, world.instance_id)
    assert list(generations) == [b1] and len(generations[b1]) == REPLICAS
    names = [c["Names"][0] for c in generations[b1]]
    assert len(set(names)) == REPLICAS


async def test_a_recall_under_the_upgrade_policy_is_applied_and_acknowledged(
    world: World, agent: AgentProcess, traces: Collector
) -> None:
    b1, b2 = world.builds["1.0.0"], world.builds["1.1.0"]
    recall = {
        "product_id": world.product_id,
        "versions": ">=1.0.0 <1.1.0",
        "severity": "critical",
        "reason": "Wrong dose rounding under load.",
        "fixed_build_id": b2,
    }
    started = time.monotonic()
    traceparent, trace_id = new_traceparent()
    issued = await world.api.ok("POST", "/recalls", "operator", recall, extra={"traceparent": traceparent})
    assert issued["build_ids"] == [b1]

    async def acknowledged() -> dict[str, Any] | None:
        found = await world.api.ok("GET", f"/platforms/recalls?recall_id={issued['id']}", "auditor")
        mine = [n for n in found["results"] if n["platform_id"] == world.platform_id]
        return mine[0] if mine and mine[0]["acknowledged_at"] else None

    notice = await wait_for(acknowledged, WAIT, 0.1)
    FIGURES["recall_issued_to_acknowledged_s"] = round(time.monotonic() - started, 3)
    assert notice["acknowledged_at"]
    shown = await _instance_where(world, agent, _running_build(b2), "the recall's fix is not running")
    assert issued["id"] in shown["launch_bindings"]["recall"]
    assert list(await _generations(agent, world.instance_id)) == [b2]
    _one_trace_to_the_agent_and_back(await _agent_and_answer(traces, trace_id), "curation")


async def _agent_and_answer(traces: Collector, trace_id: str) -> list[Span]:
    """The trace once the agent's span and the notifier's span of its answer are both in."""
    await traces.wait_for(trace_id, "platform-agent")
    return await traces.wait_for(trace_id, "notifier", "agent ")


def _one_trace_to_the_agent_and_back(spans: list[Span], owner: str) -> None:
    """The request at the gateway, the owning service, the notifier's stream, the agent's
    work and what the agent sent back: one trace, each part beneath the one before."""
    by_id = {s.span_id: s for s in spans}

    def under(span: Span, ancestor: Span) -> bool:
        while span.parent_id in by_id:
            span = by_id[span.parent_id]
            if span is ancestor:
                return True
        return False

    def first(service: str, kind: str) -> Span:
        found = [s for s in spans if s.service == service and s.kind == kind]
        assert found, f"no {kind} span of {service}: {sorted((s.service, s.name) for s in spans)}"
        return found[0]

    gateway = first("gateway", "SERVER")
    served = first(owner, "SERVER")
    # The agent's answers are changes too: the events they make come back to it, traced.
    applied = [s for s in spans if s.service == "platform-agent" and s.kind == "CONSUMER"]
    assert under(served, gateway) and applied and all(under(a, gateway) for a in applied)
    answered = [s for s in spans if s.service == "notifier" and s.name.startswith("agent ")]
    assert answered and all(any(under(s, a) for a in applied) for s in answered), [s.name for s in spans]


async def test_destroying_the_instance_leaves_no_container(world: World, agent: AgentProcess) -> None:
    await world.api.ok("DELETE", f"/instances/{world.instance_id}", "customer")

    async def gone() -> bool:
        return not await agent.containers(world.instance_id)

    await wait_for(gone, WAIT, 0.2)
    assert agent.stop() == 0
    assert await agent.all_containers() == []
