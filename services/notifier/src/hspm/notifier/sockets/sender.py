"""One socket's frames out: a bounded queue and its writer, and a direct path past both.

Frames leave in the order they are given. Most go through the queue, whose writer task
waits for a slow socket so nothing else has to; its bound is the socket's memory. When
nothing is queued or being written and the socket's transport has nothing buffered, a
frame is written at once instead (``send``): aiohttp then writes it without waiting, and
a fan-out to a thousand idle sockets costs no task switch per socket.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web


class Sender:
    def __init__(
        self, ws: web.WebSocketResponse, transport: asyncio.BaseTransport | None, frames: int
    ) -> None:
        self.ws = ws
        # Duck-typed: uvloop's transports have the method but do not subclass asyncio's.
        self._buffered = getattr(transport, "get_write_buffer_size", None)
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=frames)
        self._writing = False
        self.last_out = asyncio.get_running_loop().time()

    @property
    def room(self) -> int:
        return self._queue.maxsize - self._queue.qsize()

    def offer(self, text: str) -> bool:
        """Queue ``text`` if there is room; False when the queue is full."""
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True

    async def put(self, text: str) -> None:
        """Queue ``text``, waiting for room: a slow socket holds its caller here."""
        await self._queue.put(text)

    async def send(self, text: str) -> None:
        """Write ``text`` at once when it can go without waiting, else queue it (the caller
        has checked ``room``)."""
        if self._writing or not self._queue.empty() or not self._drained():
            self._queue.put_nowait(text)
            return
        self._writing = True
        try:
            await self.ws.send_str(text)
        finally:
            self._writing = False
        self.last_out = asyncio.get_running_loop().time()

    def _drained(self) -> bool:
        # Nothing buffered: the transport is not paused, so aiohttp's write does not wait.
        return self._buffered is not None and self._buffered() == 0

    async def run(self) -> None:
        """The writer: until the socket closes."""
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                text = await self._queue.get()
                self._writing = True
                try:
                    await self.ws.send_str(text)
                finally:
                    self._writing = False
                self.last_out = asyncio.get_running_loop().time()
