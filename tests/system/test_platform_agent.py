"""The Platform Agent end to end: a real marketplace, a real agent process, real podman.

An ISV's three builds are validated and approved (1.0.0 and 1.1.0 healthy anywhere;
1.2.0 healthy in validation but not with this platform's ``APP_MODE=production``). A
customer registers a platform and its agent key, starts ``hspm agent run``, and creates
an instance: podman runs the image from the local registry by digest and the instance
shows the containers' bindings and ``deployed_at``. Then: an upgrade; a rollback of the
unhealthy build; an agent killed mid-rollout and restarted; a recall with the "upgrade"
policy; and the instance destroyed, leaving no container behind.
"""

from __future__ import annotations

import base64
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.client.platform_agent.config import PodmanSettings
from hspm.client.platform_agent.drivers.podman_cli import Podman
from hspm.common.testing import unique, wait_for
from hspm.devstack.api import GatewayApi
from hspm.devstack.images import Sample, build, push
from hspm.devstack.stack import Stack, free_port

pytestmark = [
    pytest.mark.timeout(1200),
    pytest.mark.skipif(
        not (shutil.which("podman") and shutil.which("slirp4netns")), reason="needs podman and slirp4netns"
    ),
]
WAIT = 180.0  # generous bounds on conditions; never a measure of speed
REPLICAS = 2
START = """#!/bin/sh
PORT="${PORT:-8080}"
ROOT=/www
if [ "$APP_MODE" = production ] && [ -d /www/broken ]; then ROOT=/www/broken; fi
echo "version %s serving $ROOT on $PORT (APP_MODE=$APP_MODE, args: $*)"
httpd -f -v -p "$PORT" -h "$ROOT" &
child=$!
trap 'kill $child; wait $child; exit 0' TERM INT
wait $child
"""
FIGURES: dict[str, float] = {}


def _sample(version: str, broken_in_production: bool = False) -> Sample:
    files = {
        "bin/start.sh": (START % version).encode(),
        "www/index.html": f"<html>v{version}</html>\n".encode(),
        "www/health": b"ok\n",
    }
    if broken_in_production:
        files["www/broken/index.html"] = b"<html>no health here</html>\n"
    return Sample(f"agent-{version}", files)


@dataclass
class World:
    api: GatewayApi
    stack: Stack
    product_id: str = ""
    builds: dict[str, str] = field(default_factory=dict)  # version -> build id
    digests: dict[str, str] = field(default_factory=dict)  # version -> digest
    platform_id: str = ""
    instance_id: str = ""


async def _submit(w: World, version: str, repository: str) -> str:
    body = {
        "version": version,
        "container_registry": w.stack.config.registry_host,
        "container_repository": repository,
        "container_tag": version,
    }
    bid = (await w.api.ok("POST", f"/products/{w.product_id}/builds", "isv", body))["id"]
    at = f"/products/{w.product_id}/builds/{bid}"
    config = await w.api.ok("POST", f"{at}/configurations", "isv", {"name": "default", "default": True})
    task = {
        "name": "web",
        "memory_maximum": 64,
        "memory_minimum": 32,
        "instances_minimum": REPLICAS,
        "instances_maximum": 4,
        "ports": [8080],
        "options": ["--mode", "production"],
        "environment": [{"key": "APP_MODE", "required": True, "default": "validation", "pattern": "[a-z]+"}],
    }
    await w.api.ok("POST", f"{at}/configurations/{config['id']}/tasks", "isv", task)
    await w.api.ok("POST", f"{at}/submit", "isv")
    return str(bid)


async def _approve(w: World, bid: str) -> None:
    async def review() -> dict[str, Any] | None:
        found = (await w.api.ok("GET", f"/reviews?build_id={bid}", "operator"))["results"]
        return found[0] if found and found[0]["state"] == "awaiting_review" else None

    case = await wait_for(review, WAIT, 0.5)
    decision = {"decision": "approve", "reason": "All required rules pass."}
    await w.api.ok("POST", f"/reviews/{case['id']}/decisions", "operator", decision)

    async def published() -> bool:
        return bool((await w.api.ok("GET", f"/products/{w.product_id}/builds/{bid}", "isv"))["published_at"])

    await wait_for(published, WAIT, 0.3)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(stack: Stack, tokens: dict[str, str]) -> AsyncIterator[World]:
    """The product with three approved builds, listed; a customer's platform with an agent key."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        w = World(GatewayApi(http, stack.config.gateway_url, dict(tokens)), stack)
        w.product_id = (await w.api.ok("POST", "/products", "isv", {"name": unique("Agent app")}))["id"]
        repository = f"agent/{unique('app')}"
        versions = {"1.0.0": _sample("1.0.0"), "1.1.0": _sample("1.1.0"), "1.2.0": _sample("1.2.0", True)}
        for version, sample in versions.items():
            w.digests[version] = await push(http, stack.registry.url, repository, version, build(sample))
            w.builds[version] = await _submit(w, version, repository)
        for bid in w.builds.values():
            await _approve(w, bid)
        await w.api.ok("POST", f"/products/{w.product_id}/publish", "operator", {})
        w.platform_id = (await w.api.ok("POST", "/platforms", "customer", {"name": unique("ward")}))["id"]
        yield w


class AgentProcess:
    """``hspm agent run`` as a platform team runs it, with podman storage of its own."""

    def __init__(self, root: Path, w: World, key: ed25519.Ed25519PrivateKey, key_id: str) -> None:
        self.root = root
        # podman refuses a runroot longer than 50 characters: pytest's folders can be longer.
        self.runroot = Path(tempfile.mkdtemp(prefix="hspm-run-"))
        self.podman = Podman(PodmanSettings(root=str(root / "storage"), runroot=str(self.runroot)))
        self.listen = f"127.0.0.1:{free_port()}"
        self.name = unique("agent")
        key_file = root / "agent.key"
        key_file.write_text(base64.b64encode(key.private_bytes_raw()).decode())
        key_file.chmod(0o600)
        registry = w.stack.config.registry_host
        settings = f"""
marketplace_url = "{w.stack.config.gateway_url}"
platform_id = "{w.platform_id}"
key_id = "{key_id}"
key_file = "{key_file}"
state_dir = "{root / "state"}"
name = "{self.name}"
listen = "{self.listen}"
health_timeout_seconds = 20
resync_seconds = 10
[environment]
APP_MODE = "production"
[recall_policy]
critical = "upgrade"
high = "upgrade"
[podman]
root = "{root / "storage"}"
runroot = "{self.runroot}"
insecure_registries = ["{registry}"]
"""
        self.config = root / "agent.toml"
        self.config.write_text(settings)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [sys.executable, "-m", "hspm.client.cli", "agent", "run", "--config", str(self.config)]
        with (self.root / "agent.log").open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(30)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)

    async def containers(self, instance_id: str) -> list[dict[str, Any]]:
        return await self.podman.containers(f"io.hspm.instance={instance_id}")

    async def all_containers(self) -> list[dict[str, Any]]:
        return await self.podman.containers(f"io.hspm.agent={self.name}")

    def log_tail(self) -> str:
        return (self.root / "agent.log").read_text()[-4000:]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def agent(world: World, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AgentProcess]:
    key = ed25519.Ed25519PrivateKey.generate()
    public = base64.b64encode(key.public_key().public_bytes_raw()).decode()
    body = {"name": "ward agent", "public_key": public}
    key_id = (await world.api.ok("POST", f"/platforms/{world.platform_id}/keys", "customer", body))["id"]
    running = AgentProcess(tmp_path_factory.mktemp("agent"), world, key, key_id)
    running.start()
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            running.stop()
        leftovers = [c["Names"][0] for c in await running.all_containers()]
        await running.podman.remove(leftovers, 1)
        # The log stays with pytest's temporary files; the podman storage does not.
        shutil.rmtree(running.root / "storage", ignore_errors=True)
        shutil.rmtree(running.runroot, ignore_errors=True)
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
    world: World, agent: AgentProcess
) -> None:
    b1 = world.builds["1.0.0"]
    # The agent reads how to run the build anonymously: it holds no user's token.
    async with aiohttp.ClientSession() as http:
        url = f"{world.stack.config.gateway_url}/products/{world.product_id}/builds/{b1}/marketplace.json"
        async with http.get(url) as resp:
            assert resp.status == 200, await resp.text()
    started = time.monotonic()
    made = await world.api.ok(
        "POST", f"/platforms/{world.platform_id}/instances", "customer", {"build_id": b1}
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
    world: World, agent: AgentProcess
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
    issued = await world.api.ok("POST", "/recalls", "operator", recall)
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


async def test_destroying_the_instance_leaves_no_container(world: World, agent: AgentProcess) -> None:
    await world.api.ok("DELETE", f"/instances/{world.instance_id}", "customer")

    async def gone() -> bool:
        return not await agent.containers(world.instance_id)

    await wait_for(gone, WAIT, 0.2)
    assert agent.stop() == 0
    assert await agent.all_containers() == []
