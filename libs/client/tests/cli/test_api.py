"""The API client: Retry-After, paging, errors with field errors, the token only in a header.

A local aiohttp server plays the marketplace's HTTP behaviour; no marketplace logic is faked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hspm.client.api import RETRY_AFTER_CAP, Api, ApiError, error_from, retry_after


class TestRetryAfter:
    def test_seconds_and_dates_within_bounds(self):
        now = datetime(2026, 1, 1, tzinfo=UTC)
        assert retry_after("3") == 3.0
        assert retry_after("-4") == 0.0
        assert retry_after("100000") == RETRY_AFTER_CAP
        assert retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7.0
        assert retry_after("soon") == 1.0 and retry_after(None) == 1.0


class TestErrorFrom:
    def test_problem_json_with_field_errors(self):
        error = error_from(422, {"detail": "name: too long", "errors": {"name": ["too long"], "x": "bad"}})
        assert error.status == 422 and error.detail == "name: too long"
        assert error.errors == {"name": ["too long"], "x": ["bad"]}

    def test_text_and_nothing(self):
        assert error_from(502, "<html>bad gateway</html>").detail == "<html>bad gateway</html>"
        assert error_from(500, None).detail == "HTTP 500"


class Marketplace:
    """Records what reached it; answers as told."""

    def __init__(self) -> None:
        self.seen: list[web.Request] = []
        self.limited = 1

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(request)
        if request.path == "/limited" and self.limited:
            self.limited -= 1
            return web.json_response({"detail": "slow"}, status=429, headers={"Retry-After": "0"})
        if request.path == "/items":
            page = int(request.query["page"])
            return web.json_response(
                {
                    "results": [{"n": page * 10 + i} for i in range(2)],
                    "next_page": page + 1 if page < 3 else None,
                }
            )
        if request.path == "/invalid":
            return web.json_response(
                {"detail": "bad", "errors": {"name": ["blank"]}},
                status=422,
                content_type="application/problem+json",
            )
        return web.json_response({"ok": True})


@pytest.fixture
async def server() -> Any:
    market = Marketplace()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", market.handle)
    async with TestServer(app) as srv:
        yield srv, market


class TestApi:
    async def test_token_only_in_the_header(self, server):
        srv, market = server
        async with Api(str(srv.make_url("/")), "secret-token") as api:
            assert await api.get("/x", {"q": "1"}) == {"ok": True}
        [request] = market.seen
        assert request.headers["Authorization"] == "Bearer secret-token"
        assert "secret-token" not in str(request.rel_url)

    async def test_a_429_is_waited_out(self, server):
        srv, market = server
        async with Api(str(srv.make_url("/"))) as api:
            assert await api.get("/limited") == {"ok": True}
        assert len(market.seen) == 2

    async def test_pages_until_the_last_or_the_limit(self, server):
        srv, _ = server
        async with Api(str(srv.make_url("/"))) as api:
            assert [r["n"] async for r in api.pages("/items")] == [10, 11, 20, 21, 30, 31]
            assert [r["n"] async for r in api.pages("/items", limit=3)] == [10, 11, 20]

    async def test_refusals_carry_field_errors(self, server):
        srv, _ = server
        async with Api(str(srv.make_url("/"))) as api:
            with pytest.raises(ApiError) as caught:
                await api.post("/invalid", {"name": ""})
        assert caught.value.status == 422 and caught.value.errors == {"name": ["blank"]}

    @pytest.mark.parametrize("path", ["http://elsewhere.example/x", "//elsewhere.example/x", "relative"])
    async def test_only_api_paths(self, server, path):
        srv, market = server
        async with Api(str(srv.make_url("/")), "secret-token") as api:
            with pytest.raises(ValueError):
                await api.get(path)
        assert market.seen == []

    async def test_unreachable_is_status_0(self):
        async with Api("http://127.0.0.1:9") as api:
            with pytest.raises(ApiError) as caught:
                await api.get("/status")
        assert caught.value.status == 0 and "cannot reach" in caught.value.detail
