"""The kubernetes driver: render each instance's objects to a file, and apply it to a cluster
when one is configured (``kubectl apply --server-side``), else leave the files for GitOps.

With a cluster, health is ``kubectl rollout status`` of the instance's Deployments; with
files only there is nothing to judge, and the rendering counts as done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from pathlib import Path
from typing import Any

from hspm.client.platform_agent.config import AgentConfig
from hspm.client.platform_agent.desired import InstanceSpec
from hspm.client.platform_agent.drivers.base import Health, Unit
from hspm.client.platform_agent.drivers.files import RenderedFiles
from hspm.client.platform_agent.drivers.kubernetes_render import MANAGER, object_name, render


class KubectlError(Exception):
    """kubectl failed; the message carries its output."""


class KubernetesDriver:
    name = "kubernetes"

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.settings = config.kubernetes
        folder = self.settings.output_dir or str(Path(config.state_dir) / "kubernetes")
        self.files = RenderedFiles(Path(folder), ".yaml")

    @property
    def cluster(self) -> bool:
        return bool(self.settings.context or self.settings.kubeconfig)

    async def prepare(self) -> None:
        self.files.prepare()
        if self.cluster:
            await self._kubectl("version", "--client")

    async def close(self) -> None:
        return None

    async def observe(self) -> list[Unit]:
        return self.files.units()

    def names(self, spec: InstanceSpec) -> set[str]:
        return {self.files.path(spec.instance_id).name}

    async def start(self, spec: InstanceSpec) -> None:
        documents = render(spec, self.settings.namespace, self.config.stop_timeout_seconds)
        path = self.files.write(spec, documents)
        if self.cluster:
            await self._kubectl("apply", "--server-side", f"--field-manager={MANAGER}", "-f", str(path))

    async def wait_healthy(self, spec: InstanceSpec, timeout: float) -> Health:
        if not self.cluster:
            return Health(True, f"rendered to {self.files.path(spec.instance_id)} (no cluster configured)")
        for task in spec.tasks:
            if task.cron:
                continue
            target = f"deployment/{object_name(spec, task)}"
            try:
                await self._kubectl(
                    "rollout", "status", target, f"--timeout={int(timeout)}s", timeout=timeout + 30
                )
            except KubectlError as exc:
                return Health(False, str(exc))
        return Health(True, "every Deployment rolled out")

    async def remove(self, instance_id: str, generations: Collection[str] | None = None) -> None:
        path = self.files.doomed(instance_id, generations)
        if path is None:
            return
        if self.cluster:
            await self._kubectl("delete", "--ignore-not-found", "-f", str(path))
        path.unlink(missing_ok=True)

    async def bindings(self, spec: InstanceSpec) -> dict[str, Any]:
        services = {
            t.name: f"{object_name(spec, t)}.{self.settings.namespace}.svc" for t in spec.tasks if t.ports
        }
        return {
            "driver": self.name,
            "build_id": spec.build_id,
            "image": spec.image,
            "generation": spec.fingerprint,
            "manifest": str(self.files.path(spec.instance_id)),
            "applied": self.cluster,
            "services": services,
        }

    async def _kubectl(self, *args: str, timeout: float = 120.0) -> str:
        s = self.settings
        argv = [s.kubectl, "--namespace", s.namespace]
        if s.kubeconfig:
            argv += ["--kubeconfig", s.kubeconfig]
        if s.context:
            argv += ["--context", s.context]
        proc = await asyncio.create_subprocess_exec(
            *argv, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise KubectlError(f"kubectl {args[0]} timed out") from None
        text = out.decode(errors="replace").strip()
        if proc.returncode != 0:
            raise KubectlError(f"kubectl {args[0]} exited {proc.returncode}: {text[-600:]}")
        return text
