"""Cron tasks under podman: one run-to-completion container per due minute.

Each run is named after its minute (``...-cron-YYYYmmddHHMM``), so a restarted agent never
starts the same minute's run twice, and a run still going when the next is due makes
that one wait (Kubernetes' ``concurrencyPolicy: Forbid``). Finished runs remove themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from hspm.client.platform_agent import cron
from hspm.client.platform_agent.desired import InstanceSpec, TaskSpec

if TYPE_CHECKING:
    from hspm.client.platform_agent.drivers.podman import PodmanDriver

log = logging.getLogger(__name__)


class PodmanCron:
    def __init__(self, driver: PodmanDriver) -> None:
        self.driver = driver
        self.jobs: dict[tuple[str, str], tuple[InstanceSpec, TaskSpec, cron.Schedule]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="podman-cron")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def track(self, spec: InstanceSpec) -> None:
        """The instance's cron tasks from now on (replacing an older generation's)."""
        self.forget(spec.instance_id, None)
        for task in spec.tasks:
            if task.cron:
                try:
                    self.jobs[(spec.instance_id, task.name)] = (spec, task, cron.parse(task.cron))
                except cron.CronError as exc:
                    log.warning("cron.invalid", extra={"instance_id": spec.instance_id, "error": str(exc)})

    def forget(self, instance_id: str, generations: Collection[str] | None) -> None:
        for key, (spec, _, _) in list(self.jobs.items()):
            if key[0] == instance_id and (generations is None or spec.fingerprint in generations):
                del self.jobs[key]

    async def _loop(self) -> None:
        while True:
            now = datetime.now(UTC)
            await asyncio.sleep(60 - now.second - now.microsecond / 1e6 + 0.05)
            await self.run_due(datetime.now(UTC).replace(second=0, microsecond=0))

    async def run_due(self, minute: datetime) -> list[str]:
        """Start every job due at ``minute``; the names of the runs started."""
        started = []
        for spec, task, schedule in list(self.jobs.values()):
            if schedule.matches(minute):
                name = await self._run(spec, task, minute)
                if name:
                    started.append(name)
        return started

    async def _run(self, spec: InstanceSpec, task: TaskSpec, minute: datetime) -> str | None:
        prefix = f"hspm-{spec.instance_id}-{spec.fingerprint}-{task.name}-cron-"
        label = f"io.hspm.instance={spec.instance_id}"
        running = [c for c in await self.driver.podman.containers(label) if c["Names"][0].startswith(prefix)]
        if running:
            return None  # the last run is still going, or this minute's already started
        name = prefix + minute.strftime("%Y%m%d%H%M")
        try:
            await self.driver.podman.ensure_image(spec.image)
            await self.driver.run_task(spec, task, name, "cron")
        except Exception as exc:  # a failed run is logged; the next minute tries again
            log.error(
                "cron.failed", extra={"instance_id": spec.instance_id, "task": task.name, "error": str(exc)}
            )
            return None
        return name
