"""The public API as the UI calls it: one shared aiohttp session, the user's bearer token.

The web service is a client like any other: it reaches the gateway over HTTP and holds no
privilege of its own. Failures become ``ApiError`` with the problem document, so a page can
show 422 field errors at their fields and the middleware can turn 401/403/404 into pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

JSON = "application/json"


@dataclass
class ApiError(Exception):
    """A non-2xx answer: its status and problem document (``detail``, ``errors``)."""

    status: int
    problem: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}"

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or "The request failed.")

    @property
    def field_errors(self) -> dict[str, list[str]]:
        errors = self.problem.get("errors")
        if not isinstance(errors, dict):
            return {}
        return {str(k): [str(m) for m in v] if isinstance(v, list) else [str(v)] for k, v in errors.items()}


@dataclass(frozen=True)
class Raw:
    """A body that is not JSON (a CSV, a report), with its content type."""

    status: int
    content_type: str
    body: bytes


class Api:
    """Calls for one request: the user's token (if any) and the request id for the logs."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str | None, request_id: str) -> None:
        self._http = http
        self._base = base
        self._headers = {"Accept": JSON, "X-Request-ID": request_id}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    @property
    def signed_in(self) -> bool:
        return "Authorization" in self._headers

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return await self.call("GET", path, params=params)

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.call("POST", path, body=body)

    async def patch(self, path: str, body: Any) -> Any:
        return await self.call("PATCH", path, body=body)

    async def put(self, path: str, body: Any) -> Any:
        return await self.call("PUT", path, body=body)

    async def delete(self, path: str) -> Any:
        return await self.call("DELETE", path)

    async def call(
        self, method: str, path: str, *, body: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        """JSON in, JSON out; None for an empty answer (204)."""
        headers = dict(self._headers)
        data = None
        if body is not None:
            headers["Content-Type"] = JSON
            data = orjson.dumps(body)
        async with self._http.request(
            method, self._base + path, data=data, params=params, headers=headers
        ) as resp:
            raw = await resp.read()
            if resp.status >= 400:
                raise ApiError(resp.status, _problem(raw))
            return orjson.loads(raw) if raw and resp.content_type.endswith("json") else None

    async def send(
        self,
        method: str,
        path: str,
        data: bytes | aiohttp.FormData,
        content_type: str | None = None,
        accept: str = JSON,
    ) -> Any:
        """A raw or multipart body (an image, a marketplace.json upload)."""
        headers = dict(self._headers) | {"Accept": accept}
        if content_type is not None:
            headers["Content-Type"] = content_type
        async with self._http.request(method, self._base + path, data=data, headers=headers) as resp:
            raw = await resp.read()
            if resp.status >= 400:
                raise ApiError(resp.status, _problem(raw))
            return orjson.loads(raw) if raw and resp.content_type.endswith("json") else None

    async def fetch(self, path: str, accept: str, params: Mapping[str, str] | None = None) -> Raw:
        """A document in another format (``text/csv``, ``text/plain``)."""
        headers = dict(self._headers) | {"Accept": accept}
        async with self._http.get(self._base + path, params=params, headers=headers) as resp:
            raw = await resp.read()
            if resp.status >= 400:
                raise ApiError(resp.status, _problem(raw))
            return Raw(resp.status, resp.content_type, raw)


def _problem(raw: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}
