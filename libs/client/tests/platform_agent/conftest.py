"""Fixtures of the agent's tests: a driver in memory (units appear and vanish at once)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pytest

from hspm.client.platform_agent.desired import InstanceSpec
from hspm.client.platform_agent.drivers.base import Health, Unit


class FakeDriver:
    name = "fake"

    def __init__(self) -> None:
        self.units: dict[str, Unit] = {}
        self.unhealthy: set[str] = set()  # build ids that never become healthy
        self.starts = 0

    async def prepare(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def observe(self) -> list[Unit]:
        return list(self.units.values())

    def names(self, spec: InstanceSpec) -> set[str]:
        return {
            f"{spec.instance_id}-{spec.fingerprint}-{t.name}-{n}"
            for t in spec.tasks
            for n in range(t.replicas)
        }

    async def start(self, spec: InstanceSpec) -> None:
        self.starts += 1
        for name in self.names(spec):
            if name not in self.units or not self.units[name].running:
                self.units[name] = Unit(spec.instance_id, spec.fingerprint, name, True)

    async def wait_healthy(self, spec: InstanceSpec, timeout: float) -> Health:
        ok = spec.build_id not in self.unhealthy
        return Health(ok, "healthy" if ok else "HEALTHCHECK exit 1")

    async def remove(self, instance_id: str, generations: Collection[str] | None = None) -> None:
        for name, unit in list(self.units.items()):
            if unit.instance_id == instance_id and (generations is None or unit.fingerprint in generations):
                del self.units[name]

    async def bindings(self, spec: InstanceSpec) -> dict[str, Any]:
        return {"build_id": spec.build_id, "generation": spec.fingerprint}

    def builds(self, instance_id: str) -> set[str]:
        return {u.fingerprint for u in self.units.values() if u.instance_id == instance_id}


@pytest.fixture
def driver() -> FakeDriver:
    return FakeDriver()
