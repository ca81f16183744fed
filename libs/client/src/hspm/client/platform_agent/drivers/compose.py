"""The compose driver: one compose file per instance (``docker compose -f FILE up -d`` runs it).

Each long-running task is a service with ``instances_minimum`` replicas, a hard memory
limit, its ports published on ``publish_host`` at ports the engine picks, and the
15-second stop grace. Compose has no schedules: a cron task is a service in the ``cron``
profile, labelled with its schedule, for the host's scheduler to ``docker compose run``.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from hspm.client.platform_agent.config import AgentConfig
from hspm.client.platform_agent.desired import InstanceSpec, TaskSpec
from hspm.client.platform_agent.drivers.base import Health, Unit
from hspm.client.platform_agent.drivers.files import RenderedFiles, short
from hspm.client.platform_agent.licenses import LICENSE_FILE_IN_CONTAINER


def render(spec: InstanceSpec, publish_host: str, stop_timeout: int) -> dict[str, Any]:
    return {
        "name": f"hspm-{short(spec.instance_id)}",
        "services": {task.name: _service(spec, task, publish_host, stop_timeout) for task in spec.tasks},
    }


def _service(spec: InstanceSpec, task: TaskSpec, publish_host: str, stop_timeout: int) -> dict[str, Any]:
    labels = {
        "io.hspm.instance": spec.instance_id,
        "io.hspm.product": spec.product_id,
        "io.hspm.build": spec.build_id,
        "io.hspm.generation": spec.fingerprint,
        "io.hspm.task": task.name,
    }
    service: dict[str, Any] = {
        "image": spec.image,
        "environment": dict(task.env),
        "stop_grace_period": f"{stop_timeout}s",
        "labels": labels,
        "security_opt": ["no-new-privileges:true"],
    }
    if task.args:
        service["command"] = list(task.args)
    deploy: dict[str, Any] = {}
    if task.memory_max_mib or task.memory_min_mib:
        deploy["resources"] = _resources(task)
    if task.cron:
        service["profiles"] = ["cron"]
        service["restart"] = "no"
        labels["io.hspm.cron"] = task.cron
    else:
        service["restart"] = "unless-stopped"
        deploy["replicas"] = task.replicas
        if task.ports:
            service["ports"] = [f"{publish_host}::{p}" for p in task.ports]
    if deploy:
        service["deploy"] = deploy
    if spec.license_file:
        service["volumes"] = [f"{spec.license_file}:{LICENSE_FILE_IN_CONTAINER}:ro"]
    return service


def _resources(task: TaskSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if task.memory_max_mib:
        out["limits"] = {"memory": f"{task.memory_max_mib}M"}
    if task.memory_min_mib:
        out["reservations"] = {
            "memory": f"{min(task.memory_min_mib, task.memory_max_mib or task.memory_min_mib)}M"
        }
    return out


class ComposeDriver:
    name = "compose"

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        folder = config.compose.output_dir or str(Path(config.state_dir) / "compose")
        self.files = RenderedFiles(Path(folder), ".compose.yaml")

    async def prepare(self) -> None:
        self.files.prepare()

    async def close(self) -> None:
        return None

    async def observe(self) -> list[Unit]:
        return self.files.units()

    def names(self, spec: InstanceSpec) -> set[str]:
        return {self.files.path(spec.instance_id).name}

    async def start(self, spec: InstanceSpec) -> None:
        self.files.write(
            spec, [render(spec, self.config.compose.publish_host, self.config.stop_timeout_seconds)]
        )

    async def wait_healthy(self, spec: InstanceSpec, timeout: float) -> Health:
        return Health(True, f"rendered to {self.files.path(spec.instance_id)}")

    async def remove(self, instance_id: str, generations: Collection[str] | None = None) -> None:
        path = self.files.doomed(instance_id, generations)
        if path is not None:
            path.unlink(missing_ok=True)

    async def bindings(self, spec: InstanceSpec) -> dict[str, Any]:
        return {
            "driver": self.name,
            "build_id": spec.build_id,
            "image": spec.image,
            "generation": spec.fingerprint,
            "compose_file": str(self.files.path(spec.instance_id)),
        }
