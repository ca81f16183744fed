"""The one small interface every driver implements, and what it reports back.

A driver knows how to make an ``InstanceSpec`` real on one kind of platform: containers
(podman), objects in a cluster or files for one (kubernetes), a compose file (compose).
Each thing it makes for an instance is a ``Unit`` tagged with the instance id and the
spec's fingerprint (its generation), so the agent can tell what runs, what is stale and
what belongs to no instance at all, and converge from there.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from hspm.client.platform_agent.desired import InstanceSpec


@dataclass(frozen=True)
class Unit:
    """One thing a driver runs or wrote for an instance's generation."""

    instance_id: str
    fingerprint: str
    name: str
    running: bool


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str


class Driver(Protocol):
    name: str

    async def prepare(self) -> None:
        """Check the tools and make the driver's own directories; raise if it cannot work."""

    async def observe(self) -> list[Unit]:
        """Every unit this agent owns, whatever instance it belongs to."""

    def names(self, spec: InstanceSpec) -> set[str]:
        """The units ``spec`` consists of, when fully running."""

    async def start(self, spec: InstanceSpec) -> None:
        """Make every unit of ``spec`` exist and run; those already running are left alone."""

    async def wait_healthy(self, spec: InstanceSpec, timeout: float) -> Health:
        """Until every long-running unit of ``spec`` is healthy, or ``timeout`` seconds pass."""

    async def remove(self, instance_id: str, generations: Collection[str] | None = None) -> None:
        """Stop and delete the instance's units of ``generations`` (None: all of them)."""

    async def bindings(self, spec: InstanceSpec) -> dict[str, Any]:
        """What the marketplace is told of the running instance (``launch_bindings``)."""

    async def close(self) -> None:
        """Stop background work (schedules); the units themselves keep running."""
