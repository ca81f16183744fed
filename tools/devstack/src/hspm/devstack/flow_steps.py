"""How the main flow's driver talks to a stack that may be partly down.

A step is retried until its deadline while the marketplace answers as an outage does
(no connection, 5xx, 429) or while it is still waiting for an event to travel between
services (``Pending``). Every other answer is a real failure and raised at once. Steps
look records up before creating them, so a retry after a lost response never makes a
second one.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp

from hspm.devstack.api import ApiError, GatewayApi

T = TypeVar("T")
RETRY_PAUSE = 0.5


class Pending(Exception):
    """Not there yet: an event has still to reach a service, or a run to finish."""


class Unavailable(Exception):
    """The marketplace answered as an outage does; the call may be repeated."""


class StepFailed(AssertionError):
    """A step did not finish before its deadline; the message says what it last saw."""


def outage(status: int) -> bool:
    return status >= 500 or status in (408, 429)


async def send(
    api: GatewayApi,
    method: str,
    path: str,
    persona: str | None,
    body: Any = None,
    accept: str = "application/json",
) -> tuple[int, Any]:
    """``api.send``, with an outage raised as :class:`Unavailable`."""
    try:
        status, data = await api.send(method, path, persona, body, accept)
    except (aiohttp.ClientError, TimeoutError, ConnectionError, json.JSONDecodeError) as e:
        # A gateway killed mid-response leaves a broken or non-JSON body, too.
        raise Unavailable(f"{method} {path}: {type(e).__name__} {e}") from e
    if outage(status):
        raise Unavailable(f"{method} {path}: {status} {json.dumps(data)[:300]}")
    return status, data


async def raw(api: GatewayApi, path: str, persona: str) -> tuple[int, bytes]:
    """A GET's status and body as bytes (a signed document is kept as it was sent)."""
    headers = {"Authorization": f"Bearer {api.tokens[persona]}", "Accept": "application/json"}
    try:
        async with api.http.get(api.base + path, headers=headers) as resp:
            body = await resp.read()
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as e:
        raise Unavailable(f"GET {path}: {type(e).__name__} {e}") from e
    if outage(resp.status):
        raise Unavailable(f"GET {path}: {resp.status}")
    return resp.status, body


async def ok(api: GatewayApi, method: str, path: str, persona: str | None, body: Any = None) -> Any:
    status, data = await send(api, method, path, persona, body)
    if status not in (200, 201, 202, 204):
        raise ApiError(f"{method} {path} as {persona}: {status} {json.dumps(data)[:1000]}")
    return data


async def find(api: GatewayApi, path: str, persona: str, **match: Any) -> dict[str, Any] | None:
    """The first record of a (paged) collection whose fields equal ``match``."""
    page: int | None = 1
    sep = "&" if "?" in path else "?"
    while page:
        body = await ok(api, "GET", f"{path}{sep}per_page=100&page={page}", persona)
        for record in body["results"]:
            if all(record.get(k) == v for k, v in match.items()):
                return dict(record)
        page = body.get("next_page")
    return None


async def every(api: GatewayApi, path: str, persona: str) -> list[dict[str, Any]]:
    """Every record of a (paged) collection."""
    found: list[dict[str, Any]] = []
    page: int | None = 1
    sep = "&" if "?" in path else "?"
    while page:
        body = await ok(api, "GET", f"{path}{sep}per_page=100&page={page}", persona)
        found.extend(dict(r) for r in body["results"])
        page = body.get("next_page")
    return found


async def ensure(
    api: GatewayApi,
    collection: str,
    persona: str,
    body: dict[str, Any],
    lookup: str | None = None,
    **match: Any,
) -> dict[str, Any]:
    """The record matching ``match`` (looked up first), else created. A 404 or 403 means
    the owning service has not yet heard of what the record hangs on: pending."""
    found = await find(api, lookup or collection, persona, **match)
    if found is not None:
        return found
    status, created = await send(api, "POST", collection, persona, body)
    if status == 201:
        return dict(created)
    if status in (403, 404):
        raise Pending(f"POST {collection}: {status} {json.dumps(created)[:300]}")
    raise ApiError(f"POST {collection} as {persona}: {status} {json.dumps(created)[:1000]}")


async def retry(what: str, attempt: Callable[[], Awaitable[T]], deadline: float) -> T:
    """``attempt`` until it returns, while it meets outages or pending events, up to the
    ``deadline`` (``time.monotonic()``); then :class:`StepFailed` with the last reason."""
    # The last wait and the last outage are both kept: an outage at the very end would
    # otherwise hide what the step was waiting for all along.
    last = {"pending": "none", "outage": "none"}
    while time.monotonic() < deadline:
        try:
            return await attempt()
        except Pending as e:
            last["pending"] = str(e)
        except Unavailable as e:
            last["outage"] = str(e)
        await asyncio.sleep(RETRY_PAUSE)
    raise StepFailed(
        f"{what}: not done in time; last waiting for: {last['pending']}; last outage: {last['outage']}"
    )
