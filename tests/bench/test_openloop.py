"""The open-loop generator: the requests it writes, and what it counts against a real server."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer

from bench import openloop


def test_a_request_is_written_whole_with_its_length() -> None:
    raw = openloop.Request("http://127.0.0.1:8080/p/s?x=1", "POST", {"text": "é"}, {"X-A": "b"}).raw()
    head, body = raw.split(b"\r\n\r\n")
    assert head.split(b"\r\n") == [
        b"POST /p/s?x=1 HTTP/1.1",
        b"Host: 127.0.0.1:8080",
        b"X-A: b",
        b"Content-Type: application/json",
        f"Content-Length: {len(body)}".encode(),
    ]
    assert body == '{"text":"é"}'.encode()
    # A bodiless PUT still says it has no body.
    assert b"Content-Length: 0" in openloop.Request("http://h:1/a", "PUT").raw()


async def test_every_request_is_sent_answered_and_counted_by_status() -> None:
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.headers["X-Who"])
        await request.read()
        # Every third answer is a 503: the generator must count them, not hide them.
        return web.Response(status=503 if len(seen) % 3 == 0 else 200, text="ok")

    app = web.Application()
    app.router.add_put("/check", handle)
    async with TestServer(app, host="127.0.0.1") as server:
        url = str(server.make_url("/check"))
        requests = [openloop.Request(url, "PUT", None, {"X-Who": who}) for who in ("a", "b")]
        result = await openloop.stream(requests, rate=200, seconds=0.5)
    assert result.sent == 100 and len(seen) == 100
    assert seen[:4] == ["a", "b", "a", "b"]
    assert result.problems == {"503": 33}
    assert result.errors == 33
    assert result.p50_ms <= result.p99_ms
