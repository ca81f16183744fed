"""The catalog at 10,000 products and 100,000 builds: product read and search.

Each figure through the gateway is compared with a bare aiohttp + asyncpg server that
runs the same store functions (``bench.bare_catalog``), measured in the same run: the
product read against the bare product read, and search's saturated throughput against
the bare product read too (a search is several reads' worth of work; the target says how
many). Search latency is then measured open-loop at half of the gateway's saturation.

``BENCH_CATALOG_PRODUCTS=100000`` runs the same on 100,000 products and 1,000,000 builds.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson

from bench import bare_catalog, catalog_data, openloop
from bench.table import Row
from bench.wrk import Run, median_run, wrk
from hspm.catalog.products import store as products_store
from hspm.common import db
from hspm.devstack.stack import Stack, free_port

ROUNDS = 3
TARGET_READ_RATIO = 0.60
TARGET_SEARCH_RATIO = 0.10
TARGET_P99_MS = 50.0
LATENCY_SECONDS = 10
# The bare baseline gets the pool the catalog runs with (services/catalog config.py).
BARE_POOL = 8
# Pages per query in the no-repeat stream: 8 queries x 32 pages x 5 sizes outnumber the cache.
NO_REPEAT_PAGES = 32
QUERIES = ("risk", "fhir", "cardio", "sepsis", "lab res", "quality measure", "pediatrics", "immun")


def _line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _search_bodies() -> list[dict[str, Any]]:
    """Realistic searches: text, a MIME filter, one facet."""
    rnd = random.Random(3)
    return [
        {"text": q, "mime_type": [rnd.choice(catalog_data.MIME_TYPES)], "facets": ["mime_type"]}
        for q in QUERIES
    ]


def _lua_bodies() -> str:
    """``_search_bodies`` as a Lua table of JSON strings, for the wrk scripts."""
    bodies = [orjson.dumps(b).decode() for b in _search_bodies()]
    return "local bodies = {" + ", ".join("[[" + b + "]]" for b in bodies) + "}\n"


def _search_script(path: Path) -> str:
    """A wrk script cycling through ``_search_bodies``."""
    lua = _lua_bodies() + (
        "local i = 0\n"
        "request = function()\n"
        "  i = i + 1\n"
        "  local body = bodies[(i % #bodies) + 1]\n"
        '  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)\n'
        "end\n"
    )
    path.write_text(lua)
    return str(path)


def _no_repeat_script(path: Path) -> str:
    """The same searches, each asking for another page or page size each time round (1,280
    in a cycle, more than the catalog's result cache holds), so every request misses it,
    as a stream of queries never asked before would. Pages stay within the ranked
    candidates and hold 10 to 14 products, so each costs what a first page does."""
    lua = _lua_bodies() + (
        "local i = 0\n"
        "request = function()\n"
        "  i = i + 1\n"
        "  local round = math.floor(i / #bodies)\n"
        f"  local page = (round % {NO_REPEAT_PAGES}) + 1\n"
        f"  local per_page = 10 + (math.floor(round / {NO_REPEAT_PAGES}) % 5)\n"
        "  local search = bodies[(i % #bodies) + 1]\n"
        "  local body = search:sub(1, -2) .. ',\"page\":' .. page .. ',\"per_page\":' .. per_page .. '}'\n"
        '  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)\n'
        "end\n"
    )
    path.write_text(lua)
    return str(path)


def _every_product_script(path: Path, ids: list[Any]) -> str:
    """A wrk script reading every listed product in turn: the catalog's rendered-product
    cache (ADR 18) at work on the whole catalog, not only on one hot product."""
    lua = (
        "local ids = {"
        + ", ".join(f'"{i}"' for i in ids)
        + "}\n"
        + (
            "local i = 0\n"
            "request = function()\n"
            "  i = i + 1\n"
            '  return wrk.format("GET", "/products/" .. ids[(i % #ids) + 1])\n'
            "end\n"
        )
    )
    path.write_text(lua)
    return str(path)


async def _start_bare(dsn: str) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.bare_catalog", dsn, str(port), str(BARE_POOL)]
    proc = await asyncio.create_subprocess_exec(*argv)
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.post(f"{url}/products/search", json={"text": "x"}) as resp:
                    if resp.status == 200:
                        return proc, url
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the bare baseline did not start")


async def _interleaved(urls: list[str], script: str | None) -> list[Run]:
    """The median of ``ROUNDS`` runs of each URL, taken in turn so noise hurts all alike."""
    for url in urls:
        await wrk(url, {}, seconds=2, script=script)  # warm-up: connections, plans, caches
    runs: list[list[Run]] = [[] for _ in urls]
    for _ in range(ROUNDS):
        for i, url in enumerate(urls):
            runs[i].append(await wrk(url, {}, script=script))
    return [median_run(r) for r in runs]


def _detail(name: str, runs: list[tuple[str, Run]]) -> None:
    _line(f"\n{name}")
    _line(f"  {'':10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}  errors")
    for label, r in runs:
        errors = f"{r.errors} {r.statuses}".strip()
        _line(f"  {label:10}{r.rps:>10.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}  {errors}")


async def _sql_ms(dsn: str, fn: Callable[[db.Conn], Awaitable[object]], n: int = 50) -> float:
    """Mean wall time of ``fn`` on one idle connection (the services' codecs): the
    PostgreSQL time of one request, round trip included."""
    pool = await db.create_pool(dsn, 1, 1)
    try:
        async with pool.acquire() as conn:
            for _ in range(5):
                await fn(conn)
            loop = asyncio.get_running_loop()
            started = loop.time()
            for _ in range(n):
                await fn(conn)
            return (loop.time() - started) / n * 1000
    finally:
        await pool.close()


async def run(stack: Stack) -> list[Row]:
    dsn = stack.config.database_url("catalog")
    size = catalog_data.Dataset(products=int(os.environ.get("BENCH_CATALOG_PRODUCTS", "10000")))
    conn = await asyncpg.connect(dsn)
    try:
        data = await catalog_data.load(conn, size)
    finally:
        await conn.close()
    label = f"{data.products // 1000}k products"
    bare_proc, bare = await _start_bare(dsn)
    try:
        product_id = data.listed_ids[len(data.listed_ids) // 2]
        path = f"/products/{product_id}"
        direct = f"http://127.0.0.1:{stack.config.ports['catalog']}"
        read_bare, read_direct, read_gw = await _interleaved(
            [bare + path, direct + path, stack.config.gateway_url + path], None
        )
        with tempfile.TemporaryDirectory() as tmp:
            every = _every_product_script(Path(tmp) / "every.lua", data.listed_ids)
            (read_every,) = await _interleaved([stack.config.gateway_url], every)
        _detail(f"catalog product read, GET /products/{{id}} (anonymous, {label})", [
            ("bare", read_bare), ("catalog", read_direct), ("gateway", read_gw), ("gw, all", read_every),
        ])  # fmt: skip
        _line(f"  (gw, all: each of the {len(data.listed_ids):,} listed products in turn)")
        gateway_search = f"{stack.config.gateway_url}/products/search"
        with tempfile.TemporaryDirectory() as tmp:
            script = _search_script(Path(tmp) / "search.lua")
            search_bare, search_direct, search_gw = await _interleaved(
                [f"{bare}/products/search", f"{direct}/products/search", gateway_search], script
            )
            # Right after the saturated runs of the same searches, before the stream that
            # repeats nothing: latency at half of that load, in a steady state.
            half = search_gw.rps / 2
            latency = await openloop.stream(
                [openloop.Request(gateway_search, "POST", b) for b in _search_bodies()], half, LATENCY_SECONDS
            )
            unique = _no_repeat_script(Path(tmp) / "no_repeat.lua")
            (search_new,) = await _interleaved([gateway_search], unique)
        _detail(f"catalog search, POST /products/search (text + MIME filter + one facet, {label})", [
            ("bare", search_bare), ("catalog", search_direct), ("gateway", search_gw),
            ("gw, new", search_new),
        ])  # fmt: skip
        _line("  (bare: the store function, no result cache; gw, new: no query repeated, every one a miss)")
        _line(
            f"  open loop through the gateway at half of saturation (the same searches in turn), "
            f"{latency.rate:.0f} req/s for {LATENCY_SECONDS} s: p50 {latency.p50_ms:.2f} ms, "
            f"p99 {latency.p99_ms:.2f} ms, errors {latency.errors} {latency.statuses}".rstrip()
        )
        body = _search_bodies()[0]  # "risk": a fifth of the catalog
        read_sql = await _sql_ms(dsn, lambda c: products_store.get_product(c, product_id))
        search_sql = await _sql_ms(dsn, lambda c: bare_catalog.run_search(c, body))
        sql_ms = f"read {read_sql:.2f} ms, search {search_sql:.2f} ms"
        _line(f"  PostgreSQL time per request (store functions, one idle connection): {sql_ms}")
    finally:
        bare_proc.terminate()
        await bare_proc.wait()
    return [
        Row(
            f"catalog product read through the gateway ({label})",
            read_gw.rps,
            "req/s",
            baseline=read_bare.rps,
            baseline_name="bare",
            target=TARGET_READ_RATIO,
            errors=read_gw.errors + read_bare.errors,
            statuses=" ".join(s for s in (read_gw.statuses, read_bare.statuses) if s),
        ),
        Row.throughput(
            f"catalog product read, catalog direct ({label})", read_direct, "req/s", read_bare.rps, "bare"
        ),
        Row.throughput(
            f"catalog product read through the gateway, every listed product in turn ({label})",
            read_every,
            "req/s",
            read_bare.rps,
            "bare",
        ),
        Row(
            f"catalog search saturated through the gateway ({label})",
            search_gw.rps,
            "req/s",
            baseline=read_bare.rps,
            baseline_name="bare read",
            target=TARGET_SEARCH_RATIO,
            errors=search_gw.errors + search_bare.errors + search_direct.errors,
            statuses=" ".join(
                s for s in (search_gw.statuses, search_bare.statuses, search_direct.statuses) if s
            ),
        ),
        Row.throughput(
            f"catalog search through the gateway, no query repeated ({label})",
            search_new,
            "req/s",
            read_bare.rps,
            "bare read",
        ),
        Row(
            f"catalog search p99 at half saturation, open loop ({label})",
            latency.p99_ms,
            "ms",
            target=TARGET_P99_MS,
            lower_is_better=True,
            errors=latency.errors,
            statuses=latency.statuses,
        ),
    ]
