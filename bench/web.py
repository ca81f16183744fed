"""The web UI's pages against the demo catalog: server time per page beside its API calls.

Each main page is fetched by a signed-in browser session (anonymous for the public ones),
one request at a time; its server time is the web service's own ``Server-Timing`` (the API
calls it makes through the gateway, and rendering). The baseline, measured in the same run,
is the same API calls made directly by a client with the persona's API token, in the same
concurrent stages the page makes them: what the page costs beyond rendering is the ratio.
Target: every page's p99 under 300 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from bench.table import Row
from hspm.devstack.login import ui_sign_in
from hspm.devstack.stack import Stack

ROUNDS = 60
WARMUP = 5
TARGET_MS = 300.0
PASSWORDS = {p: f"{p}-demo-password" for p in ("operator", "isv", "customer", "auditor")}
# A stage is the API calls a page makes at once: (method, path, JSON body or None).
Stage = list[tuple[str, str, Any]]
AWAITING = "state=awaiting_review&per_page=100"
BY_PRODUCT = "group_by=product&per_page=100"


@dataclass(frozen=True)
class PageCase:
    name: str
    persona: str | None
    path: str
    stages: list[Stage]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _cases(http: aiohttp.ClientSession, gw: str, tokens: dict[str, str]) -> list[PageCase]:
    """The main pages, with the ids of a published demo product and its build."""

    async def get(path: str, persona: str) -> Any:
        async with http.get(gw + path, headers={"Authorization": f"Bearer {tokens[persona]}"}) as resp:
            return await resp.json()

    product = (await get("/products?name=Sepsis%20Watch", "operator"))["results"][0]
    pid = product["id"]
    build = (await get(f"/products/{pid}/builds", "operator"))["results"][0]
    bid, b = build["id"], f"/products/{pid}/builds/{build['id']}"
    case = (await get(f"/reviews?build_id={bid}", "operator"))["results"][0]
    terms = [("GET", f"/licenses/{pl['license_id']}", None) for pl in product["product_licenses"]]
    search = {"facets": True, "per_page": 12, "sort": "name", "page": 1}
    text = search | {"text": "sepsis", "sort": "relevance"}
    mine = {"user_id": product["user_id"], "per_page": 100, "sort": "name"}
    product_stages: list[Stage] = [
        [
            _get(f"/products/{pid}"),
            _get(f"/products/{pid}/builds?per_page=50"),
            _get(f"/products/{pid}/screenshots"),
            _get(f"/products/{pid}/licenses"),
        ],
        [_get(f"{b}/marketplace.json")],
        terms,
    ]
    build_stages: list[Stage] = [
        [
            _get(f"/products/{pid}"),
            _get(b),
            _get(f"{b}/marketplace.json"),
            _get(f"{b}/validations"),
            _get(f"/reviews?build_id={bid}"),
        ],
        [_get(f"/reviews/{case['id']}/provenance?per_page=100")],
    ]
    return [
        PageCase("catalog", None, "/ui/", [[("POST", "/products/search", search)]]),
        PageCase("search", None, "/ui/?q=sepsis", [[("POST", "/products/search", text)]]),
        PageCase("product", None, f"/ui/products/{pid}", product_stages),
        PageCase("build", "operator", f"/ui{b}", build_stages),
        PageCase("vendor products", "isv", "/ui/vendor", [[("POST", "/products/search", mine)]]),
        PageCase("review queue", "operator", "/ui/operator", [[_get(f"/reviews?{AWAITING}")]]),
        PageCase("platforms", "customer", "/ui/platforms", [[_get("/platforms?per_page=100")]]),
        PageCase("entitlements", "customer", "/ui/entitlements",
                 [[_get("/entitlements?per_page=100")], [_get(f"/products/{pid}")]]),
        PageCase("usage report", "auditor", "/ui/reports", [[_get(f"/usage_reports?{BY_PRODUCT}")]]),
    ]  # fmt: skip


def _get(path: str) -> tuple[str, str, Any]:
    return ("GET", path, None)


async def _timed(call: Callable[[], Awaitable[tuple[int, float | None]]]) -> tuple[list[float], int]:
    """Milliseconds of each round after the warm-up, and how many answers were not 200."""
    times, errors = [], 0
    for n in range(WARMUP + ROUNDS):
        status, ms = await call()
        errors += status != 200
        if n >= WARMUP and ms is not None:
            times.append(ms)
    return times, errors


async def _page_time(http: aiohttp.ClientSession, url: str) -> tuple[int, float | None]:
    async with http.get(url, allow_redirects=False) as resp:
        await resp.read()
        timing = resp.headers.get("Server-Timing", "")
        ms = float(timing.split("dur=", 1)[1]) if "dur=" in timing else None
        return resp.status, ms


async def _api_time(
    http: aiohttp.ClientSession, gw: str, token: str | None, stages: list[Stage]
) -> tuple[int, float]:
    headers = {"Accept": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    worst = 200

    async def one(method: str, path: str, body: Any) -> None:
        nonlocal worst
        data = orjson.dumps(body) if body is not None else None
        h = headers | ({"Content-Type": "application/json"} if data else {})
        async with http.request(method, gw + path, data=data, headers=h) as resp:
            await resp.read()
            if resp.status != 200:
                worst = resp.status

    started = time.perf_counter()
    for stage in stages:
        await asyncio.gather(*(one(*call) for call in stage))
    return worst, (time.perf_counter() - started) * 1000


async def run(stack: Stack, tokens: dict[str, str]) -> list[Row]:
    gw = stack.config.gateway_url
    rows: list[Row] = []
    async with aiohttp.ClientSession() as api_http:
        cases = await _cases(api_http, gw, tokens)
        sessions: dict[str | None, aiohttp.ClientSession] = {}
        try:
            for persona in {c.persona for c in cases}:
                session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
                sessions[persona] = session
                if persona is not None:
                    await ui_sign_in(session, gw, persona, PASSWORDS[persona])
            for case in cases:
                http, token = sessions[case.persona], tokens[case.persona] if case.persona else None
                page, page_errors = await _timed(lambda h=http, c=case: _page_time(h, gw + c.path))
                api, api_errors = await _timed(lambda c=case, t=token: _api_time(api_http, gw, t, c.stages))
                sys_line(
                    f"web {case.name}: page p50 {statistics.median(page):.1f} ms, "
                    f"p99 {_p(page, 0.99):.1f} ms; its API calls p50 {statistics.median(api):.1f} ms, "
                    f"p99 {_p(api, 0.99):.1f} ms"
                )
                rows.append(Row(
                    f"web page {case.name}, p99 server time", _p(page, 0.99), "ms", _p(api, 0.99),
                    "its API calls, p99", TARGET_MS, lower_is_better=True, errors=page_errors + api_errors,
                ))  # fmt: skip
        finally:
            for session in sessions.values():
                await session.close()
    return rows


def sys_line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
