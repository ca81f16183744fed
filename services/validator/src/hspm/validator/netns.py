"""TCP sockets made inside a container's network namespace, and a minimal HTTP/1.1 GET over them.

The sandbox gives a container a network namespace with only ``lo``, so nothing on the host
can reach it by address. A socket belongs to the namespace it was *created* in, whatever
thread later connects or reads it: a throw-away thread joins the namespace with
``setns(2)`` (``os.setns`` only arrived in Python 3.12), creates the socket and exits. The
event loop's thread and pool threads never change namespace.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
BODY_LIMIT = 256 * 1024
HEADER_LIMIT = 64 * 1024
USER_AGENT = "hspm-validator"

_libc = ctypes.CDLL(None, use_errno=True)


class NetnsError(OSError):
    """The namespace could not be joined (the container is gone, or we lack privilege)."""


@dataclass(frozen=True)
class HttpResponse:
    """A bounded HTTP answer: header names lower-cased; ``truncated`` if the body was longer."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    truncated: bool = False

    def head(self, n: int = 200) -> str:
        """The first bytes of the body as text, for evidence."""
        return self.body[:n].decode("utf-8", "replace")


def _socket_in(netns_fd: int, family: int) -> socket.socket:
    """Runs on a thread that dies afterwards: join the namespace, then make the socket."""
    if _libc.setns(netns_fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NetnsError(err, f"setns(CLONE_NEWNET): {os.strerror(err)}")
    return socket.socket(family, socket.SOCK_STREAM)


async def _on_fresh_thread(fn: Callable[[], socket.socket]) -> socket.socket:
    """Run ``fn`` on a new thread (never a pool thread: setns would stick to it)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[socket.socket] = loop.create_future()

    def deliver(result: socket.socket | None, error: BaseException | None) -> None:
        if done.cancelled():
            if result is not None:
                result.close()
        elif error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        try:
            sock = fn()
        except BaseException as exc:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(deliver, None, exc)
        else:
            loop.call_soon_threadsafe(deliver, sock, None)

    threading.Thread(target=work, name="hspm-netns", daemon=True).start()
    return await done


async def netns_socket(netns_fd: int, family: int = socket.AF_INET) -> socket.socket:
    """A non-blocking TCP socket created in the namespace ``netns_fd`` refers to."""
    sock = await _on_fresh_thread(lambda: _socket_in(netns_fd, family))
    sock.setblocking(False)
    return sock


async def connect(netns_fd: int, port: int, timeout: float) -> socket.socket:
    """A socket connected to 127.0.0.1:``port`` inside the namespace."""
    sock = await netns_socket(netns_fd)
    try:
        async with asyncio.timeout(timeout):
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    except BaseException:
        sock.close()
        raise
    return sock


async def http_get(
    netns_fd: int,
    port: int,
    path: str,
    headers: Mapping[str, str] | None = None,
    *,
    timeout: float = 5.0,
    limit: int = BODY_LIMIT,
) -> HttpResponse:
    """GET ``path`` from 127.0.0.1:``port`` in the namespace; at most ``limit`` body bytes.

    Raises OSError (refused, reset), TimeoutError, or ValueError for a malformed answer.
    """
    async with asyncio.timeout(timeout):
        sock = await connect(netns_fd, port, timeout)
        reader, writer = await asyncio.open_connection(sock=sock, limit=HEADER_LIMIT)
        try:
            writer.write(_request(port, path, headers or {}))
            await writer.drain()
            return await read_response(reader, limit)
        finally:
            writer.close()


def _request(port: int, path: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"User-Agent: {USER_AGENT}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_response(reader: asyncio.StreamReader, limit: int = BODY_LIMIT) -> HttpResponse:
    """Parse one response: status line, headers, then a body bounded by ``limit``."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as exc:
        raise ValueError("response headers too long") from exc
    except asyncio.IncompleteReadError as exc:
        raise ValueError(
            f"connection closed after {len(exc.partial)} bytes, before the headers ended"
        ) from exc
    status, headers = parse_head(head)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body, truncated = await _read_chunked(reader, limit)
    elif headers.get("content-length", "").isdigit():
        body, truncated = await _read_sized(reader, int(headers["content-length"]), limit)
    else:
        body, truncated = await _read_to_eof(reader, limit)
    return HttpResponse(status, headers, body, truncated)


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """The status code and lower-cased headers of a response head."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def _read_sized(reader: asyncio.StreamReader, size: int, limit: int) -> tuple[bytes, bool]:
    try:
        body = await reader.readexactly(min(size, limit))
    except asyncio.IncompleteReadError as exc:
        body = exc.partial
    return body, size > limit


async def _read_to_eof(reader: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    body = b""
    while len(body) <= limit:
        chunk = await reader.read(limit + 1 - len(body))
        if not chunk:
            return body, False
        body += chunk
    return body[:limit], True


async def _read_chunked(reader: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    body = b""
    while True:
        size_line = await reader.readline()
        size_text = size_line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ValueError(f"bad chunk size {size_text[:20]!r}") from None
        if size == 0:
            return body, False
        want = min(size, limit - len(body))
        body += await reader.readexactly(want)
        if want < size:
            return body, True
        await reader.readline()  # the CRLF closing the chunk
