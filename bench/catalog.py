"""The catalog at 10,000 products and 100,000 builds: product read and search.

Each figure through the gateway is compared with a bare aiohttp + asyncpg server that
runs the same store functions (``bench.bare_catalog``), measured in the same run. Search
latency is then measured open-loop at half of the gateway's saturation throughput.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from pathlib import Path

import aiohttp
import asyncpg
import orjson

from bench import catalog_data, openloop
from bench.table import Row
from bench.wrk import Run, median_run, wrk
from hspm.devstack.stack import Stack, free_port

ROUNDS = 3
TARGET_RATIO = 0.60
TARGET_P99_MS = 50.0
# Search's saturated throughput as a share of the bare primary-key read.
TARGET_SEARCH_SHARE = 0.10
QUERIES = ("risk", "fhir", "cardio", "sepsis", "lab res", "quality measure", "pediatrics", "immun")


def _search_script(path: Path) -> str:
    """A wrk script cycling through realistic searches: text, a MIME filter, one facet."""
    rnd = random.Random(3)
    bodies = [
        orjson.dumps(
            {"text": q, "mime_type": [rnd.choice(catalog_data.MIME_TYPES)], "facets": ["mime_type"]}
        ).decode()
        for q in QUERIES
    ]
    lua = "local bodies = {" + ", ".join("[[" + b + "]]" for b in bodies) + "}\n"
    lua += (
        "local i = 0\n"
        "request = function()\n"
        "  i = i + 1\n"
        "  local body = bodies[(i % #bodies) + 1]\n"
        '  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)\n'
        "end\n"
    )
    path.write_text(lua)
    return str(path)


async def _start_bare(dsn: str) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.bare_catalog", dsn, str(port))
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


async def _pair(bare: str, gateway: str, script: str | None) -> tuple[Run, Run]:
    bare_runs, gw_runs = [], []
    await wrk(bare, {}, seconds=2, script=script)
    await wrk(gateway, {}, seconds=2, script=script)
    # Interleaved so a noisy neighbour hurts both sides alike.
    for _ in range(ROUNDS):
        bare_runs.append(await wrk(bare, {}, script=script))
        gw_runs.append(await wrk(gateway, {}, script=script))
    return median_run(bare_runs), median_run(gw_runs)


async def run(stack: Stack) -> list[Row]:
    dsn = stack.config.database_url("catalog")
    conn = await asyncpg.connect(dsn)
    try:
        data = await catalog_data.load(conn, catalog_data.Dataset())
    finally:
        await conn.close()
    bare_proc, bare = await _start_bare(dsn)
    try:
        product_id = data.listed_ids[len(data.listed_ids) // 2]
        read = await _pair(
            f"{bare}/products/{product_id}", f"{stack.config.gateway_url}/products/{product_id}", None
        )
        # Where the difference goes: the service without the gateway in front.
        direct = f"http://127.0.0.1:{stack.config.ports['catalog']}/products/{product_id}"
        read_direct = median_run([await wrk(direct, {}) for _ in range(ROUNDS)])
        with tempfile.TemporaryDirectory() as tmp:
            script = _search_script(Path(tmp) / "search.lua")
            search = await _pair(
                f"{bare}/products/search", f"{stack.config.gateway_url}/products/search", script
            )
        half = search[1].rps / 2
        body = {"text": "risk", "mime_type": [catalog_data.MIME_TYPES[1]], "facets": ["mime_type"]}
        latency = await openloop.run(f"{stack.config.gateway_url}/products/search", half, 10, "POST", body)
    finally:
        bare_proc.terminate()
        await bare_proc.wait()
    return [
        Row(
            "product read through the gateway, GET /products/{id} (10k products)",
            read[1].rps,
            "req/s",
            baseline=read[0].rps,
            baseline_name="bare handler",
            target=TARGET_RATIO,
            errors=read[0].errors + read[1].errors,
            statuses=" ".join(s for s in (read[0].statuses, read[1].statuses) if s),
        ),
        Row(
            "product read, catalog direct (no gateway)",
            read_direct.rps,
            "req/s",
            baseline=read[0].rps,
            baseline_name="bare handler",
            errors=read_direct.errors,
            statuses=read_direct.statuses,
        ),
        Row(
            "search saturated, POST /products/search (text + MIME filter + facet)",
            search[1].rps,
            "req/s",
            baseline=read[0].rps,
            baseline_name="bare product read",
            target=TARGET_SEARCH_SHARE,
            errors=search[0].errors + search[1].errors,
            statuses=" ".join(s for s in (search[0].statuses, search[1].statuses) if s),
        ),
        Row(
            f"search p99 at half saturation ({round(latency.rate)} req/s, open loop)",
            latency.p99_ms,
            "ms",
            target=TARGET_P99_MS,
            lower_is_better=True,
            errors=latency.errors,
            statuses=latency.statuses,
        ),
    ]
