"""The device sign-in's polling: the interval, slow_down, and how it ends.

A local aiohttp server answers the polls as the marketplace words them; the sleeps are
recorded instead of waited, so nothing here depends on a clock.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hspm.client.api import Api
from hspm.client.cli.common import Context
from hspm.client.cli.login import poll
from hspm.client.cli.output import CliError, Exit

START = {"device_code": "dev-secret", "user_code": "BCDF-GHJK", "expires_in": 600, "interval": 5}


async def _answers(answers: list[tuple[int, dict[str, Any]]]) -> tuple[TestServer, list[Any]]:
    seen: list[Any] = []

    async def token(request: web.Request) -> web.Response:
        seen.append(await request.json())
        status, body = answers.pop(0)
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_post("/device_authorizations/token", token)
    server = TestServer(app)
    await server.start_server()
    return server, seen


async def _poll(answers: list[tuple[int, dict[str, Any]]]) -> tuple[Any, list[float], list[Any]]:
    server, seen = await _answers(answers)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    try:
        async with Api(str(server.make_url("/"))) as api:
            ctx = Context("u", None, None, api, {}, False, io.StringIO(), io.StringIO())
            try:
                result: Any = await poll(ctx, START, sleep)
            except CliError as exc:
                result = exc
    finally:
        await server.close()
    return result, slept, seen


def pending(error: str = "authorization_pending") -> tuple[int, dict[str, Any]]:
    return 400, {"error": error}


class TestPoll:
    async def test_waits_the_interval_and_five_seconds_more_after_slow_down(self):
        session = {"jwt": "a.b.c", "expires_at": "2026-12-04T00:00:00Z"}
        result, slept, seen = await _poll([pending(), pending("slow_down"), pending(), (200, session)])
        assert result == session
        assert slept == [5.0, 5.0, 10.0, 10.0]
        assert seen == [{"device_code": "dev-secret"}] * 4

    @pytest.mark.parametrize(("error", "words"), [("access_denied", "denied"), ("expired_token", "expired")])
    async def test_ends_with_an_auth_error(self, error, words):
        result, _, _ = await _poll([pending(), pending(error)])
        assert isinstance(result, CliError) and result.code == Exit.AUTH and words in result.message
