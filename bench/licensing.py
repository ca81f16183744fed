"""The runtime license check at 10,000 users and 50,000 entitlements: checks/s and latency.

``PUT /authorizations/products/{id}`` (the self-check a running product makes with its
customer's token, scoped to ``authorizations.create``) for 32 customers made in identity,
each asking about a grandchild product covered by a license on its family's root (a walk
of three levels). Every check writes: it spends a use, counts the claim and records an
attempt, so each one commits.

Measured in one run, interleaved round by round: a bare aiohttp + asyncpg server running
the same SQL (``bench.bare_licensing``), licensing direct (with the gateway's principal
assertion) and the gateway. Latency is then measured open loop at half of the gateway's
saturation, on each of the three in turn (the bare one is the latency's baseline: what the
database and the machine cost alone), spread over several customers as real traffic is
(one customer's one entitlement is one row, which concurrent checks take in turn).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import aiohttp
import asyncpg

from bench import licensing_data, openloop
from bench.table import Row
from bench.wrk import Run, median_run, wrk
from hspm.common import db
from hspm.common.auth import Principal, sign_assertion
from hspm.devstack.api import GatewayApi
from hspm.devstack.stack import Stack, free_port
from hspm.licensing.authorizations import store
from hspm.licensing.directory.service import MAX_FAMILY_DEPTH

ROUNDS = 3
TARGET_RATIO = 0.60
TARGET_P99_MS = 20.0
LATENCY_SECONDS = 10
CUSTOMERS = 32
# Customers (each with a product) the open-loop schedule takes in turn.
STREAMS = 16
# The bare baseline gets the pool licensing runs with (the ServiceSettings default).
BARE_POOL = 8
SCOPE = "authorizations.create"
LABEL = "10k users, 50k entitlements"


def _line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Customer:
    user_id: UUID
    token: str


@dataclass(frozen=True)
class Variant:
    """One way of serving the check: its base URL and the header that names the caller."""

    name: str
    base: str
    header: str
    values: dict[UUID, str]  # the header's value for each customer

    def script(self, folder: Path, targets: Sequence[tuple[Customer, UUID]]) -> str:
        reqs = [(f"/authorizations/products/{p}", self.header, self.values[c.user_id]) for c, p in targets]
        path = folder / f"{self.name}.lua"
        path.write_text(lua_script(reqs))
        return str(path)


async def _customers(stack: Stack, admin_token: str) -> list[Customer]:
    """Customers made in identity, each with a token scoped as a running product's is."""
    made = []
    tag = uuid4().hex[:8]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        api = GatewayApi(http, stack.config.gateway_url, {"admin": admin_token})
        for n in range(CUSTOMERS):
            user = await api.ok("POST", "/users", "admin", {"name": f"Bench customer {n} {tag}"})
            body = {"name": "bench product", "scopes": [SCOPE], "expires_in_days": 1}
            token = await api.ok("POST", f"/users/{user['id']}/api_tokens", "admin", body)
            made.append(Customer(UUID(user["id"]), str(token["token"])))
    return made


def lua_script(requests: Sequence[tuple[str, str, str]]) -> str:
    """A wrk script that PUTs each (path, header name, header value) in turn, with no body."""
    entries = ",\n".join(f'  {{"{path}", "{name}", "{value}"}}' for path, name, value in requests)
    return (
        f"local requests = {{\n{entries}\n}}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i + 1\n"
        "  local r = requests[(i % #requests) + 1]\n"
        "  wrk.headers[r[2]] = r[3]\n"
        '  return wrk.format("PUT", r[1])\n'
        "end\n"
    )


async def _start_bare(dsn: str) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.bare_licensing", dsn, str(port), str(BARE_POOL)]
    proc = await asyncio.create_subprocess_exec(*argv)
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                # An unknown product: a 404 (and one attempt recorded).
                headers = {"X-Bench-User": str(uuid4())}
                async with http.put(f"{url}/authorizations/products/{uuid4()}", headers=headers):
                    return proc, url
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the bare baseline did not start")


async def _interleaved(variants: list[Variant], targets: list[tuple[Customer, UUID]]) -> list[Run]:
    """The median of ``ROUNDS`` runs of each variant, taken in turn so noise hurts all alike."""
    with tempfile.TemporaryDirectory() as tmp:
        scripts = [v.script(Path(tmp), targets) for v in variants]
        for v, script in zip(variants, scripts, strict=True):
            await wrk(v.base + "/", {}, seconds=2, script=script)  # warm-up: connections, plans
        runs: list[list[Run]] = [[] for _ in variants]
        for _ in range(ROUNDS):
            for i, v in enumerate(variants):
                runs[i].append(await wrk(v.base + "/", {}, script=scripts[i]))
    return [median_run(r) for r in runs]


def _variants(stack: Stack, bare: str, customers: Sequence[Customer]) -> list[Variant]:
    def assertion(user_id: UUID) -> str:
        principal = Principal(kind="user", user_id=user_id, name="bench", scopes=frozenset({SCOPE}))
        return sign_assertion(principal, stack.internal_secret, ttl=3600, audience="licensing")

    direct = f"http://127.0.0.1:{stack.config.ports['licensing']}"
    return [
        Variant("bare", bare, "X-Bench-User", {c.user_id: str(c.user_id) for c in customers}),
        Variant(
            "licensing", direct, "X-HSPM-Principal", {c.user_id: assertion(c.user_id) for c in customers}
        ),
        Variant(
            "gateway",
            stack.config.gateway_url,
            "Authorization",
            {c.user_id: f"Bearer {c.token}" for c in customers},
        ),
    ]


def _detail(runs: list[tuple[str, Run, openloop.Latency]], rate: float) -> None:
    _line(f"\nlicensing self-check, PUT /authorizations/products/{{id}} ({LABEL}, 3-level families)")
    _line(
        f"  saturated (wrk c=64, medians of {ROUNDS} interleaved rounds), then open loop at "
        f"{rate:.0f} checks/s (half of the gateway's) over {STREAMS} customers for {LATENCY_SECONDS} s"
    )
    head = ("checks/s", "p50 ms", "p99 ms", "open p50", "open p99")
    _line(f"  {'':10}" + "".join(f"{h:>10}" for h in head) + "  errors")
    for label, r, lat in runs:
        errors = f"{r.errors + lat.errors} {r.statuses} {lat.statuses}".strip()
        figures = (r.rps, r.p50_ms, r.p99_ms, lat.p50_ms, lat.p99_ms)
        _line(
            f"  {label:10}{figures[0]:>10.0f}" + "".join(f"{f:>10.2f}" for f in figures[1:]) + f"  {errors}"
        )


async def _open_loop(v: Variant, rate: float, targets: list[tuple[Customer, UUID]]) -> openloop.Latency:
    """One schedule over ``STREAMS`` customers' checks, taken in turn."""
    pairs = targets[:: max(1, len(targets) // STREAMS)][:STREAMS]
    requests = [
        openloop.Request(
            f"{v.base}/authorizations/products/{product}", "PUT", None, {v.header: v.values[customer.user_id]}
        )
        for customer, product in pairs
    ]
    return await openloop.stream(requests, rate, LATENCY_SECONDS)


async def _sql_ms(dsn: str, targets: list[tuple[Customer, UUID]], n: int = 100) -> float:
    """Mean wall time of the check's statement on one idle connection, commit included."""
    pool = await db.create_pool(dsn, 1, 1)
    try:
        async with pool.acquire() as conn:

            async def once(i: int) -> None:
                customer, product = targets[i % len(targets)]
                await store.check(
                    conn, "User", customer.user_id, product, uuid4(), None, None, MAX_FAMILY_DEPTH
                )

            for i in range(10):
                await once(i)  # the first five executions are planned each time
            loop = asyncio.get_running_loop()
            started = loop.time()
            for i in range(n):
                await once(i)
            return (loop.time() - started) / n * 1000
    finally:
        await pool.close()


async def run(stack: Stack, tokens: dict[str, str]) -> list[Row]:
    dsn = stack.config.database_url("licensing")
    customers = await _customers(stack, tokens["admin"])
    by_id = {c.user_id: c for c in customers}
    conn = await asyncpg.connect(dsn)
    try:
        data = await licensing_data.load(conn, licensing_data.Dataset(bench_users=list(by_id)))
    finally:
        await conn.close()
    targets = [(by_id[u], p) for u, p in data.targets]
    bare_proc, bare = await _start_bare(dsn)
    try:
        variants = _variants(stack, bare, customers)
        runs = await _interleaved(variants, targets)
        rate = runs[-1].rps / 2
        latencies = [await _open_loop(v, rate, targets) for v in variants]
        _detail([(v.name, r, lat) for v, r, lat in zip(variants, runs, latencies, strict=True)], rate)
        sql_ms = await _sql_ms(dsn, targets)
        _line(f"  PostgreSQL time per check (its statement and commit, an idle connection): {sql_ms:.2f} ms")
    finally:
        bare_proc.terminate()
        await bare_proc.wait()
    return _rows(runs, latencies)


def _rows(runs: list[Run], latencies: list[openloop.Latency]) -> list[Row]:
    (bare, direct, gateway), (bare_lat, _, gateway_lat) = runs, latencies
    return [
        Row(
            f"licensing self-check through the gateway ({LABEL})",
            gateway.rps,
            "checks/s",
            baseline=bare.rps,
            baseline_name="bare",
            target=TARGET_RATIO,
            errors=gateway.errors + bare.errors,
            statuses=" ".join(s for s in (gateway.statuses, bare.statuses) if s),
        ),
        Row.throughput(
            f"licensing self-check, licensing direct ({LABEL})", direct, "checks/s", bare.rps, "bare"
        ),
        Row(
            "licensing self-check p50 at half saturation, open loop",
            gateway_lat.p50_ms,
            "ms",
            baseline=bare_lat.p50_ms,
            baseline_name="bare",
        ),
        Row(
            "licensing self-check p99 at half saturation, open loop",
            gateway_lat.p99_ms,
            "ms",
            baseline=bare_lat.p99_ms,
            baseline_name="bare",
            target=TARGET_P99_MS,
            lower_is_better=True,
            errors=gateway_lat.errors + bare_lat.errors,
            statuses=" ".join(s for s in (gateway_lat.statuses, bare_lat.statuses) if s),
        ),
    ]
