"""The one test client of a service: requests as a persona, replies read eagerly.

Each service's conftest subclasses ``ServiceClient`` (a dataclass) to add its personas
and database helpers; the HTTP part is written once, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient

from hspm.common.auth import Principal
from hspm.common.testing import as_headers

NO_BODY: Any = object()


@dataclass
class Reply:
    """One response, read eagerly so tests can assert on it without awaiting again.

    ``body`` is the parsed JSON for JSON responses, text for ``text/*``, the bytes for
    anything else, and None when the response has no body; ``raw`` is always the bytes.
    """

    status: int
    body: Any
    headers: Any
    content_type: str
    raw: bytes

    def __repr__(self) -> str:  # what pytest shows when an assertion fails
        return f"Reply({self.status}, {self.body!r})"

    @property
    def errors(self) -> dict[str, list[str]]:
        """The 422 problem's per-field errors."""
        assert isinstance(self.body, dict), self
        errors: dict[str, list[str]] = self.body.get("errors", {})
        return errors


def decode(raw: bytes, content_type: str) -> Any:
    """The body as a test wants to see it (see ``Reply``)."""
    if not raw:
        return None
    if "json" in content_type:
        return orjson.loads(raw)
    if content_type.startswith("text/"):
        return raw.decode(errors="replace")
    return raw


@dataclass
class ServiceClient:
    """A running service behind aiohttp's test client; ``who`` signs as the gateway would."""

    client: TestClient[web.Request, web.Application]

    async def request(
        self,
        method: str,
        path: str,
        who: Principal | None = None,
        json: Any = NO_BODY,
        *,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> Reply:
        hdrs = dict(headers or {})
        if who is not None:
            hdrs.update(as_headers(who))
        if json is not NO_BODY:
            kw["data"] = orjson.dumps(json)
            hdrs.setdefault("Content-Type", "application/json")
        kw.setdefault("allow_redirects", False)
        async with self.client.request(method, path, headers=hdrs, **kw) as resp:
            raw = await resp.read()
            return Reply(resp.status, decode(raw, resp.content_type), resp.headers, resp.content_type, raw)

    async def get(self, path: str, who: Principal | None = None, **kw: Any) -> Reply:
        return await self.request("GET", path, who, **kw)

    async def post(self, path: str, who: Principal | None = None, json: Any = NO_BODY, **kw: Any) -> Reply:
        return await self.request("POST", path, who, json, **kw)

    async def put(self, path: str, who: Principal | None = None, json: Any = NO_BODY, **kw: Any) -> Reply:
        return await self.request("PUT", path, who, json, **kw)

    async def patch(self, path: str, who: Principal | None = None, json: Any = NO_BODY, **kw: Any) -> Reply:
        return await self.request("PATCH", path, who, json, **kw)

    async def delete(self, path: str, who: Principal | None = None, **kw: Any) -> Reply:
        return await self.request("DELETE", path, who, **kw)
