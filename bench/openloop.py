"""Open-loop load at a fixed request rate, for latency at a chosen share of saturation.

A closed loop (wrk) measures throughput; latency at a given load needs requests sent
on a schedule whether or not earlier ones have answered. The generator is
``openloop.c``, built here with the machine's C compiler: it shares two cores with what
it measures, and a Python client's own delays at a few thousand requests a second were
counted as the server's latency (and its bursts after a pause set off load shedding).
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

SOURCE = Path(__file__).with_name("openloop.c")
BUILD_DIR = Path(tempfile.gettempdir()) / "hspm-bench"
MAX_CONNECTIONS = 256


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


@dataclass(frozen=True)
class Request:
    """One request of a stream: where it goes, and what it carries."""

    url: str
    method: str = "GET"
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def raw(self) -> bytes:
        parts = urlsplit(self.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"{self.method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        payload = orjson.dumps(self.body) if self.body is not None else b""
        if self.body is not None:
            lines.append("Content-Type: application/json")
        if payload or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(payload)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def binary() -> Path:
    """The generator, compiled once per version of its source."""
    source = SOURCE.read_bytes()
    target = BUILD_DIR / f"openloop-{hashlib.sha256(source).hexdigest()[:12]}"
    if not target.exists():
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            raise RuntimeError("the open-loop generator needs a C compiler (cc or gcc)")
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        subprocess.run([compiler, "-O2", "-o", str(partial), str(SOURCE)], check=True)  # noqa: S603
        partial.replace(target)
    return target


def _parse(rate: float, out: str) -> Latency:
    sent, p50, p99 = 0, float("nan"), float("nan")
    problems: dict[str, int] = {}
    for line in out.splitlines():
        words = line.split()
        if words[0] == "sent":
            sent = int(words[1])
        elif words[0] == "p50":
            p50 = float(words[1])
        elif words[0] == "p99":
            p99 = float(words[1])
        elif words[0] == "status" and words[1] != "200" or words[0] == "error":
            problems[words[1]] = int(words[2])
    return Latency(rate, sent, sum(problems.values()), p50, p99, problems)


async def stream(requests: Sequence[Request], rate: float, seconds: float) -> Latency:
    """Send ``rate`` requests per second for ``seconds``, taking ``requests`` in turn;
    latency counts from each request's scheduled time."""
    hosts = {urlsplit(r.url).netloc for r in requests}
    if len(hosts) != 1:
        raise ValueError("one stream goes to one host")
    parts = urlsplit(requests[0].url)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, request in enumerate(requests):
            path = Path(tmp) / f"request-{i}"
            path.write_bytes(request.raw())
            files.append(str(path))
        argv = [
            str(binary()),
            parts.hostname or "127.0.0.1",
            str(parts.port or 80),
            str(rate),
            str(seconds),
            str(MAX_CONNECTIONS),
            *files,
        ]
        proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the open-loop generator failed ({proc.returncode})")
    return _parse(rate, out.decode())


async def run(
    url: str,
    rate: float,
    seconds: float,
    method: str = "GET",
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Latency:
    """One request, sent ``rate`` times a second for ``seconds``."""
    return await stream([Request(url, method, body, dict(headers or {}))], rate, seconds)
