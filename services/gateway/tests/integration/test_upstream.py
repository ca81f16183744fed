"""The lean upstream client against scripted HTTP/1.1 servers: framing, reuse, stale connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import pytest_asyncio
import uvloop

from hspm.gateway.forwarding.headers import RESPONSE_DROP
from hspm.gateway.forwarding.upstream import UpstreamError, UpstreamPool

GET = b"GET /x HTTP/1.1\r\nHost: up\r\n\r\n"
POST = b"POST /x HTTP/1.1\r\nHost: up\r\nContent-Length: 2\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Script:
    """A server answering each request head with the next scripted bytes (None: close silently)."""

    def __init__(self, answers: list[bytes | None]) -> None:
        self.answers = answers
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                if b"Content-Length: 2" in head:
                    head += await reader.readexactly(2)
                self.requests.append(head)
                answer = self.answers.pop(0)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


@pytest_asyncio.fixture
async def serve() -> AsyncIterator[Callable[[list[bytes | None]], asyncio.Future[tuple[Script, int]]]]:
    servers: list[asyncio.Server] = []

    async def start(answers: list[bytes | None]) -> tuple[Script, int]:
        script = Script(answers)
        server = await asyncio.start_server(script.handle, "127.0.0.1", 0)
        servers.append(server)
        return script, server.sockets[0].getsockname()[1]

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


async def fetch(pool: UpstreamPool, port: int, head: bytes = GET, method: str = "GET") -> tuple[int, bytes]:
    body = None if method in ("GET", "HEAD") else b"{}"
    response = await pool.request("127.0.0.1", port, method, head, body, RESPONSE_DROP)
    try:
        return response.status, await response.read()
    finally:
        response.close()


_POOLS: list[UpstreamPool] = []


def pool() -> UpstreamPool:
    _POOLS.append(UpstreamPool(limit=4, keepalive=30, connect_timeout=2))
    return _POOLS[-1]


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    while _POOLS:
        _POOLS.pop().close()


async def test_kept_alive_connection_is_reused(serve):
    script, port = await serve([OK, OK, OK])
    p = pool()
    for _ in range(3):
        assert await fetch(p, port) == (200, b"{}")
    assert script.connections == 1


async def test_connection_close_is_not_reused(serve):
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"
    script, port = await serve([closing, OK])
    p = pool()
    assert await fetch(p, port) == (200, b"{}")
    script.answers.append(OK)
    assert await fetch(p, port) == (200, b"{}")
    assert script.connections == 2


async def test_chunked_body_with_extensions_and_trailers(serve):
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    script, port = await serve([chunked, OK])
    p = pool()
    response = await p.request("127.0.0.1", port, "GET", GET, None, RESPONSE_DROP)
    assert response.content_length is None
    assert "Transfer-Encoding" not in response.headers
    assert b"".join([c async for c in response.chunks()]) == b"abcde"
    # The connection ended cleanly after the trailers, so the next request reuses it.
    assert await fetch(p, port) == (200, b"{}")
    assert script.connections == 1


async def test_body_until_close_without_framing(serve):
    _, port = await serve([b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it"])
    response = await pool().request("127.0.0.1", port, "GET", GET, None, RESPONSE_DROP)
    assert b"".join([c async for c in response.chunks()]) == b"all of it"


async def test_hop_by_hop_and_connection_named_headers_are_dropped(serve):
    answer = (
        b"HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    _, port = await serve([answer])
    response = await pool().request("127.0.0.1", port, "GET", GET, None, RESPONSE_DROP)
    assert "X-Secret" not in response.headers and "Keep-Alive" not in response.headers


@pytest.mark.parametrize(
    "answer",
    [b"HTTP/2 200 OK\r\n\r\n", b"HTTP/1.1 2x0 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nbroken\r\n\r\n"],
)
async def test_malformed_responses_are_upstream_errors(serve, answer):
    _, port = await serve([answer])
    with pytest.raises(UpstreamError):
        await fetch(pool(), port)


async def test_refused_connection_is_an_upstream_error():
    with pytest.raises(UpstreamError):
        await fetch(pool(), 9)


async def test_stale_connection_is_retried_for_idempotent_methods(serve):
    # The second request finds the kept-alive connection closed before any answer.
    script, port = await serve([OK, None, OK])
    p = pool()
    assert await fetch(p, port) == (200, b"{}")
    assert await fetch(p, port) == (200, b"{}")
    assert script.connections == 2


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_stale_connection_is_not_retried_for_unsafe_methods(serve, method):
    """The service may have run it already: a license check (a PUT) would spend a use twice."""
    script, port = await serve([OK, None, OK])
    p = pool()
    assert await fetch(p, port) == (200, b"{}")
    with pytest.raises(UpstreamError):
        await fetch(p, port, POST.replace(b"POST", method.encode(), 1), method)
    assert len(script.requests) == 2


def test_works_on_uvloop():
    """The services run on uvloop, whose transports are not asyncio.Transport subclasses."""

    async def main() -> tuple[int, bytes]:
        script = Script([OK])
        server = await asyncio.start_server(script.handle, "127.0.0.1", 0)
        try:
            return await fetch(pool(), server.sockets[0].getsockname()[1])
        finally:
            server.close()

    assert uvloop.run(main()) == (200, b"{}")
