"""Run wrk against loopback and parse its figures (bounded runs only)."""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
from dataclasses import dataclass

_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_PCT = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_ERRORS = re.compile(
    r"Non-2xx or 3xx responses: (\d+)|Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _parse(out: str) -> Run:
    rps = float(_RPS.search(out).group(1))  # type: ignore[union-attr]
    pct = {m.group(1): float(m.group(2)) * _UNIT[m.group(3)] for m in _PCT.finditer(out)}
    errors = sum(int(g) for m in _ERRORS.finditer(out) for g in m.groups() if g)
    return Run(rps, pct["50"], pct["99"], errors)


async def wrk(
    url: str, headers: dict[str, str], seconds: int = 8, connections: int = 64, script: str | None = None
) -> Run:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: run `make deps`")
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    if script is not None:
        argv += ["-s", script]
    proc = await asyncio.create_subprocess_exec(*argv, url, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return _parse(out.decode())


def median_run(runs: list[Run]) -> Run:
    """The run with the median throughput (its latencies belong to the same run)."""
    ordered = sorted(runs, key=lambda r: r.rps)
    mid = ordered[len(ordered) // 2]
    return Run(statistics.median(r.rps for r in runs), mid.p50_ms, mid.p99_ms, sum(r.errors for r in runs))
