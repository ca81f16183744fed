"""The lean upstream client: kept-alive HTTP/1.1 connections per service, bytes in, bytes out.

The proxy's hot path used ``aiohttp.ClientSession``, whose per-request machinery
(request and response objects, auto headers, cookie and trace hooks, connector
bookkeeping, timers) cost about as much CPU as the rest of the gateway together
(ADR 16). Upstreams are the Marketplace's own services, so this client speaks only
what they speak: one request at a time per connection, a response framed by
``Content-Length``, ``chunked`` or the connection's end. The client-facing side stays
aiohttp's (its C parser faces the internet); requests whose body must stream, and
WebSockets, keep using the aiohttp client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Final, cast

from multidict import CIMultiDict

# Methods aiohttp sends without a Content-Length when they carry no body; the same here.
NO_BODY_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# A request of these methods is resent on a fresh connection when a kept-alive one turns
# out to have been closed before any byte of the response came: the service may have run
# it already. RFC 9110 would allow PUT and DELETE too, but the spec's license check is a
# PUT that spends a use (PUT /authorizations/...), so only safe methods are resent.
RESENDABLE: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
MAX_HEAD = 64 * 1024
MAX_HEADERS = 128
# Reading stops above this much unconsumed data until the relay catches up.
HIGH_WATER = 256 * 1024


class UpstreamError(Exception):
    """The upstream refused the connection, broke it, or sent something that is not HTTP/1.1."""


class Unreachable(UpstreamError):
    """No connection could be made: nothing was sent, so another replica may take the request."""


class _Stale(UpstreamError):
    """A reused connection was closed before any response byte arrived."""


class Connection(asyncio.Protocol):
    """One kept-alive connection: a receive buffer and a waiter for the next data."""

    __slots__ = ("buf", "closed", "error", "idle_since", "paused", "pool_key", "transport", "_waiter")

    def __init__(self, pool_key: tuple[str, int]) -> None:
        self.pool_key = pool_key
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.closed = False
        self.paused = False
        self.error: BaseException | None = None
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) > HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self.paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.error = exc
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def more(self) -> None:
        """Wait until more data arrived or the connection ended."""
        if self.closed:
            raise UpstreamError("the upstream closed the connection") from self.error
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def take(self, n: int) -> bytes:
        """The first ``n`` buffered bytes, removed from the buffer."""
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Response:
    """An upstream's status and headers; its body is read with ``read()`` or ``chunks()``."""

    __slots__ = (
        "_conn",
        "_pool",
        "_reusable",
        "chunked",
        "content_length",
        "has_body",
        "headers",
        "reason",
        "status",
    )

    def __init__(
        self,
        pool: UpstreamPool,
        conn: Connection,
        head: Head,
    ) -> None:
        self._pool = pool
        self._conn: Connection | None = conn
        self.status, self.reason, self.headers, self.content_length, self.chunked, keep_alive = head
        self.has_body = True
        # Without framing the body ends with the connection, which then cannot be reused.
        self._reusable = keep_alive and (self.chunked or self.content_length is not None)

    async def read(self) -> bytes:
        """The whole body (callers check ``content_length`` first)."""
        conn = self._conn
        n = self.content_length
        if conn is not None and n is not None:
            while len(conn.buf) < n:
                await conn.more()
            body = conn.take(n)
            self._done()
            return body
        return b"".join([chunk async for chunk in self.chunks()])

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives."""
        conn = self._conn
        if conn is None:
            return
        if self.chunked:
            async for chunk in _dechunk(conn):
                yield chunk
        elif self.content_length is None:
            while True:
                if conn.buf:
                    yield conn.take(len(conn.buf))
                if conn.closed:
                    break
                try:
                    await conn.more()
                except UpstreamError:
                    break
        else:
            async for data in _exactly(conn, self.content_length):
                yield data
        self._done()

    def _done(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.release(conn, self._reusable)

    def close(self) -> None:
        """Give the connection back; one whose body was not read to its end is closed."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.release(conn, False)


async def _exactly(conn: Connection, size: int) -> AsyncIterator[bytes]:
    """The next ``size`` body bytes, as they arrive."""
    left = size
    while left:
        if not conn.buf:
            await conn.more()
        data = conn.take(min(left, len(conn.buf)))
        left -= len(data)
        yield data


async def _dechunk(conn: Connection) -> AsyncIterator[bytes]:
    while True:
        while (end := conn.buf.find(b"\r\n")) < 0:
            if len(conn.buf) > MAX_HEAD:
                raise UpstreamError("chunk size line too long")
            await conn.more()
        size_text = bytes(conn.buf[:end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise UpstreamError("malformed chunk size") from None
        if size < 0:
            raise UpstreamError("malformed chunk size")
        del conn.buf[: end + 2]
        if size == 0:
            # Trailers (none expected from our services) end with an empty line.
            while (end := conn.buf.find(b"\r\n")) != 0:
                if end > 0:
                    del conn.buf[: end + 2]
                    continue
                await conn.more()
            del conn.buf[:2]
            return
        async for data in _exactly(conn, size):
            yield data
        while len(conn.buf) < 2:
            await conn.more()
        if conn.buf[:2] != b"\r\n":
            raise UpstreamError("malformed chunk end")
        del conn.buf[:2]


Head = tuple[int, str, CIMultiDict[str], int | None, bool, bool]


def _parse_head(head: bytes, drop: frozenset[str]) -> Head:
    """Status, reason, kept headers, Content-Length, chunked, keep-alive."""
    lines = head.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise UpstreamError("malformed status line")
    if len(lines) > MAX_HEADERS + 1:
        raise UpstreamError("too many headers")
    headers: CIMultiDict[str] = CIMultiDict()
    length: int | None = None
    chunked = False
    keep_alive = version == b"HTTP/1.1"
    also_drop: tuple[str, ...] = ()
    for line in lines[1:]:
        name_b, sep, value_b = line.partition(b":")
        if not sep or not name_b or name_b != name_b.strip():
            raise UpstreamError("malformed header")
        name = name_b.decode("latin-1")
        value = value_b.strip().decode("latin-1")
        lower = name.lower()
        if lower == "content-length":
            if not value.isdigit() or (length is not None and int(value) != length):
                raise UpstreamError("malformed Content-Length")
            length = int(value)
        elif lower == "transfer-encoding":
            chunked = value.lower().endswith("chunked")
        elif lower == "connection":
            tokens = [t.strip().lower() for t in value.split(",")]
            keep_alive = "close" not in tokens and (keep_alive or "keep-alive" in tokens)
            also_drop += tuple(tokens)
        if lower not in drop:
            headers.add(name, value)
    for name in also_drop:
        headers.popall(name, None)
    if chunked:
        length = None
    return int(code), reason.decode("latin-1"), headers, length, chunked, keep_alive


class UpstreamPool:
    """Idle connections per upstream address, at most ``limit`` in use per address at once."""

    def __init__(self, limit: int, keepalive: float, connect_timeout: float) -> None:
        self._limit = limit
        self._keepalive = keepalive
        self._connect_timeout = connect_timeout
        self._idle: dict[tuple[str, int], list[Connection]] = {}
        self._slots: dict[tuple[str, int], asyncio.Semaphore] = {}

    async def request(
        self,
        host: str,
        port: int,
        method: str,
        head: bytes,
        body: bytes | None,
        drop: frozenset[str],
    ) -> Response:
        """Send ``head`` (the request line and headers) and ``body``; the response's head.

        A stale kept-alive connection is retried once on a new one, for safe methods only.
        """
        key = (host, port)
        slots = self._slots.get(key)
        if slots is None:
            slots = self._slots[key] = asyncio.Semaphore(self._limit)
        await slots.acquire()
        try:
            conn, reused = await self._acquire(key)
            try:
                return await self._exchange(conn, method, head, body, drop, reused)
            except _Stale:
                if method not in RESENDABLE:
                    raise
                conn, _ = await self._acquire(key, fresh=True)
                return await self._exchange(conn, method, head, body, drop, False)
        except BaseException:
            slots.release()
            raise

    async def _exchange(
        self,
        conn: Connection,
        method: str,
        head: bytes,
        body: bytes | None,
        drop: frozenset[str],
        reused: bool,
    ) -> Response:
        transport = conn.transport
        assert transport is not None
        try:
            transport.write(head + body if body else head)
            while (end := conn.buf.find(b"\r\n\r\n")) < 0:
                if len(conn.buf) > MAX_HEAD:
                    raise UpstreamError("response head too large")
                try:
                    await conn.more()
                except UpstreamError:
                    if reused and not conn.buf:
                        raise _Stale("kept-alive connection closed") from None
                    raise
            status, reason, headers, length, chunked, keep_alive = _parse_head(conn.take(end), drop)
            del conn.buf[:4]
        except BaseException:
            conn.close()
            raise
        if 100 <= status < 200:
            conn.close()
            raise UpstreamError(f"unexpected interim response {status}")
        no_body = method == "HEAD" or status in (204, 304)
        # A HEAD response keeps its Content-Length (the relay reports it) but has no body.
        chunked = chunked and not no_body
        response = Response(self, conn, (status, reason, headers, length, chunked, keep_alive))
        response.has_body = not no_body
        if no_body or length == 0:
            response._done()
        return response

    async def _acquire(self, key: tuple[str, int], fresh: bool = False) -> tuple[Connection, bool]:
        idle = self._idle.get(key)
        if idle and not fresh:
            horizon = time.monotonic() - self._keepalive
            while idle:
                conn = idle.pop()
                if not conn.closed and conn.idle_since > horizon and not conn.buf:
                    return conn, True
                conn.close()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, conn = await loop.create_connection(lambda: Connection(key), key[0], key[1])
        except (OSError, TimeoutError) as exc:
            raise Unreachable(f"cannot connect: {exc!r}") from exc
        return conn, False

    def release(self, conn: Connection, reusable: bool) -> None:
        """Back to the idle list when reusable; closed otherwise. Frees its slot either way."""
        key = conn.pool_key
        slots = self._slots.get(key)
        if not reusable or conn.closed or conn.buf:
            conn.close()
        else:
            conn.idle_since = time.monotonic()
            self._idle.setdefault(key, []).append(conn)
        if slots is not None:
            slots.release()

    def close(self) -> None:
        """Close every idle connection (at shutdown)."""
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
