"""The gateway hop for a cheap authenticated endpoint, and the ways of making it cheap (ADR 16).

Endpoint: ``GET /users/{self}`` on identity (token → principal → one primary-key read).
Measured in one run, interleaved round by round so a noisy neighbour hurts all alike:

- direct: identity with the gateway's principal assertion (the baseline);
- gateway: the stack's gateway as deployed (the lean upstream client, the default);
- gateway, aiohttp client: a second gateway with ``HSPM_LEAN_UPSTREAM=false`` (the
  forwarding path before ADR 16, kept as the fallback and kill switch);
- nginx edge: Debian's nginx in front (``deploy/nginx/hspm-edge.conf.template``), with
  ``auth_request`` to a third gateway's token check, cached per token, forwarding the
  principal assertion straight to identity.

Besides throughput and latency it prints the CPU each proxy spends per request, read
from ``/proc`` (utime + stime of its processes over the run).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any
from uuid import UUID

import aiohttp

from bench.table import Row
from bench.wrk import Run, median_run, wrk
from hspm.common.auth import Principal, sign_assertion
from hspm.devstack.stack import SERVICES, Stack, free_port

ROUNDS = 3
TARGET_RATIO = 0.70
FIGURE = "gateway hop, GET /users/{self}"
TEMPLATE = Path(__file__).resolve().parents[1] / "deploy" / "nginx" / "hspm-edge.conf.template"
# How long nginx trusts a cached token check: the revocation delay at the edge.
EDGE_AUTH_TTL = "2s"
_TICKS = os.sysconf("SC_CLK_TCK")


def _line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@dataclass
class Variant:
    """One way of serving the endpoint: its URL, headers, and the processes that pay for it."""

    name: str
    url: str
    headers: dict[str, str]
    pids: Callable[[], list[int]]
    runs: list[Run]
    cpu_us: list[float]


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
    return out


async def _me(stack: Stack, token: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stack.config.gateway_url}/status", headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        body: dict[str, Any] = await resp.json()
    return body


async def _wait(url: str, headers: dict[str, str] | None = None) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url, headers=headers) as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200")


@contextlib.asynccontextmanager
async def _process(argv: list[str], env: dict[str, str], log: Path) -> AsyncIterator[int]:
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc.pid
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def _gateway_env(stack: Stack, port: int, **extra: str) -> dict[str, str]:
    spec = next(s for s in SERVICES if s.name == "gateway")
    env = stack.service_env(spec)
    env["HSPM_HTTP_PORT"] = str(port)
    env.update(extra)
    return env


def _nginx_config(stack: Stack, folder: Path, edge: int, gateway: int, internal: int) -> Path:
    ports = stack.config.ports
    values = {
        "HSPM_EDGE_WORKERS": "1",
        "HSPM_EDGE_STATE": str(folder),
        "HSPM_EDGE_ACCESS_LOG": f"{folder}/access.log hspm buffer=64k flush=1s",
        "HSPM_EDGE_LISTEN": f"127.0.0.1:{edge}",
        "HSPM_EDGE_AUTH_TTL": EDGE_AUTH_TTL,
        "HSPM_GATEWAY_ADDR": f"127.0.0.1:{gateway}",
        "HSPM_GATEWAY_INTERNAL_ADDR": f"127.0.0.1:{internal}",
        "HSPM_IDENTITY_ADDR": f"127.0.0.1:{ports['identity']}",
        "HSPM_CATALOG_ADDR": f"127.0.0.1:{ports['catalog']}",
        "HSPM_MAX_BODY_BYTES": str(16 * 1024 * 1024),
        "HSPM_UPSTREAM_TIMEOUT": "30",
        # The same generous limits the bench gives the gateway (one client is the load).
        "HSPM_RATE_LIMIT_PER_MINUTE": "100000000",
        "HSPM_RATE_LIMIT_BURST": "100000",
    }
    config = folder / "nginx.conf"
    config.write_text(Template(TEMPLATE.read_text()).safe_substitute(values))
    return config


@contextlib.asynccontextmanager
async def _alternatives(stack: Stack, folder: Path) -> AsyncIterator[dict[str, tuple[str, list[int]]]]:
    """Start the aiohttp-client gateway and, when nginx is installed, the edge; their URLs and pids."""
    started: dict[str, tuple[str, list[int]]] = {}
    python = [sys.executable, "-m", "hspm.gateway"]
    async with contextlib.AsyncExitStack() as stack_cm:
        port = free_port()
        env = _gateway_env(stack, port, HSPM_LEAN_UPSTREAM="false")
        pid = await stack_cm.enter_async_context(_process(python, env, folder / "gateway-aiohttp.log"))
        await _wait(f"http://127.0.0.1:{port}/readyz")
        started["aiohttp"] = (f"http://127.0.0.1:{port}", [pid])
        # Debian installs it in /usr/sbin, which a user's PATH may not have.
        nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
        if nginx is None:
            _line("  nginx is not installed (Debian package `nginx`): the edge variant is not measured")
        else:
            gw_port, internal, edge = free_port(), free_port(), free_port()
            env = _gateway_env(
                stack,
                gw_port,
                HSPM_EDGE_AUTH="true",
                HSPM_METRICS_PORT=str(internal),
                HSPM_TRUSTED_PROXIES="127.0.0.1",
            )
            gw_pid = await stack_cm.enter_async_context(_process(python, env, folder / "gateway-edge.log"))
            await _wait(f"http://127.0.0.1:{gw_port}/readyz")
            edge_dir = folder / "nginx"
            edge_dir.mkdir()
            # nginx's workers run as nobody when started by root: they write the cache here.
            for path in (folder, edge_dir):
                path.chmod(0o777)
            config = _nginx_config(stack, edge_dir, edge, gw_port, internal)
            argv = [nginx, "-c", str(config), "-p", str(edge_dir), "-e", "stderr"]
            nginx_log = folder / "nginx.log"
            master = await stack_cm.enter_async_context(_process(argv, dict(os.environ), nginx_log))
            await _wait(f"http://127.0.0.1:{edge}/status")
            started["nginx"] = (f"http://127.0.0.1:{edge}", [master, gw_pid])
        yield started


async def _measure(variant: Variant, seconds: int = 8) -> None:
    pids = variant.pids()
    before = _cpu_seconds(pids)
    run = await wrk(variant.url, variant.headers, seconds=seconds)
    spent = _cpu_seconds(pids) - before
    variant.runs.append(run)
    requests = run.rps * seconds
    variant.cpu_us.append(spent / requests * 1e6 if requests else 0.0)


def _row(figure: str, v: Variant, direct: Run, target: float | None) -> Row:
    m = median_run(v.runs)
    return Row(
        figure=figure,
        value=m.rps,
        unit="req/s",
        baseline=direct.rps,
        baseline_name="direct",
        target=target,
        errors=m.errors,
        statuses=m.statuses,
    )


async def run(stack: Stack, tokens: dict[str, str]) -> list[Row]:
    token = tokens["customer"]
    me = await _me(stack, token)
    user_id = me["identity"]["user_id"]
    perms = {f"{r}.{v}" for r, verbs in me["permissions"].items() for v, ok in verbs.items() if ok}
    principal = Principal(kind="user", user_id=UUID(user_id), name="bench", permissions=frozenset(perms))
    assertion = sign_assertion(principal, stack.internal_secret, ttl=3600, audience="identity")
    path = f"/users/{user_id}"
    bearer = {"Authorization": f"Bearer {token}"}
    gateway_pid = stack.processes["gateway"].pid
    with tempfile.TemporaryDirectory(prefix="hspm-bench-gateway-") as tmp:
        async with _alternatives(stack, Path(tmp)) as alt:
            direct = Variant(
                "direct",
                f"http://127.0.0.1:{stack.config.ports['identity']}{path}",
                {"X-HSPM-Principal": assertion},
                lambda: [],
                [],
                [],
            )
            variants = [
                direct,
                Variant("gateway", stack.config.gateway_url + path, bearer, lambda: [gateway_pid], [], []),
            ]
            aio_url, aio_pids = alt["aiohttp"]
            variants.append(Variant("aiohttp client", aio_url + path, bearer, lambda: aio_pids, [], []))
            if "nginx" in alt:
                edge_url, (master, edge_gw) = alt["nginx"]
                variants.append(
                    Variant(
                        "nginx edge",
                        edge_url + path,
                        bearer,
                        lambda: [master, *_children(master), edge_gw],
                        [],
                        [],
                    )
                )
            # Warm every path (JWKS, principal cache, connection pools, the edge's cache).
            for v in variants:
                await wrk(v.url, v.headers, seconds=2)
            for _ in range(ROUNDS):
                for v in variants:
                    await _measure(v)
    base = median_run(direct.runs)
    _line(f"\n{FIGURE} (authenticated), {ROUNDS} interleaved rounds of 8 s at c=64, medians")
    _line(f"  {'':16}{'req/s':>9}{'ratio':>7}{'p50 ms':>9}{'p99 ms':>9}{'proxy CPU/req':>15}{'errors':>8}")
    for v in variants:
        m = median_run(v.runs)
        mid = sorted(v.runs, key=lambda r: r.rps)[len(v.runs) // 2]
        cpu = sorted(v.cpu_us)[len(v.cpu_us) // 2] if v is not direct else 0.0
        cpu_text = f"{cpu:.0f} us" if v is not direct else "-"
        _line(
            f"  {v.name:16}{m.rps:>9.0f}{m.rps / base.rps:>7.2f}{mid.p50_ms:>9.2f}{mid.p99_ms:>9.2f}"
            f"{cpu_text:>15}{m.errors:>8}"
        )
    rows = [_row(FIGURE, variants[1], base, TARGET_RATIO)]
    rows.append(_row("gateway hop, alternative: aiohttp upstream client", variants[2], base, None))
    if len(variants) > 3:
        figure = "gateway hop, alternative: nginx edge, cached auth_request"
        rows.append(_row(figure, variants[3], base, None))
    return rows
