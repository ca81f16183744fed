"""The notifier bench's own parts: its hand-made WebSocket framing, its percentiles, its
verdict on a ratio ceiling, and its agents against the real bare server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import uuid4

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bench import bare_ws
from bench.notifier import (
    OP_PING,
    OP_TEXT,
    Agent,
    Crowd,
    RatioCeiling,
    WireError,
    accept_value,
    bare_event,
    client_frame,
    masked,
    percentile,
    read_frames,
    upgrade_problem,
)
from hspm.notifier.sockets.protocol import SUBPROTOCOL


def server_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    if n < 126:
        return bytes((first, n)) + payload
    if n < 1 << 16:
        return bytes((first, 126)) + n.to_bytes(2, "big") + payload
    return bytes((first, 127)) + n.to_bytes(8, "big") + payload


def unmask_client_frame(frame: bytes) -> tuple[int, bytes]:
    """What a server reads from a client frame: its opcode and unmasked payload."""
    assert frame[0] & 0x80 and frame[1] & 0x80, "final and masked"
    length, at = frame[1] & 0x7F, 2
    if length == 126:
        length, at = int.from_bytes(frame[2:4], "big"), 4
    elif length == 127:
        length, at = int.from_bytes(frame[2:10], "big"), 10
    mask, payload = frame[at : at + 4], frame[at + 4 :]
    assert len(payload) == length
    return frame[0] & 0x0F, masked(payload, mask)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536])
def test_a_client_frame_is_masked_and_reads_back_at_every_length_encoding(size: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    frame = client_frame(OP_TEXT, payload, mask=b"\x01\x02\x03\x04")
    if size >= 4:
        assert payload not in frame
    assert unmask_client_frame(frame) == (OP_TEXT, payload)


def test_server_frames_are_read_whole_and_only_whole() -> None:
    big = b"x" * 70_000
    stream = server_frame(OP_TEXT, b'{"a":1}') + server_frame(OP_PING, b"p") + server_frame(OP_TEXT, big)
    for cut in (1, 5, len(stream) - 1):
        frames, used = read_frames(bytearray(stream[:cut]))
        assert frames == [] or used <= cut
    buffer = bytearray(stream)
    frames, used = read_frames(buffer)
    assert frames == [(OP_TEXT, b'{"a":1}'), (OP_PING, b"p"), (OP_TEXT, big)]
    assert used == len(stream)
    # A frame cut short waits for the rest: the two before it are read, not the third.
    frames, used = read_frames(bytearray(stream[:-1]))
    assert [op for op, _ in frames] == [OP_TEXT, OP_PING]
    assert used == len(stream) - len(server_frame(OP_TEXT, big))


def test_frames_no_aiohttp_server_sends_are_refused() -> None:
    with pytest.raises(WireError):
        read_frames(bytearray(client_frame(OP_TEXT, b"masked")))
    with pytest.raises(WireError):
        read_frames(bytearray(server_frame(OP_TEXT, b"part", fin=False)))


def test_the_upgrade_answer_is_checked() -> None:
    # RFC 6455 section 1.3's example.
    assert accept_value("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    good = (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_value(key)}\r\nSec-WebSocket-Protocol: {SUBPROTOCOL}"
    ).encode()
    assert upgrade_problem(good, key) is None
    assert upgrade_problem(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0", key) == (
        "upgrade refused: HTTP/1.1 401 Unauthorized"
    )
    assert upgrade_problem(good.replace(SUBPROTOCOL.encode(), b"other"), key) is not None
    assert upgrade_problem(good, "AAAAAAAAAAAAAAAAAAAAAA==") is not None


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7


def test_a_ratio_ceiling_is_met_at_or_under_it() -> None:
    def row(value: float, baseline: float | None) -> RatioCeiling:
        return RatioCeiling("p99", value, "ms", baseline=baseline, baseline_name="bare", target=2.0)

    assert row(20, 10).met is True
    assert row(21, 10).met is False
    assert row(20, None).met is False
    assert row(20, 10).target_text() == "ratio <= 2.00"
    assert RatioCeiling("p99", 1, "ms").met is None


@asynccontextmanager
async def bare_server() -> AsyncIterator[TestServer]:
    server = TestServer(bare_ws.create_app(), host="127.0.0.1")
    async with server:
        yield server


async def broadcast(server: TestServer, text: str) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(str(server.make_url("/broadcast")), data=text) as resp,
    ):
        assert resp.status == 200


async def test_agents_receive_every_broadcast_in_order_and_the_last_after_reconnecting() -> None:
    async with bare_server() as server:
        assert server.port is not None
        crowd = Crowd("bare", "127.0.0.1", server.port, "/ws")
        epoch, product = "0123456789abcdef", uuid4()
        agents = [Agent(crowd, None, epoch, 0) for _ in range(20)]
        assert await crowd.connect(agents, concurrency=5) == 20
        for seq in (1, 2):
            build = uuid4()
            crowd.expect(str(build), 20)
            await broadcast(server, bare_event(epoch, seq, build, product))
            assert len(await crowd.collected(5)) == 20
        assert {a.seq for a in agents} == {2}
        # Away while the third is sent: on reconnecting, each gets it (and only it).
        for agent in agents:
            agent.drop()
        build = uuid4()
        crowd.expect(str(build), 20)
        await broadcast(server, bare_event(epoch, 3, build, product))
        again = [a.again() for a in agents]
        assert await crowd.connect(again) == 20
        assert len(await crowd.collected(5)) == 20
        assert {a.seq for a in again} == {3}
        assert not crowd.errors
        for agent in again:
            agent.close()


async def test_an_event_out_of_sequence_or_a_close_by_the_server_is_an_error() -> None:
    async with bare_server() as server:
        assert server.port is not None
        crowd = Crowd("bare", "127.0.0.1", server.port, "/ws")
        epoch = "0123456789abcdef"
        behind, ahead = Agent(crowd, None, epoch, 0), Agent(crowd, None, epoch, 5)
        assert await crowd.connect([behind, ahead]) == 2
        build = uuid4()
        crowd.expect(str(build), 2)
        await broadcast(server, bare_event(epoch, 1, build, uuid4()))
        assert len(await crowd.collected(0.5)) == 1
        assert crowd.errors == {"event 1 after 5": 1, "event not delivered": 1}
        # The server closing a socket the bench did not close is an error too.
        for ws in list(server.app[bare_ws.sockets_key].open):
            await ws.close()
        for _ in range(50):
            if behind.failed:
                break
            await asyncio.sleep(0.02)
        assert crowd.errors["closed by the server (1000)"] == 1
