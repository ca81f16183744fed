"""A small typed client of the marketplace's public API, shared by the ``hspm`` commands.

One base URL (the gateway), an optional bearer token (only ever in the ``Authorization``
header, never in a URL), JSON in and out, paging over the spec's ``{results, next_page}``
collections, and politeness: a 429 is waited out as ``Retry-After`` asks (bounded). Every
refusal is an :class:`ApiError` carrying the status, the API's words and its field errors,
so the command line can say what to do about it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import aiohttp

# A 429 is retried this many times, each wait at most RETRY_AFTER_CAP seconds.
RATE_LIMIT_RETRIES = 5
RETRY_AFTER_CAP = 30.0
TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10)
JSON = "application/json"
Query = Mapping[str, str | int]


@dataclass
class ApiError(Exception):
    """The API refused or failed: ``status`` 0 means it could not be reached at all."""

    status: int
    detail: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    body: Any = None

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}" if self.status else self.detail


def retry_after(value: str | None, now: datetime | None = None) -> float:
    """Seconds a ``Retry-After`` asks for (delta-seconds or an HTTP date), within [0, cap]."""
    if not value:
        return 1.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 1.0
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def error_from(status: int, body: Any) -> ApiError:
    """An :class:`ApiError` from a refusal's body: problem+json, the spec's ``errors``, or text."""
    if not isinstance(body, dict):
        text = body.strip()[:500] if isinstance(body, str) else ""
        return ApiError(status, text or f"HTTP {status}", body=body)
    detail = body.get("detail") or body.get("message") or body.get("error") or body.get("title")
    raw = body.get("errors")
    errors: dict[str, list[str]] = {}
    if isinstance(raw, dict):
        errors = {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in raw.items()}
    return ApiError(status, str(detail or f"HTTP {status}"), errors, body)


def _decode(text: str, content_type: str) -> Any:
    """JSON when the answer says so (problem+json too), else the text itself."""
    if "json" in content_type and text:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text or None


def _check_path(path: str) -> None:
    """Paths are the API's, relative to the base URL: never a whole URL a token could leak to."""
    if not path.startswith("/") or path.startswith("//") or "://" in path.split("?", 1)[0]:
        raise ValueError(f"not an API path: {path!r}")


class Api:
    """``async with Api(url, token) as api``: calls to one marketplace as one caller."""

    def __init__(self, base_url: str, token: str | None = None, user_agent: str = "hspm-cli") -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._user_agent = user_agent
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Api:
        self._http = aiohttp.ClientSession(timeout=TIMEOUT)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": self._user_agent}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    async def _once(
        self, method: str, path: str, body: Any, query: Query | None, accept: str
    ) -> tuple[int, str, str, str | None]:
        assert self._http is not None, "use Api as an async context manager"
        kwargs: dict[str, Any] = {"headers": self._headers(accept), "params": dict(query or {})}
        if body is not None:
            kwargs["json"] = body
        try:
            async with self._http.request(method, self.base_url + path, **kwargs) as resp:
                text = await resp.text()
                return resp.status, resp.content_type, text, resp.headers.get("Retry-After")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ApiError(
                0, f"cannot reach the marketplace at {self.base_url} ({type(exc).__name__})"
            ) from exc

    async def send(
        self, method: str, path: str, body: Any = None, query: Query | None = None, accept: str = JSON
    ) -> tuple[int, Any]:
        """The status and decoded body, whatever the status; a 429 is waited out first."""
        _check_path(path)
        for _ in range(RATE_LIMIT_RETRIES):
            status, content_type, text, wait = await self._once(method, path, body, query, accept)
            if status != 429:
                return status, _decode(text, content_type)
            await asyncio.sleep(retry_after(wait))
        return 429, None

    async def call(
        self, method: str, path: str, body: Any = None, query: Query | None = None, accept: str = JSON
    ) -> Any:
        """The body of a successful call; anything else raises :class:`ApiError`."""
        status, data = await self.send(method, path, body, query, accept)
        if status >= 400:
            if data is None and status == 429:
                data = "Too many requests, even after waiting as asked; try again later."
            raise error_from(status, data)
        return data

    async def get(self, path: str, query: Query | None = None) -> Any:
        return await self.call("GET", path, query=query)

    async def post(self, path: str, body: Any = None, query: Query | None = None) -> Any:
        return await self.call("POST", path, {} if body is None else body, query)

    async def put(self, path: str, body: Any = None) -> Any:
        return await self.call("PUT", path, {} if body is None else body)

    async def patch(self, path: str, body: Any) -> Any:
        return await self.call("PATCH", path, body)

    async def delete(self, path: str) -> Any:
        return await self.call("DELETE", path)

    async def pages(
        self, path: str, query: Query | None = None, limit: int | None = None, per_page: int = 100
    ) -> AsyncIterator[dict[str, Any]]:
        """Every record of a paged collection (at most ``limit``), fetching page after page."""
        page, seen = 1, 0
        while True:
            body = await self.get(path, {**(query or {}), "per_page": per_page, "page": page})
            for record in body.get("results", []):
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield dict(record)
            next_page = body.get("next_page")
            if not next_page or next_page <= page:
                return
            page = int(next_page)
