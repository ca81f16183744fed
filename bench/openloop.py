"""Open-loop load at a fixed request rate, for latency at a chosen share of saturation.

A closed loop (wrk) measures throughput; latency at a given load needs requests sent
on a schedule whether or not earlier ones have answered.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass(frozen=True)
class Latency:
    rate: float
    sent: int
    errors: int
    p50_ms: float
    p99_ms: float
    # What the errors were: statuses other than 200 and client-side failures, counted.
    problems: dict[str, int] = field(default_factory=dict)

    @property
    def statuses(self) -> str:
        return " ".join(f"{name}×{n}" for name, n in sorted(self.problems.items()))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def run(
    url: str,
    rate: float,
    seconds: float,
    method: str = "GET",
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Latency:
    """Send ``rate`` requests per second for ``seconds``; latency counts from the scheduled time."""
    latencies: list[float] = []
    problems: Counter[str] = Counter()
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as http:

        async def one(scheduled: float) -> None:
            try:
                async with http.request(method, url, json=body, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        problems[str(resp.status)] += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                problems[type(exc).__name__] += 1
            latencies.append((time.perf_counter() - scheduled) * 1000)

        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(scheduled)))
        await asyncio.gather(*tasks)
    errors = sum(problems.values())
    return Latency(
        rate, total, errors, _percentile(latencies, 0.5), _percentile(latencies, 0.99), dict(problems)
    )
