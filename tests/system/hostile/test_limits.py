"""Bodies too large or nested too deeply are refused with a clear problem and change nothing;
every rate-limited answer says how much of the client's budget is left.

The limits themselves (a burst, then 429 with Retry-After, and per-session buckets) are
proven by the gateway's own tests against a gateway with a tiny limit
(services/gateway/tests/integration/test_edge.py, TestRateLimit). The shared marketplace
runs with a limit made for the whole suite (6000 a minute): draining a bucket there would
depend on how fast the machine sends, and would hold up every later test of the address.
Here only the headers of the running stack are checked.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from hspm.common.models import MAX_JSON_DEPTH
from hspm.gateway.config import Settings as GatewaySettings

from .conftest import Hostile

LIMIT = int(GatewaySettings.model_fields["max_body_bytes"].default)
BURST = int(GatewaySettings.model_fields["rate_limit_burst"].default)
JSON = {"Content-Type": "application/json"}


@pytest_asyncio.fixture(scope="module")
async def target(hostile: Hostile) -> AsyncIterator[dict[str, str]]:
    """A draft product of the ISV with a draft build: the records the hostile writes aim at."""
    api = hostile.api
    product = await api.ok(
        "POST", "/products", "isv", {"name": "Hostile limits target", "description": "kept"}
    )
    base = f"/products/{product['id']}"
    build = await api.ok(
        "POST", f"{base}/builds", "isv", {"version": "1.0.0", "permissions": {"network": True}}
    )
    yield {"product": base, "build": f"{base}/builds/{build['id']}"}
    await api.send("DELETE", base, "isv")


async def problem_of(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body: dict[str, Any] = await resp.json(content_type=None)
    assert body["status"] == status and body["detail"] and body["message"]
    return body


def nested(levels: int) -> bytes:
    """JSON text of an object ``levels`` deep (written out: encoders stop before 1000 levels)."""
    return b'{"a":' * (levels - 1) + b'{"network":true}' + b"}" * (levels - 1)


@pytest.mark.parametrize("framing", ["declared length", "chunked"])
async def test_an_oversized_update_is_413_and_changes_nothing(
    hostile: Hostile, target: dict[str, str], framing: str
) -> None:
    before = await hostile.read(target["product"])
    body = b'{"description": "' + b"x" * (LIMIT + 1) + b'"}'

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    data: Any = io.BytesIO(body) if framing == "declared length" else chunks()
    headers = {**hostile.headers("isv"), **JSON}
    async with hostile.http.patch(hostile.base + target["product"], data=data, headers=headers) as resp:
        await problem_of(resp, 413)
    assert await hostile.read(target["product"]) == before


async def test_an_oversized_create_is_413_and_makes_nothing(hostile: Hostile) -> None:
    name = "Hostile oversized create"
    body = b'{"name": "' + name.encode() + b'", "description": "' + b"y" * (LIMIT + 1) + b'"}'
    headers = {**hostile.headers("isv"), **JSON}
    async with hostile.http.post(hostile.base + "/products", data=io.BytesIO(body), headers=headers) as resp:
        detail = (await problem_of(resp, 413))["detail"]
    assert str(LIMIT) in detail
    assert await hostile.api.find(f"/products?name={name.replace(' ', '%20')}", "isv") is None


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 254, 1000, 5000])
async def test_a_deeply_nested_document_is_400_and_changes_nothing(
    hostile: Hostile, target: dict[str, str], levels: int
) -> None:
    """Free-form documents (a build's permissions) are stored and rendered again: a document
    nested past what can be rendered would leave a build nobody can read."""
    before = await hostile.read(target["build"])
    headers = {**hostile.headers("isv"), **JSON}
    data = b'{"permissions": ' + nested(levels) + b"}"
    async with hostile.http.patch(hostile.base + target["build"], data=data, headers=headers) as resp:
        await problem_of(resp, 400)
    assert await hostile.read(target["build"]) == before


async def test_deeply_nested_launch_bindings_are_400_and_change_nothing(hostile: Hostile) -> None:
    instance = f"/instances/{hostile.world.params['instance_id']}"
    before = await hostile.read(instance, "customer")
    headers = {**hostile.headers("customer"), **JSON}
    data = b'{"instance": {"launch_bindings": ' + nested(300) + b"}}"
    async with hostile.http.patch(hostile.base + instance, data=data, headers=headers) as resp:
        await problem_of(resp, 400)
    assert await hostile.read(instance, "customer") == before


@pytest.mark.parametrize("persona", ["anonymous", "customer"])
async def test_every_limited_answer_carries_the_rate_limit_headers(hostile: Hostile, persona: str) -> None:
    for path in ("/products", "/no-such-route"):
        async with hostile.http.get(hostile.base + path, headers=hostile.headers(persona)) as resp:
            assert resp.status != 429
            assert resp.headers["RateLimit-Limit"] == str(BURST)
            assert 0 <= int(resp.headers["RateLimit-Remaining"]) < BURST
            assert int(resp.headers["RateLimit-Reset"]) >= 0
            assert "Retry-After" not in resp.headers
    async with hostile.http.get(hostile.base + "/healthz") as resp:
        assert resp.status == 200 and "RateLimit-Limit" not in resp.headers
