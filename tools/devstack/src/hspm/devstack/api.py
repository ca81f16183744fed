"""A small client of the public API through the gateway, as the demo personas.

The demo seed, the system tests and the benchmarks all speak to a stack this way:
bearer tokens from ``dev-tokens.json`` by persona name, JSON in and out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

TAKEN = "has already been taken"
OK = (200, 201, 202, 204)
# A polite client: on 429 wait as long as Retry-After says (capped), a few times.
RATE_LIMIT_RETRIES = 5
RETRY_AFTER_CAP = 5.0


def retry_after(value: str | None) -> float:
    """Seconds to wait; the gateway sends delta-seconds (an HTTP date counts as 1 s)."""
    try:
        return min(max(float(value or 1), 0.0), RETRY_AFTER_CAP)
    except ValueError:
        return 1.0


class ApiError(RuntimeError):
    """A call that had to succeed failed; the message carries the response body."""


@dataclass
class GatewayApi:
    http: aiohttp.ClientSession
    base: str
    tokens: dict[str, str]

    async def send(
        self,
        method: str,
        path: str,
        persona: str | None,
        body: Any = None,
        accept: str = "application/json",
        extra: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        """The status and the body (parsed JSON, or text for another ``accept``); never raises.

        Pollers share one client address, so a 429 is waited out, not reported. ``extra``
        headers go along (a test's ``traceparent``, say).
        """
        headers = {"Accept": accept, **(extra or {})}
        if persona is not None:
            headers["Authorization"] = f"Bearer {self.tokens[persona]}"
        for _ in range(RATE_LIMIT_RETRIES):
            async with self.http.request(method, self.base + path, headers=headers, json=body) as resp:
                text = await resp.text()
                if resp.status == 429:
                    await asyncio.sleep(retry_after(resp.headers.get("Retry-After")))
                    continue
                if accept != "application/json":
                    return resp.status, text
                return resp.status, json.loads(text) if text else None
        return 429, None

    async def call(
        self,
        method: str,
        path: str,
        persona: str | None,
        body: Any = None,
        ok: tuple[int, ...] = OK,
        extra: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Like :meth:`send`, but a status outside ``ok`` raises :class:`ApiError`."""
        status, data = await self.send(method, path, persona, body, extra=extra)
        if status not in ok:
            raise ApiError(f"{method} {path} as {persona}: {status} {json.dumps(data)[:2000]}")
        return status, data

    async def ok(
        self,
        method: str,
        path: str,
        persona: str | None,
        body: Any = None,
        extra: Mapping[str, str] | None = None,
    ) -> Any:
        """The body of a call that must succeed."""
        return (await self.call(method, path, persona, body, extra=extra))[1]

    async def get(self, path: str, persona: str | None) -> Any:
        return await self.ok("GET", path, persona)

    async def each(self, path: str, persona: str | None) -> AsyncGenerator[dict[str, Any], None]:
        """Every record of a (paged) collection, page by page."""
        page = 1
        sep = "&" if "?" in path else "?"
        while True:
            body = await self.get(f"{path}{sep}per_page=100&page={page}", persona)
            for record in body["results"]:
                yield dict(record)
            if not body.get("next_page"):
                return
            page = body["next_page"]

    async def find(self, path: str, persona: str | None, **match: Any) -> dict[str, Any] | None:
        """The first record of a (paged) collection whose fields equal ``match``."""
        async with contextlib.aclosing(self.each(path, persona)) as records:
            async for record in records:
                if all(record.get(k) == v for k, v in match.items()):
                    return record
        return None

    async def ensure(
        self, collection: str, persona: str, body: dict[str, Any], lookup: str | None = None, **match: Any
    ) -> dict[str, Any]:
        """Find by ``match`` in ``lookup`` (default: the collection), else create."""
        found = await self.find(lookup or collection, persona, **match)
        if found is not None:
            return found
        status, created = await self.call("POST", collection, persona, body, ok=(201, 422))
        if status == 201:
            return dict(created)
        if TAKEN in json.dumps(created):
            again = await self.find(lookup or collection, persona, **match)
            if again is not None:
                return again
        raise ApiError(f"POST {collection} as {persona}: 422 {json.dumps(created)[:2000]}")
