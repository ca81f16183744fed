"""The podman driver: every task of the default configuration as real containers.

Each long-running task runs ``replicas`` containers of the image, by digest, named
``hspm-<instance>-<generation>-<task>-<n>`` and labelled with all of those, so a restart
finds exactly what it made and never makes a second copy. Memory ``memory_maximum`` is a
hard limit (``memory_minimum`` a reservation), ports are published on ``publish_host`` at
ports the kernel picks, options are the arguments, and the environment comes from the
platform's checked values. Cron tasks run on their schedule (``PodmanCron``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import aiohttp

from hspm.client.platform_agent.config import AgentConfig
from hspm.client.platform_agent.desired import InstanceSpec, TaskSpec
from hspm.client.platform_agent.drivers.base import Health, Unit
from hspm.client.platform_agent.drivers.podman_cli import Podman, Result
from hspm.client.platform_agent.drivers.podman_cron import PodmanCron

LABEL = "io.hspm"
HEALTH_LABEL = "org.hl7.hspm.health-path"
HEALTH_PATHS = ("/health", "/healthz", "/")
LICENSE_PATH = "/run/hspm/license.json"
NO_HEALTHCHECK = 125  # ``podman healthcheck run`` on an image that declares none


def container_name(spec: InstanceSpec, task: TaskSpec, replica: int) -> str:
    return f"hspm-{spec.instance_id}-{spec.fingerprint}-{task.name}-{replica}"


def labels(agent: str, spec: InstanceSpec, task: TaskSpec, role: str) -> dict[str, str]:
    return {
        f"{LABEL}.agent": agent,
        f"{LABEL}.instance": spec.instance_id,
        f"{LABEL}.generation": spec.fingerprint,
        f"{LABEL}.platform": spec.platform_id,
        f"{LABEL}.product": spec.product_id,
        f"{LABEL}.build": spec.build_id,
        f"{LABEL}.task": task.name,
        f"{LABEL}.role": role,
    }


class PodmanDriver:
    name = "podman"

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.podman = Podman(config.podman, Path(config.state_dir) / "env")
        self.owner = f"{LABEL}.agent={config.name}"
        self.cron = PodmanCron(self)
        self._http: aiohttp.ClientSession | None = None

    async def prepare(self) -> None:
        await self.podman.check("version", "--format", "{{.Client.Version}}")
        self.podman.sweep_env_files()
        self.cron.start()

    async def close(self) -> None:
        await self.cron.stop()
        if self._http is not None:
            await self._http.close()

    # -- what runs

    async def observe(self) -> list[Unit]:
        return [_unit(c) for c in await self.podman.containers(self.owner) if _role(c) == "service"]

    def names(self, spec: InstanceSpec) -> set[str]:
        return {
            container_name(spec, task, n)
            for task in spec.tasks
            if not task.cron
            for n in range(1, task.replicas + 1)
        }

    async def start(self, spec: InstanceSpec) -> None:
        await self.podman.ensure_image(spec.image)
        present = {
            c["Names"][0]: c for c in await self.podman.containers(f"{LABEL}.instance={spec.instance_id}")
        }
        for task in spec.tasks:
            if task.cron:
                continue
            for n in range(1, task.replicas + 1):
                name = container_name(spec, task, n)
                found = present.get(name)
                if found is not None and found.get("State") == "running":
                    continue
                if found is not None:  # created or exited: a half-made or dead replica
                    await self.podman.remove([name], self.config.stop_timeout_seconds)
                await self.run_task(spec, task, name, "service")
        self.cron.track(spec)

    async def run_task(self, spec: InstanceSpec, task: TaskSpec, name: str, role: str) -> None:
        await self.podman.create(self.options(spec, task, name, role), task.env, spec.image, task.args)

    def options(self, spec: InstanceSpec, task: TaskSpec, name: str, role: str) -> list[str]:
        s = self.config.podman
        opts = [
            "--name",
            name,
            "--network",
            s.network,
            "--stop-timeout",
            str(self.config.stop_timeout_seconds),
        ]
        for key, value in labels(self.config.name, spec, task, role).items():
            opts += ["--label", f"{key}={value}"]
        if task.memory_max_mib:
            opts += ["--memory", f"{task.memory_max_mib}m", "--memory-swap", f"{task.memory_max_mib}m"]
        if task.memory_min_mib and (not task.memory_max_mib or task.memory_min_mib <= task.memory_max_mib):
            opts += ["--memory-reservation", f"{task.memory_min_mib}m"]
        if role == "cron":
            opts.append("--rm")  # a finished run leaves nothing behind
        if role == "service" and s.network != "none":
            for port in task.ports:
                opts += ["--publish", f"{s.publish_host}::{port}"]
        if spec.license_file:
            opts += ["--volume", f"{spec.license_file}:{LICENSE_PATH}:ro"]
        return [*opts, *self.podman.ulimits()]

    async def remove(self, instance_id: str, generations: Collection[str] | None = None) -> None:
        found = await self.podman.containers(f"{LABEL}.instance={instance_id}")
        names = [
            c["Names"][0]
            for c in found
            if generations is None or (c.get("Labels") or {}).get(f"{LABEL}.generation") in generations
        ]
        await self.podman.remove(names, self.config.stop_timeout_seconds)
        self.cron.forget(instance_id, generations)

    # -- health

    async def wait_healthy(self, spec: InstanceSpec, timeout: float) -> Health:
        deadline = time.monotonic() + timeout
        delay, last = 0.2, "not checked yet"
        while True:
            ok, last, final = await self._check(spec)
            if ok or final:
                return Health(ok, last)
            if time.monotonic() >= deadline:
                return Health(False, f"not healthy within {timeout:g} s: {last}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _check(self, spec: InstanceSpec) -> tuple[bool, str, bool]:
        """(all healthy, what was seen, whether waiting longer can change it)."""
        present = {
            c["Names"][0]: c for c in await self.podman.containers(f"{LABEL}.instance={spec.instance_id}")
        }
        for name in sorted(self.names(spec)):
            found = present.get(name)
            if found is None:
                return False, f"{name} is missing", False
            if found.get("State") != "running":
                logs = await self.podman.logs(name)
                return False, f"{name} is {found.get('State')} (exit {found.get('ExitCode')}): {logs}", True
            ok, detail = await self._probe(found)
            if not ok:
                return False, f"{name}: {detail}", False
        return True, "every replica is running and healthy", False

    async def _probe(self, container: dict[str, Any]) -> tuple[bool, str]:
        name = container["Names"][0]
        checked: Result = await self.podman.healthcheck(name)
        if checked.code == 0:
            return True, "HEALTHCHECK passed"
        if checked.code != NO_HEALTHCHECK:
            return False, f"HEALTHCHECK exit {checked.code}"
        ports = _published(container)
        if not ports:
            return True, "running (no health check and no published port to probe)"
        return await self._http_probe(ports[0], container.get("Labels") or {})

    async def _http_probe(self, address: str, container_labels: dict[str, str]) -> tuple[bool, str]:
        path = container_labels.get(HEALTH_LABEL)
        paths = ["/" + path.lstrip("/")] if path else list(HEALTH_PATHS)
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3))
        answers = []
        for p in paths:
            try:
                async with self._http.get(f"http://{address}{p}") as resp:
                    answers.append(f"GET {p} → {resp.status}")
                    if 200 <= resp.status < 300:
                        return True, answers[-1]
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                answers.append(f"GET {p} → {type(exc).__name__}")
        return False, "; ".join(answers)

    # -- what the marketplace is told

    async def bindings(self, spec: InstanceSpec) -> dict[str, Any]:
        present = {
            c["Names"][0]: c for c in await self.podman.containers(f"{LABEL}.instance={spec.instance_id}")
        }
        tasks: dict[str, list[dict[str, Any]]] = {}
        for task in spec.tasks:
            if task.cron:
                tasks[task.name] = [{"cron": task.cron}]
                continue
            tasks[task.name] = [
                _binding(name, present.get(name))
                for name in (container_name(spec, task, n) for n in range(1, task.replicas + 1))
            ]
        return {
            "driver": self.name,
            "build_id": spec.build_id,
            "image": spec.image,
            "generation": spec.fingerprint,
            "tasks": tasks,
        }


def _binding(name: str, container: dict[str, Any] | None) -> dict[str, Any]:
    if container is None:
        return {"container": name, "state": "missing"}
    ports = {
        f"{p['container_port']}/{p.get('protocol', 'tcp')}": f"{p['host_ip']}:{p['host_port']}"
        for p in container.get("Ports") or []
    }
    out: dict[str, Any] = {
        "container": name,
        "id": str(container.get("Id", ""))[:12],
        "state": container.get("State"),
        "ports": ports,
    }
    if ports:
        out["url"] = "http://" + next(iter(ports.values()))
    return out


def _published(container: dict[str, Any]) -> list[str]:
    return [f"{p['host_ip'] or '127.0.0.1'}:{p['host_port']}" for p in container.get("Ports") or []]


def _role(container: dict[str, Any]) -> str:
    return str((container.get("Labels") or {}).get(f"{LABEL}.role", "service"))


def _unit(container: dict[str, Any]) -> Unit:
    lbl = container.get("Labels") or {}
    return Unit(
        instance_id=str(lbl.get(f"{LABEL}.instance", "")),
        fingerprint=str(lbl.get(f"{LABEL}.generation", "")),
        name=container["Names"][0],
        running=container.get("State") == "running",
    )
