"""TCP sockets made inside a container's network namespace, and an HTTP GET over them.

The sandbox gives a container a network namespace with only ``lo``, so nothing on the host
can reach it by address. A socket belongs to the namespace it was *created* in, whatever
thread later connects or reads it: a throw-away thread joins the namespace with
``setns(2)`` (``os.setns`` only arrived in Python 3.12), creates the socket and exits. The
event loop's thread and pool threads never change namespace. The HTTP itself (the request's
bytes, the bounded reading of the answer) is ``smoke.http``.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading
from collections.abc import Callable, Mapping

from hspm.validator.smoke.http import BODY_LIMIT, HEADER_LIMIT, HttpResponse, get_request, read_response

CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


class NetnsError(OSError):
    """The namespace could not be joined (the container is gone, or we lack privilege)."""


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
            writer.write(get_request(port, path, headers or {}))
            await writer.drain()
            return await read_response(reader, limit)
        finally:
            writer.close()
