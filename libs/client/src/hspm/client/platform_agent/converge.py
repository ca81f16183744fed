"""Converge one instance, or the whole platform, to what the marketplace wants.

A new generation (another build, or changed settings) is rolled out beside the running
one and must become healthy before the old one is removed; if it does not, it is
removed, the old one keeps serving, and that generation is not tried again until the
spec changes. Units of no wanted instance are removed; stopped or missing replicas of a
wanted one are replaced (drift). Every step is idempotent, so a converge interrupted by
a crash is simply run again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hspm.client.platform_agent.desired import InstanceSpec
from hspm.client.platform_agent.drivers.base import Driver, Unit
from hspm.client.platform_agent.state import State, now_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What the agent reports of one instance (the notifier's ``report`` frame)."""

    instance_id: str
    reported_state: str
    launch_bindings: dict[str, Any] = field(default_factory=dict)
    deployed_at: str | None = None
    errors: tuple[str, ...] = ()

    def report(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "instance_id": self.instance_id,
            "reported_state": self.reported_state,
            "launch_bindings": self.launch_bindings,
            "errors": [e[:2000] for e in self.errors[:50]],
        }
        if self.deployed_at:
            body["deployed_at"] = self.deployed_at
        return body


def failed(instance_id: str, reason: str) -> Outcome:
    return Outcome(instance_id, "failed", errors=(reason,))


class Converger:
    def __init__(self, driver: Driver, state: State, health_timeout: float) -> None:
        self.driver = driver
        self.state = state
        self.health_timeout = health_timeout

    async def sweep(self, wanted: Mapping[str, Any]) -> list[str]:
        """Remove the units of every instance not in ``wanted``; the instance ids removed."""
        strays = {u.instance_id for u in await self.driver.observe()} - set(wanted)
        for instance_id in sorted(strays):
            log.info("instance.removed", extra={"instance_id": instance_id, "why": "not desired"})
            await self.driver.remove(instance_id)
            self.state.drop_deployment(instance_id)
        return sorted(strays)

    async def remove(self, instance_id: str) -> None:
        await self.driver.remove(instance_id)
        self.state.drop_deployment(instance_id)

    async def apply(self, spec: InstanceSpec) -> Outcome:
        if spec.desired_state != "running":
            await self.driver.remove(spec.instance_id)
            self.state.drop_rollout(spec.instance_id)
            return Outcome(spec.instance_id, "stopped")
        units = [u for u in await self.driver.observe() if u.instance_id == spec.instance_id]
        previous = self._previous(spec.instance_id)
        refused = self.state.failure(spec.instance_id, spec.fingerprint)
        if refused is not None:
            return await self._keep_previous(spec, previous, refused)
        if (
            previous is not None
            and previous[0].fingerprint == spec.fingerprint
            and self._in_sync(spec, units)
        ):
            await self.driver.start(spec)  # nothing to create; re-arms schedules after a restart
            return await self._running(spec, previous[1])
        return await self._roll_out(spec, units, previous)

    def _previous(self, instance_id: str) -> tuple[InstanceSpec, str] | None:
        found = self.state.deployment(instance_id)
        return (InstanceSpec.from_json(found[0]), found[2]) if found else None

    def _in_sync(self, spec: InstanceSpec, units: list[Unit]) -> bool:
        ours = {u.name for u in units if u.fingerprint == spec.fingerprint and u.running}
        stale = [u for u in units if u.fingerprint != spec.fingerprint]
        return ours == self.driver.names(spec) and not stale

    async def _roll_out(
        self, spec: InstanceSpec, units: list[Unit], previous: tuple[InstanceSpec, str] | None
    ) -> Outcome:
        log.info("rollout.started", extra={"instance_id": spec.instance_id, "generation": spec.fingerprint})
        await self.driver.start(spec)
        health = await self.driver.wait_healthy(spec, self.health_timeout)
        same = previous is not None and previous[0].fingerprint == spec.fingerprint
        if health.ok:
            stale = {u.fingerprint for u in units} - {spec.fingerprint}
            if stale:
                await self.driver.remove(spec.instance_id, stale)
            deployed_at = previous[1] if same and previous is not None else now_text()
            self.state.put_deployment(spec.instance_id, spec.to_json(), spec.fingerprint, deployed_at)
            log.info("rollout.healthy", extra={"instance_id": spec.instance_id, "detail": health.detail})
            return await self._running(spec, deployed_at)
        if same and previous is not None:
            # A repair of the running generation that is not healthy (yet): nothing to roll back to.
            bindings = await self.driver.bindings(spec)
            return Outcome(spec.instance_id, "unhealthy", bindings, previous[1], (health.detail,))
        reason = f"build {spec.build_id} ({spec.fingerprint}) did not become healthy: {health.detail}"
        log.warning("rollout.failed", extra={"instance_id": spec.instance_id, "reason": reason})
        await self.driver.remove(spec.instance_id, {spec.fingerprint})
        self.state.put_failure(spec.instance_id, spec.fingerprint, reason)
        return await self._keep_previous(spec, previous, reason)

    async def _keep_previous(
        self, spec: InstanceSpec, previous: tuple[InstanceSpec, str] | None, reason: str
    ) -> Outcome:
        """The last healthy generation keeps (or goes back to) running: a rollback."""
        if previous is None or previous[0].fingerprint == spec.fingerprint:
            return failed(spec.instance_id, reason)
        before, deployed_at = previous
        await self.driver.start(before)
        bindings = await self.driver.bindings(before)
        bindings["rolled_back_from"] = {"build_id": spec.build_id, "generation": spec.fingerprint}
        return Outcome(spec.instance_id, "rolled_back", bindings, deployed_at, (reason,))

    async def _running(self, spec: InstanceSpec, deployed_at: str) -> Outcome:
        bindings = await self.driver.bindings(spec)
        if spec.override:
            bindings["recall"] = spec.override
        return Outcome(spec.instance_id, "running", bindings, deployed_at)
