"""Hostile headers at the gateway: CR or LF inside a value, huge headers, and headers that
claim what only the gateway may say (the principal assertion, the forwarding headers, the
request id). Injected lines never become headers, oversized ones are refused before any
service sees them, and a client's claims about itself or its route are dropped.
"""

from __future__ import annotations

import asyncio
import json
from uuid import UUID

import pytest
from yarl import URL

from hspm.common.auth import PRINCIPAL_HEADER, Principal, sign_assertion
from hspm.common.permissions import MANAGE
from hspm.devstack.stack import Stack
from hspm.gateway.edge.auth import MAX_TOKEN_LENGTH

from .conftest import Hostile


async def raw_exchange(hostile: Hostile, request: bytes) -> tuple[int, bytes, bytes]:
    """Send bytes no HTTP client would send; the status line's code, the head and the body."""
    url = URL(hostile.base)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


def get(path: str, *lines: bytes) -> bytes:
    return (
        b"GET "
        + path.encode()
        + b" HTTP/1.1\r\nHost: marketplace\r\n"
        + b"".join(lines)
        + b"Connection: close\r\n\r\n"
    )


@pytest.mark.parametrize(
    "line",
    [
        b"X-Note: a\rSet-Cookie: hspm_session=forged\r\n",
        b"X-Note: a\nSet-Cookie: hspm_session=forged\r\n",
        b"X-Note: a\r\n\rSet-Cookie: hspm_session=forged\r\n",
        b"X-Request-ID: a\nX-Injected: yes\r\n",
    ],
    ids=["bare CR", "bare LF", "CR after CRLF", "LF in the request id"],
)
async def test_a_cr_or_lf_inside_a_header_value_is_400_and_injects_nothing(
    hostile: Hostile, line: bytes
) -> None:
    status, head, _ = await raw_exchange(hostile, get("/products", line))
    assert status == 400, head
    lowered = head.lower()
    assert b"set-cookie" not in lowered and b"x-injected" not in lowered and b"forged" not in lowered


@pytest.mark.parametrize(
    "line",
    [
        b"X-Padding: " + b"a" * 100_000 + b"\r\n",
        b"Authorization: Bearer " + b"a" * 20_000 + b"\r\n",
        b"".join(b"X-Many-%d: v\r\n" % i for i in range(500)),
    ],
    ids=["a 100 kB header", "a 20 kB token", "500 headers"],
)
async def test_huge_headers_are_refused_before_any_service(hostile: Hostile, line: bytes) -> None:
    status, head, _ = await raw_exchange(hostile, get("/users", line))
    assert status in (400, 431), head
    assert b"x-request-id" not in head.lower(), "the request reached the gateway's handlers"
    async with hostile.http.get(hostile.base + "/products") as resp:
        assert resp.status == 200


async def test_a_token_over_the_length_limit_is_401_without_a_lookup(hostile: Hostile) -> None:
    headers = {"Authorization": "Bearer " + "a" * (MAX_TOKEN_LENGTH + 1)}
    async with hostile.http.get(hostile.base + "/status", headers=headers) as resp:
        assert resp.status == 401 and resp.content_type == "application/problem+json"


def admin_assertion(stack: Stack, audience: str) -> str:
    """An assertion signed with the real secret: only the gateway's own may reach a service."""
    secret = (stack.config.state_dir / "internal-secret").read_text().strip()
    principal = Principal(kind="user", user_id=UUID(int=1), name="Forged", permissions=frozenset({MANAGE}))
    return sign_assertion(principal, secret, audience=audience)


async def test_a_principal_assertion_from_a_client_is_dropped(hostile: Hostile, stack: Stack) -> None:
    forged = {PRINCIPAL_HEADER: admin_assertion(stack, "identity")}
    async with hostile.http.get(hostile.base + "/users", headers=forged) as resp:
        assert resp.status == 401, await resp.text()
    async with hostile.http.get(hostile.base + "/status", headers=forged) as resp:
        assert resp.status == 200 and "user" not in await resp.json()
    customer = {**hostile.headers("customer"), PRINCIPAL_HEADER: admin_assertion(stack, "identity")}
    async with hostile.http.get(hostile.base + "/users", headers=customer) as resp:
        assert resp.status == 403, await resp.text()
    async with hostile.http.get(hostile.base + "/status", headers=customer) as resp:
        status = await resp.json()
    assert status["user"]["name"] != "Forged"
    catalog = {PRINCIPAL_HEADER: admin_assertion(stack, "catalog")}
    name = "Hostile forged principal"
    async with hostile.http.post(hostile.base + "/products", json={"name": name}, headers=catalog) as resp:
        assert resp.status == 401, await resp.text()
    assert await hostile.api.find("/products?name=Hostile%20forged%20principal", "operator") is None


async def test_forwarding_headers_from_a_client_change_no_address(hostile: Hostile) -> None:
    forged = {
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "203.0.113.7",
        "Forwarded": "for=203.0.113.7;host=evil.example;proto=https",
    }
    path = f"/products/{hostile.product_id}"
    async with hostile.http.get(hostile.base + path) as resp:
        honest = await resp.json()
    async with hostile.http.get(hostile.base + path, headers=forged) as resp:
        assert resp.status == 200
        text = await resp.text()
    assert "evil.example" not in text and "https://" not in json.dumps(json.loads(text)["logo"])
    assert json.loads(text)["logo"] == honest["logo"]


@pytest.mark.parametrize("value", ["a b", "x" * 300, "<script>", "id;rm -rf"])
async def test_an_unsafe_request_id_is_replaced(hostile: Hostile, value: str) -> None:
    async with hostile.http.get(hostile.base + "/products", headers={"X-Request-ID": value}) as resp:
        assert resp.status == 200
        assigned = resp.headers["X-Request-ID"]
    assert assigned and assigned != value
    async with hostile.http.get(hostile.base + "/nothing-here", headers={"X-Request-ID": value}) as resp:
        body = await resp.json(content_type=None)
    assert body["request_id"] != value and resp.headers["X-Request-ID"] == body["request_id"]
