"""Flows run continuously: each lane is a customer's platform with its agent, running one
flow after another until told to stop, every step retried through the outages."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from hspm.common.testing import unique
from hspm.devstack.api import GatewayApi
from hspm.devstack.flow import FlowIds, PlatformIds, ensure_platform, run_flow
from hspm.devstack.flow_steps import retry

PLATFORM_WAIT = 180.0


@dataclass
class Tally:
    started: list[FlowIds] = field(default_factory=list)
    completed: list[FlowIds] = field(default_factory=list)
    failed: list[tuple[FlowIds, str]] = field(default_factory=list)


@dataclass
class Lane:
    platform: PlatformIds
    task: asyncio.Task[None] | None = None


async def open_lane(api: GatewayApi, root: Path, number: int) -> Lane:
    platform = PlatformIds(f"soak ward {number} {unique('p')}")
    await retry("platform", lambda: ensure_platform(api, platform, root), time.monotonic() + PLATFORM_WAIT)
    return Lane(platform)


async def run_lane(
    api: GatewayApi,
    lane: Lane,
    registry: tuple[str, str],
    stop: asyncio.Event,
    tally: Tally,
    step_wait: float,
) -> None:
    """Flows one after another until ``stop``; the one in flight is always finished."""
    while not stop.is_set():
        flow = FlowIds(unique("soak"), lane.platform)
        tally.started.append(flow)
        try:
            await run_flow(api, flow, registry[0], registry[1], step_wait)
        except Exception as e:  # every failure is a lost flow, reported at the end
            tally.failed.append((flow, f"{type(e).__name__}: {e}"[:2000]))
        else:
            tally.completed.append(flow)
