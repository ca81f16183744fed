"""What the agent reads from the marketplace without any token: public build documents,
products (their license offers) and the license signing keys.

A published build of a listed product is public, so the agent needs no user's token to
learn how to run it. Each document is kept in the agent's state once read: a build that
is later recalled is no longer public, but the instances running it still need its tasks.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from hspm.client.platform_agent.state import State

TIMEOUT = aiohttp.ClientTimeout(total=30)


class CatalogError(Exception):
    """The marketplace did not give what was asked (the reason is reported)."""


class Catalog:
    def __init__(self, base_url: str, state: State, http: aiohttp.ClientSession) -> None:
        self.base = base_url.rstrip("/")
        self.state = state
        self.http = http

    async def document(self, product_id: str, build_id: str) -> dict[str, Any]:
        """The build's ``marketplace.json`` (the image named by its approved digest)."""
        kept = self.state.document(build_id)
        if kept is not None:
            return kept
        body = await self.get_json(f"/products/{product_id}/builds/{build_id}/marketplace.json")
        self.state.put_document(build_id, product_id, body)
        return body

    async def product(self, product_id: str) -> dict[str, Any]:
        return await self.get_json(f"/products/{product_id}")

    async def license_keys(self) -> dict[str, Any]:
        return await self.get_json("/.well-known/hspm-license-keys")

    async def get_json(self, path: str) -> dict[str, Any]:
        url = self.base + path
        try:
            async with self.http.get(url, headers={"Accept": "application/json"}, timeout=TIMEOUT) as resp:
                if resp.status != 200:
                    raise CatalogError(f"GET {path} answered {resp.status}")
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise CatalogError(f"GET {path} failed: {exc!r}") from exc
        if not isinstance(body, dict):
            raise CatalogError(f"GET {path} did not answer a JSON object")
        return body
