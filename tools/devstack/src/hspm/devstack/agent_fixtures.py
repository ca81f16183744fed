"""The Platform Agent's world on a running stack, for its system test and its benchmark.

An ISV's builds (each a small image of its own, serving ``/www`` with ``busybox httpd``)
pushed to the stack's registry, submitted, validated and approved, the product listed; a
customer's platform with an agent key; and ``hspm agent run`` as a platform team runs it,
a real process with podman storage of its own, removed with every container it made.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.client.platform_agent.config import PodmanSettings
from hspm.client.platform_agent.drivers.podman_cli import Podman
from hspm.common.testing import unique, wait_for
from hspm.devstack.api import GatewayApi
from hspm.devstack.images import Sample, build, push
from hspm.devstack.stack import Stack, free_port

WAIT = 180.0  # generous bounds on conditions; never a measure of speed
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


def sample(version: str, broken_in_production: bool = False) -> Sample:
    """An image of its own per version; ``broken_in_production`` serves no ``/health`` under
    the platform's ``APP_MODE=production`` (healthy in validation, not on the platform)."""
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


async def submit(w: World, version: str, repository: str, replicas: int) -> str:
    """A build of ``repository:version`` with one ``web`` task of ``replicas``, submitted."""
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
        "instances_minimum": replicas,
        "instances_maximum": 4,
        "ports": [8080],
        "options": ["--mode", "production"],
        "environment": [{"key": "APP_MODE", "required": True, "default": "validation", "pattern": "[a-z]+"}],
    }
    await w.api.ok("POST", f"{at}/configurations/{config['id']}/tasks", "isv", task)
    await w.api.ok("POST", f"{at}/submit", "isv")
    return str(bid)


async def approve(w: World, bid: str, wait: float = WAIT) -> None:
    """The operator approves the build once validated; returns when it is published."""

    async def review() -> dict[str, Any] | None:
        found = (await w.api.ok("GET", f"/reviews?build_id={bid}", "operator"))["results"]
        return found[0] if found and found[0]["state"] == "awaiting_review" else None

    case = await wait_for(review, wait, 0.5)
    decision = {"decision": "approve", "reason": "All required rules pass."}
    await w.api.ok("POST", f"/reviews/{case['id']}/decisions", "operator", decision)

    async def published() -> bool:
        return bool((await w.api.ok("GET", f"/products/{w.product_id}/builds/{bid}", "isv"))["published_at"])

    await wait_for(published, wait, 0.3)


async def make_world(
    http: aiohttp.ClientSession,
    stack: Stack,
    tokens: Mapping[str, str],
    versions: Mapping[str, Sample],
    replicas: int,
    wait: float = WAIT,
) -> World:
    """A product with a build of each version approved, listed; a customer's platform."""
    w = World(GatewayApi(http, stack.config.gateway_url, dict(tokens)), stack)
    w.product_id = (await w.api.ok("POST", "/products", "isv", {"name": unique("Agent app")}))["id"]
    repository = f"agent/{unique('app')}"
    for version, image in versions.items():
        w.digests[version] = await push(http, stack.registry.url, repository, version, build(image))
        w.builds[version] = await submit(w, version, repository, replicas)
    for bid in w.builds.values():
        await approve(w, bid, wait)
    await w.api.ok("POST", f"/products/{w.product_id}/publish", "operator", {})
    w.platform_id = (await w.api.ok("POST", "/platforms", "customer", {"name": unique("ward")}))["id"]
    return w


async def register_key(w: World, name: str = "ward agent") -> tuple[ed25519.Ed25519PrivateKey, str]:
    """A new Ed25519 key registered for the platform: the key and its id."""
    key = ed25519.Ed25519PrivateKey.generate()
    public = base64.b64encode(key.public_key().public_bytes_raw()).decode()
    body = {"name": name, "public_key": public}
    key_id = (await w.api.ok("POST", f"/platforms/{w.platform_id}/keys", "customer", body))["id"]
    return key, str(key_id)


def _using(path: Path) -> list[int]:
    """The processes whose command line names ``path``."""
    needle = str(path).encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if needle in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return found


async def remove_podman_storage(root: Path, runroot: Path, timeout: float = 15.0) -> None:
    """Remove podman storage once nothing uses it any more. A container's conmon runs
    ``podman container cleanup`` (with these paths) after the container is gone from
    ``podman ps``; removed before it is done, the runroot would be made again. conmon's
    own command line names the runroot too (in that command's arguments)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _using(runroot):
            break
        await asyncio.sleep(0.1)
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(runroot, ignore_errors=True)


class AgentProcess:
    """``hspm agent run`` as a platform team runs it, with podman storage of its own."""

    def __init__(
        self,
        root: Path,
        w: World,
        key: ed25519.Ed25519PrivateKey,
        key_id: str,
        resync_seconds: float = 10.0,
    ) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        # podman refuses a runroot longer than 50 characters: pytest's folders can be longer.
        self.runroot = Path(tempfile.mkdtemp(prefix="hspm-run-"))
        self.podman = Podman(PodmanSettings(root=str(root / "storage"), runroot=str(self.runroot)))
        self.listen = f"127.0.0.1:{free_port()}"
        self.name = unique("agent")
        self.log = root / "agent.log"
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
resync_seconds = {resync_seconds:g}
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
        self.stack_env = dict(w.stack.config.extra_env)

    def start(self) -> None:
        argv = [sys.executable, "-m", "hspm.client.cli", "agent", "run", "--config", str(self.config)]
        # The agent exports its spans where the stack's services do, if they do.
        tracing = {k: v for k, v in self.stack_env.items() if k.startswith("OTEL_")}
        env = {**os.environ, **tracing, "OTEL_SERVICE_NAME": "platform-agent"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True, env=env)

    async def connected(self) -> None:
        """Wait until the agent has its stream (it then hears each change as an event)."""

        async def probe() -> bool:
            with contextlib.suppress(aiohttp.ClientError, ValueError):
                async with aiohttp.ClientSession() as http, http.get(f"http://{self.listen}/healthz") as resp:
                    health = await resp.json()
                    return bool(health.get("connected") and health.get("seq") is not None)
            return False

        await wait_for(probe, WAIT, 0.1)

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
        return self.log.read_text()[-4000:] if self.log.exists() else ""

    async def clean_up(self) -> int | None:
        """Stop the process (its exit code; None if never started), remove every container it
        made and its podman storage. The log and settings stay under ``root``."""
        code = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    code = self.process.wait(60)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    code = self.process.wait(30)
            else:
                code = self.process.returncode
        try:
            leftovers = [c["Names"][0] for c in await self.all_containers()]
            await self.podman.remove(leftovers, 1)
        finally:
            await remove_podman_storage(self.root / "storage", self.runroot)
        return code
