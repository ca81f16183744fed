"""Run wrk against loopback and parse its figures (bounded runs only).

Every run counts its answers by HTTP status (a small Lua hook appended to the request
script) and wrk's socket errors, so a run's errors say what they were: ``503×12``,
``timeout×3``. Errors are failures (``bench.table``).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_PCT = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_STATUS = re.compile(r"^hspm-status (\d+) (\d+)$", re.MULTILINE)
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}

# Counts answers per status in each thread; ``done`` prints them from the main state.
_COUNT_STATUSES = """
local hspm_threads = {}
function setup(thread) table.insert(hspm_threads, thread) end
function response(status, headers, body)
  hspm_statuses = hspm_statuses or {}
  hspm_statuses[status] = (hspm_statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  for _, thread in ipairs(hspm_threads) do
    local counts = thread:get("hspm_statuses") or {}
    for status, n in pairs(counts) do io.write(string.format("hspm-status %d %d\\n", status, n)) end
  end
end
"""


@dataclass(frozen=True)
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    # What the errors were: non-2xx/3xx statuses and socket errors, with their counts.
    problems: dict[str, int] = field(default_factory=dict)

    @property
    def statuses(self) -> str:
        return " ".join(f"{name}×{n}" for name, n in sorted(self.problems.items()))


def parse(out: str) -> Run:
    rps = float(_RPS.search(out).group(1))  # type: ignore[union-attr]
    pct = {m.group(1): float(m.group(2)) * _UNIT[m.group(3)] for m in _PCT.finditer(out)}
    problems: Counter[str] = Counter()
    for m in _STATUS.finditer(out):
        status, n = int(m.group(1)), int(m.group(2))
        if not 200 <= status < 400:
            problems[str(status)] += n
    if sock := _SOCKET.search(out):
        for name, value in zip(("connect", "read", "write", "timeout"), sock.groups(), strict=True):
            if int(value):
                problems[name] += int(value)
    return Run(rps, pct["50"], pct["99"], sum(problems.values()), dict(problems))


def _compose(folder: Path, script: str | None) -> str:
    """The request script (if any) with the status counter appended; a few bytes on local disk."""
    lua = folder / "run.lua"
    lua.write_text((Path(script).read_text() if script else "") + _COUNT_STATUSES)
    return str(lua)


async def wrk(
    url: str, headers: dict[str, str], seconds: int = 8, connections: int = 64, script: str | None = None
) -> Run:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: run `make deps`")
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    with tempfile.TemporaryDirectory() as tmp:
        lua = _compose(Path(tmp), script)
        proc = await asyncio.create_subprocess_exec(*argv, "-s", lua, url, stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
    return parse(out.decode())


def median_run(runs: list[Run]) -> Run:
    """The run with the median throughput (its latencies belong to the same run); errors add up."""
    ordered = sorted(runs, key=lambda r: r.rps)
    mid = ordered[len(ordered) // 2]
    problems: Counter[str] = Counter()
    for r in runs:
        problems.update(r.problems)
    return Run(
        statistics.median(r.rps for r in runs), mid.p50_ms, mid.p99_ms, sum(problems.values()), dict(problems)
    )
