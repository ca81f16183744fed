"""A socket's frames leave in the order given, at once when nothing waits before them."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from hspm.common.testing import wait_for
from hspm.notifier.sockets.sender import Sender

pytestmark = pytest.mark.unit


class Socket:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def two(self) -> bool:
        return len(self.sent) >= 2

    async def send_str(self, text: str) -> None:
        await self.gate.wait()
        self.sent.append(text)


class Transport:
    def __init__(self) -> None:
        self.buffered = 0

    def get_write_buffer_size(self) -> int:
        return self.buffered


async def test_an_idle_drained_socket_is_written_at_once() -> None:
    ws, transport = Socket(), Transport()
    out = Sender(cast(Any, ws), cast(Any, transport), 4)
    await out.send("a")
    assert ws.sent == ["a"] and out.room == 4  # nothing queued, no writer needed


async def test_a_buffered_transport_or_a_queue_keeps_the_order() -> None:
    ws, transport = Socket(), Transport()
    out = Sender(cast(Any, ws), cast(Any, transport), 4)
    transport.buffered = 10  # the socket has not taken the last bytes: queue
    await out.send("a")
    transport.buffered = 0
    await out.send("b")  # "a" still waits in the queue: "b" goes behind it
    assert ws.sent == [] and out.room == 2
    writer = asyncio.ensure_future(out.run())
    await wait_for(ws.two, timeout=10.0, interval=0.001)
    assert ws.sent == ["a", "b"]
    writer.cancel()


async def test_a_frame_never_overtakes_one_being_written() -> None:
    ws, transport = Socket(), Transport()
    out = Sender(cast(Any, ws), cast(Any, transport), 4)
    ws.gate.clear()
    out.offer("a")
    writer = asyncio.ensure_future(out.run())
    await asyncio.sleep(0)  # the writer holds "a", waiting on the socket
    await out.send("b")
    ws.gate.set()
    await wait_for(ws.two, timeout=10.0, interval=0.001)
    assert ws.sent == ["a", "b"]
    writer.cancel()


async def test_without_a_transport_everything_is_queued() -> None:
    ws = Socket()
    out = Sender(cast(Any, ws), None, 2)
    await out.send("a")
    assert ws.sent == [] and out.room == 1 and out.offer("b") and not out.offer("c")
