"""``hspm.common.testing.client``: the one test client every service's tests subclass."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hspm.common.auth import PRINCIPAL_HEADER, verify_assertion
from hspm.common.testing import TEST_INTERNAL_SECRET, user
from hspm.common.testing.client import Reply, ServiceClient, decode


async def as_json(_: web.Request) -> web.Response:
    return web.json_response({"name": "Ada"})


async def as_problem(_: web.Request) -> web.Response:
    body = orjson.dumps({"status": 422, "errors": {"name": ["can't be blank"]}})
    return web.Response(status=422, body=body, content_type="application/problem+json")


async def as_text(_: web.Request) -> web.Response:
    return web.Response(text="PASSED: 3 rules", content_type="text/plain")


async def as_bytes(_: web.Request) -> web.Response:
    return web.Response(body=b"\x00\x01binary", content_type="application/octet-stream")


async def empty(_: web.Request) -> web.Response:
    return web.Response(status=204)


async def echo(request: web.Request) -> web.Response:
    """What arrived: the method, the JSON body, its content type and the asserted caller."""
    header = request.headers.get(PRINCIPAL_HEADER)
    who = verify_assertion(header, TEST_INTERNAL_SECRET, audience="catalog").name if header else None
    return web.json_response(
        {
            "method": request.method,
            "body": await request.json() if request.can_read_body else None,
            "content_type": request.headers.get("Content-Type"),
            "who": who,
            "extra": request.headers.get("X-Extra"),
        }
    )


async def moved(_: web.Request) -> web.Response:
    raise web.HTTPFound("/json")


@pytest_asyncio.fixture
async def service() -> AsyncIterator[ServiceClient]:
    app = web.Application()
    for path, handler in (
        ("/json", as_json),
        ("/problem", as_problem),
        ("/text", as_text),
        ("/bytes", as_bytes),
        ("/empty", empty),
        ("/moved", moved),
    ):
        app.router.add_get(path, handler)
    app.router.add_route("*", "/echo", echo)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield ServiceClient(client)
    finally:
        await client.close()


class TestDecode:
    @pytest.mark.parametrize(
        ("raw", "content_type", "expected"),
        [
            (b'{"a": 1}', "application/json", {"a": 1}),
            (b'{"a": 1}', "application/problem+json", {"a": 1}),
            (b"[]", "application/json", []),
            (b"hello", "text/plain", "hello"),
            (b"<p>hi</p>", "text/html", "<p>hi</p>"),
            (b"\x00\x01", "application/octet-stream", b"\x00\x01"),
            (b"", "application/json", None),
            (b"", "text/plain", None),
        ],
    )
    def test_by_content_type(self, raw: bytes, content_type: str, expected: object) -> None:
        assert decode(raw, content_type) == expected


class TestReplies:
    async def test_json(self, service: ServiceClient) -> None:
        reply = await service.get("/json")
        assert (reply.status, reply.body, reply.content_type) == (200, {"name": "Ada"}, "application/json")
        assert reply.raw == b'{"name": "Ada"}'

    async def test_problem_json_and_its_field_errors(self, service: ServiceClient) -> None:
        reply = await service.get("/problem")
        assert reply.status == 422
        assert reply.errors == {"name": ["can't be blank"]}

    async def test_text(self, service: ServiceClient) -> None:
        assert (await service.get("/text")).body == "PASSED: 3 rules"

    async def test_bytes(self, service: ServiceClient) -> None:
        reply = await service.get("/bytes")
        assert reply.body == reply.raw == b"\x00\x01binary"

    async def test_empty(self, service: ServiceClient) -> None:
        reply = await service.get("/empty")
        assert (reply.status, reply.body, reply.raw) == (204, None, b"")

    async def test_redirects_are_not_followed(self, service: ServiceClient) -> None:
        reply = await service.get("/moved")
        assert reply.status == 302
        assert reply.headers["Location"] == "/json"

    async def test_following_a_redirect_when_asked(self, service: ServiceClient) -> None:
        assert (await service.get("/moved", allow_redirects=True)).body == {"name": "Ada"}

    def test_repr_shows_status_and_body(self) -> None:
        assert repr(Reply(404, {"detail": "gone"}, {}, "application/json", b"")) == (
            "Reply(404, {'detail': 'gone'})"
        )


class TestRequests:
    @pytest.mark.parametrize("method", ["post", "put", "patch"])
    async def test_a_json_body_is_sent_as_json(self, service: ServiceClient, method: str) -> None:
        send = {"post": service.post, "put": service.put, "patch": service.patch}[method]
        reply = await send("/echo", None, {"name": "Ada"})
        assert reply.body["method"] == method.upper()
        assert (reply.body["body"], reply.body["content_type"]) == ({"name": "Ada"}, "application/json")

    async def test_no_body_unless_given(self, service: ServiceClient) -> None:
        assert (await service.post("/echo")).body["body"] is None
        assert (await service.delete("/echo")).body["method"] == "DELETE"

    async def test_who_is_asserted_as_the_gateway_would(self, service: ServiceClient) -> None:
        reply = await service.get("/echo", user(name="Ada"))
        assert reply.body["who"] == "Ada"
        assert (await service.get("/echo")).body["who"] is None

    async def test_extra_headers_travel_with_the_caller(self, service: ServiceClient) -> None:
        reply = await service.get("/echo", user(name="Ada"), headers={"X-Extra": "1"})
        assert (reply.body["who"], reply.body["extra"]) == ("Ada", "1")

    async def test_a_falsy_json_body_is_still_sent(self, service: ServiceClient) -> None:
        reply = await service.request("POST", "/echo", None, [])
        assert reply.body["body"] == []
