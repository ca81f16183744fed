"""The notifier's WebSockets: 10,000 connections held, fan-out to 1,000 platforms, recovery.

Agents connect straight to one notifier process (not through the gateway) and speak the
protocol of docs/notifier-protocol.md with real Ed25519 keys: hello, challenge,
authenticate, subscribe, ack every event. Beside it, in the same run, runs a bare aiohttp
WebSocket server on uvloop (``bench.bare_ws``) holding the same sockets and broadcasting
the same frames. Three figures, each with its bare baseline:

1. **10,000 connections held**, all authenticated and subscribed: how many are held with
   no error, and the process's RSS growth per connection (the bare server holding 10,000
   idle sockets is the baseline). The idle CPU and database transactions while holding
   them are printed too.
2. **Publish-to-delivery of one event to 1,000 platforms**: a build published for a
   product all 1,000 platforms run, in the transaction the notifier's consumer runs for
   ``catalog.build.published`` (``notices.service.build_published``: 1,000 appends and
   1,000 NOTIFYs), timed from the moment its COMMIT returns to the moment each agent's
   socket receives the frame. The bare server broadcasts a frame of the same shape and
   size from the moment it is POSTed. Rounds alternate between the two, so noise on the
   shared machine hurts both alike; p50 and p99 over every delivery of every round.
3. **Recovery after 1,000 agents reconnect at once**: all drop (their sockets aborted), an
   event is produced during the outage, all reconnect in the same instant; the time until
   every one is subscribed again and has received that event (the bare server sends a
   reconnecting socket the last frame it broadcast). The median of three rounds.

The load generator is this process: one thread running uvloop, with a hand-framed
WebSocket client (``Agent``) whose per-frame cost is a few microseconds; aiohttp's client
cost as much per frame as the bare server's sending, and would have measured itself. Its
CPU time per delivery window is printed beside the window, so a saturated generator
would show.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast
from uuid import UUID, uuid4

import aiohttp
import orjson
import uvloop

from bench import notifier_data
from bench.notifier_data import Credential
from bench.table import Row
from hspm.common import db
from hspm.common.events import catalog
from hspm.devstack.stack import Stack, free_port
from hspm.notifier.credentials.ed25519 import challenge_message
from hspm.notifier.notices import service as notices
from hspm.notifier.sockets import protocol
from hspm.notifier.stream import service as stream

CONNECTIONS = 10_000
FANOUT = 1_000
ROUNDS = 20
WARMUP_ROUNDS = 2
RECOVERY_ROUNDS = 3
TARGET_P99_RATIO = 2.0
# Handshakes in flight while the 10,000 connect: a steady ramp, not a storm (the storm is
# figure 3's), well inside aiohttp's listen backlog of 128... per process of the ramp.
RAMP_CONCURRENCY = 100
WARMUP_CONNECTIONS = 50
# Settling before a memory reading, and the idle window whose CPU is reported.
SETTLE_SECONDS = 1.5
IDLE_SECONDS = 5.0
# Between fan-out rounds: the acks of the last one are taken in before the next starts.
ROUND_GAP_SECONDS = 0.4
# Acks coalesced as the reference client's (hspm.client.agent.ACK_DELAY_SECONDS, ACK_EVERY).
ACK_DELAY_SECONDS = 0.05
ACK_EVERY = 64
# A socket stays down this long in figure 3 before everyone reconnects.
OUTAGE_SECONDS = 0.5
DELIVERY_TIMEOUT = 30.0
CONNECT_TIMEOUT = 60.0
# The whole measurement, so a hung server fails the run instead of hanging it.
BUDGET_SECONDS = 420.0
# File descriptors the notifier needs beyond its sockets: its pool, listeners, logs.
FD_MARGIN = 256
BUILD_MESSAGE = "A new build of a product you run is published."


def _line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# --- the WebSocket wire (RFC 6455), by hand ---------------------------------------------------

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class WireError(Exception):
    """A frame a conforming server never sends."""


def upgrade_request(host: str, path: str, key: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: {protocol.SUBPROTOCOL}\r\n\r\n"
    ).encode("ascii")


def accept_value(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + WS_GUID).digest()).decode("ascii")


def upgrade_problem(head: bytes, key: str) -> str | None:
    """What is wrong with the server's answer to the upgrade (status line and headers), if anything."""
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 101"):
        return f"upgrade refused: {lines[0][:60]}"
    headers = {
        name.strip().lower(): value.strip() for name, _, value in (h.partition(":") for h in lines[1:])
    }
    if headers.get("sec-websocket-accept") != accept_value(key):
        return "upgrade: wrong Sec-WebSocket-Accept"
    if headers.get("sec-websocket-protocol") != protocol.SUBPROTOCOL:
        return "upgrade: subprotocol not selected"
    return None


def masked(payload: bytes, mask: bytes) -> bytes:
    """``payload`` XOR the repeated 4-byte ``mask`` (its own inverse), as one big-int XOR."""
    n = len(payload)
    if not n:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def client_frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    """One final frame from a client: clients must mask (RFC 6455 5.3)."""
    mask = os.urandom(4) if mask is None else mask
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 1 << 16:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + mask + masked(payload, mask)


def read_frames(buffer: bytearray) -> tuple[list[tuple[int, bytes]], int]:
    """The whole server frames at the start of ``buffer`` as (opcode, payload), and how many
    bytes they took. Servers never mask; aiohttp never fragments what it sends and
    compresses only when the client offers it, which this one does not."""
    frames: list[tuple[int, bytes]] = []
    pos, size = 0, len(buffer)
    while size - pos >= 2:
        first, second = buffer[pos], buffer[pos + 1]
        if second & 0x80:
            raise WireError("a masked frame from the server")
        if not first & 0x80 or first & 0x70:
            raise WireError("a fragmented or compressed frame")
        length, head = second & 0x7F, 2
        if length == 126:
            if size - pos < 4:
                break
            length, head = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), 4
        elif length == 127:
            if size - pos < 10:
                break
            length, head = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), 10
        if size - pos < head + length:
            break
        frames.append((first & 0x0F, bytes(buffer[pos + head : pos + head + length])))
        pos += head + length
    return frames, pos


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` percent of them at or below it."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


# --- agents -----------------------------------------------------------------------------------


class Agent(asyncio.Protocol):
    """One platform agent on one socket: the notifier's protocol, or (``cred`` None) a bare
    socket that only receives events. Every event must follow the last one applied
    (``seq + 1`` in the same epoch); anything else is an error. A notifier agent
    acknowledges each at once, as the protocol asks; a bare socket does not, since a bare
    broadcast has no acks and reading them would only slow the baseline down."""

    def __init__(self, crowd: Crowd, cred: Credential | None, epoch: str | None, seq: int | None) -> None:
        self.crowd, self.cred, self.epoch, self.seq = crowd, cred, epoch, seq
        # True once subscribed (a bare socket: upgraded), False if it failed first.
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        # Closed by the bench (its end is expected) or failed (counted once).
        self.leaving = False
        self.failed = False
        self._key = base64.b64encode(os.urandom(16)).decode("ascii")
        self._buffer = bytearray()
        self._upgraded = False
        self._unacked = 0
        self._ack_timer: asyncio.TimerHandle | None = None

    def again(self) -> Agent:
        """The same agent for a new connection, resuming from the position it applied."""
        return Agent(self.crowd, self.cred, self.epoch, self.seq)

    # asyncio's side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(upgrade_request(self.crowd.host, self.crowd.path, self._key))

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self._buffer += data
        if not self._upgraded:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            problem = upgrade_problem(bytes(self._buffer[:end]), self._key)
            del self._buffer[: end + 4]
            if problem:
                self.fail(problem)
                return
            self._upgraded = True
            if self.cred is None:
                self._set_ready()
            else:
                hello = {"type": "hello", "protocol": protocol.PROTOCOL_VERSION}
                self._send(
                    hello | {"platform_id": str(self.cred.platform_id), "key_id": str(self.cred.key_id)}
                )
        try:
            frames, used = read_frames(self._buffer)
        except WireError as exc:
            self.fail(str(exc))
            return
        del self._buffer[:used]
        for opcode, payload in frames:
            if opcode == OP_TEXT:
                self._on_frame(orjson.loads(payload), now)
            elif opcode == OP_PING:
                self._write(client_frame(OP_PONG, payload))
            elif opcode == OP_CLOSE:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                if not self.leaving:
                    self.fail(f"closed by the server ({code})")
                return
            elif opcode != OP_PONG:
                self.fail(f"opcode {opcode}")
            if self.failed:
                return

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.leaving:
            self.fail("connection lost")

    # the protocol

    def _on_frame(self, frame: dict[str, Any], now: float) -> None:
        kind = frame.get("type")
        if kind == "event":
            seq = frame.get("seq")
            if frame.get("epoch") != self.epoch or self.seq is None or seq != self.seq + 1:
                self.fail(f"event {seq} after {self.seq}")
                return
            self.seq = seq
            if self.cred is not None:
                self._applied()
            self.crowd.received(frame, now)
        elif kind == "challenge" and self.cred is not None:
            message = challenge_message(str(self.cred.platform_id), str(frame["nonce"]))
            signature = base64.b64encode(self.cred.key.sign(message)).decode("ascii")
            self._send({"type": "authenticate", "signature": signature})
        elif kind == "welcome" and self.cred is not None:
            subscribe: dict[str, Any] = {"type": "subscribe", "platform_id": str(self.cred.platform_id)}
            if self.epoch is not None and self.seq is not None:
                subscribe |= {"epoch": self.epoch, "after": self.seq}
            self._send(subscribe)
        elif kind == "subscribed":
            if frame.get("epoch") != self.epoch or frame.get("after") != self.seq:
                self.fail("subscribed at another position")
                return
            self._set_ready()
        elif kind == "resync":
            # Right for a first connection; a reconnecting agent must be replayed instead.
            if self.epoch is not None:
                self.fail(f"resync instead of replay ({frame.get('reason')})")
                return
            self.epoch, self.seq = str(frame["epoch"]), int(frame["seq"])
            self._send({"type": "ack", "seq": self.seq})
            self._set_ready()
        elif kind not in ("heartbeat", "state", "pong"):
            self.fail(f"{kind} {frame.get('code') or frame.get('reason') or ''}".strip())

    def _applied(self) -> None:
        """Acknowledge as the reference client does (``hspm.client.agent``): the latest
        position ``ACK_DELAY_SECONDS`` after the first event not yet acknowledged, or at
        once when ``ACK_EVERY`` are waiting."""
        self._unacked += 1
        if self._unacked >= ACK_EVERY:
            self._ack_now()
        elif self._ack_timer is None:
            self._ack_timer = asyncio.get_running_loop().call_later(ACK_DELAY_SECONDS, self._ack_now)

    def _ack_now(self) -> None:
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
        self._unacked = 0
        if not self.leaving and not self.failed and self.transport is not None:
            self._send({"type": "ack", "seq": self.seq})

    def _set_ready(self) -> None:
        if not self.ready.done():
            self.ready.set_result(True)

    def _send(self, frame: dict[str, Any]) -> None:
        self._write(client_frame(OP_TEXT, orjson.dumps(frame)))

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def fail(self, why: str) -> None:
        """Count the first failure, and end the connection."""
        if not self.failed:
            self.failed = True
            self.crowd.errors[why] += 1
        self.leaving = True
        if not self.ready.done():
            self.ready.set_result(False)
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        """Leave politely: a close frame, then the socket."""
        self.leaving = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(OP_CLOSE, (1000).to_bytes(2, "big")))
            self.transport.close()

    def drop(self) -> None:
        """Cut the cable: no close frame, the socket aborted."""
        self.leaving = True
        if self.transport is not None:
            self.transport.abort()


@dataclass
class Crowd:
    """The agents of one server: connected, counted and timed together."""

    name: str
    host: str
    port: int
    path: str
    errors: Counter[str] = field(default_factory=Counter)
    # The round being timed: which build's event, how many deliveries, when each came.
    _marker: str = field(default="", init=False)
    _want: int = field(default=0, init=False)
    _times: list[float] = field(default_factory=list, init=False)
    _all: asyncio.Future[None] | None = field(default=None, init=False)

    def received(self, frame: dict[str, Any], now: float) -> None:
        build = frame.get("model", {}).get("build", {})
        if build.get("id") != self._marker or self._all is None:
            self.errors["unexpected event"] += 1
            return
        self._times.append(now)
        if len(self._times) == self._want and not self._all.done():
            self._all.set_result(None)

    def expect(self, marker: str, count: int) -> None:
        """Time the next ``count`` deliveries of the event of build ``marker``."""
        self._marker, self._want, self._times = marker, count, []
        self._all = asyncio.get_running_loop().create_future()

    async def collected(self, timeout: float = DELIVERY_TIMEOUT) -> list[float]:
        """When each expected delivery came; the missing ones are errors."""
        assert self._all is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._all), timeout)
        times = list(self._times)
        if len(times) < self._want:
            self.errors["event not delivered"] += self._want - len(times)
        self._all, self._marker = None, ""
        return times

    async def connect(self, agents: Sequence[Agent], concurrency: int = 0) -> int:
        """Connect these agents, ``concurrency`` handshakes at a time (0: every one at once);
        how many got ready (subscribed, or upgraded for a bare socket)."""
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(concurrency or max(1, len(agents)))

        async def one(agent: Agent) -> bool:
            async with gate:
                try:
                    async with asyncio.timeout(CONNECT_TIMEOUT):
                        await loop.create_connection(lambda: agent, self.host, self.port)
                        return await agent.ready
                except (OSError, TimeoutError) as exc:
                    agent.fail(f"connect: {type(exc).__name__}")
                    return False

        return sum(await asyncio.gather(*(one(a) for a in agents)))


# --- the processes ----------------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (10 ms resolution)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def raise_own_nofile(needed: int) -> int:
    """The load generator's open-file limit, raised to the hard limit if below ``needed``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise RuntimeError(f"RLIMIT_NOFILE hard limit {hard} < {needed}: raise it (ulimit -Hn)")
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def check_nofile(pid: int, needed: int) -> str:
    """The notifier's open-file limit, raised in place (prlimit) when too low, and said so."""
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    if soft >= needed or soft == resource.RLIM_INFINITY:
        return f"notifier's RLIMIT_NOFILE {soft} (needs {needed})"
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise RuntimeError(f"the notifier's RLIMIT_NOFILE hard limit is {hard} < {needed}")
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (hard, hard))
    return f"notifier's RLIMIT_NOFILE was {soft} < {needed}: RAISED to {hard} for this run (prlimit)"


def _start_bare(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bench.bare_ws", str(port)])


async def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if proc.poll() is not None:
            raise RuntimeError(f"the bare WebSocket server exited with {proc.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError("the bare WebSocket server did not start")


# --- figure 1: connections held ---------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    held: int
    seconds: float
    rss_before_kib: int
    rss_after_kib: int
    idle_cpu: float  # share of one core while holding them
    idle_xacts: float | None = None  # database transactions/s meanwhile (the notifier's)

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / max(1, self.held)


async def _hold(
    crowd: Crowd,
    pid: int,
    agents: list[Agent],
    warm: list[Agent],
    xacts: Callable[[], Awaitable[float]] | None = None,
) -> Held:
    """Connect ``agents`` (after ``warm`` connected and left, so one-off first-use costs are
    not counted per connection); RSS before and after, and the idle CPU while holding them."""
    await crowd.connect(warm, RAMP_CONCURRENCY)
    for agent in warm:
        agent.close()
    await asyncio.sleep(SETTLE_SECONDS)
    before = rss_kib(pid)
    loop = asyncio.get_running_loop()
    started = loop.time()
    held = await crowd.connect(agents, RAMP_CONCURRENCY)
    seconds = loop.time() - started
    await asyncio.sleep(SETTLE_SECONDS)
    after = rss_kib(pid)
    cpu = cpu_seconds(pid)
    tx = await xacts() if xacts is not None else 0.0
    await asyncio.sleep(IDLE_SECONDS)
    idle_cpu = (cpu_seconds(pid) - cpu) / IDLE_SECONDS
    rate = (await xacts() - tx) / IDLE_SECONDS if xacts is not None else None
    # Still held after the idle window: nothing closed them meanwhile.
    held = min(held, sum(1 for a in agents if not a.failed))
    return Held(held, seconds, before, after, idle_cpu, rate)


# --- figure 2: fan-out ------------------------------------------------------------------------


# When an event left (monotonic seconds), and the generator's CPU time then.
Published = tuple[float, float]
Publish = Callable[[], Awaitable[Published]]


@dataclass
class FanOut:
    latencies_ms: list[float] = field(default_factory=list)
    # Per round: until the last delivery, the server's and the generator's CPU.
    spans_ms: list[float] = field(default_factory=list)
    server_cpu_ms: list[float] = field(default_factory=list)
    generator_cpu_ms: list[float] = field(default_factory=list)
    # The notifier's producing transaction, and its COMMIT alone.
    transaction_ms: list[float] = field(default_factory=list)
    commit_ms: list[float] = field(default_factory=list)

    def add(self, t0: float, times: list[float], server_cpu: float, generator_cpu: float) -> None:
        self.latencies_ms += [(t - t0) * 1000 for t in times]
        self.spans_ms.append((max(times, default=t0) - t0) * 1000)
        self.server_cpu_ms.append(server_cpu * 1000)
        self.generator_cpu_ms.append(generator_cpu * 1000)

    @property
    def server_ms_per_round(self) -> float:
        # Each reading is in 10 ms ticks: the mean over the rounds, not a median of ticks.
        return statistics.fmean(self.server_cpu_ms or [math.nan])

    @property
    def generator_ms_per_round(self) -> float:
        return statistics.fmean(self.generator_cpu_ms or [math.nan])

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)


def bare_event(epoch: str, seq: int, build_id: UUID, product_id: UUID) -> str:
    """The frame the notifier sends for a published build, made by its own ``protocol``."""
    model = {"build": {"id": str(build_id), "product": {"id": str(product_id)}, "status": "published"}}
    row = {
        "seq": seq,
        "resource_type": "build",
        "event_type": "published",
        "message": BUILD_MESSAGE,
        "model": model,
        "created_at": datetime.now(UTC),
        "traceparent": None,
    }
    return protocol.dumps(protocol.event(epoch, row))


@dataclass
class Bare:
    """The bare server's side of the bench: its process, its crowd, its frames."""

    proc: subprocess.Popen[bytes]
    url: str
    crowd: Crowd
    http: aiohttp.ClientSession
    product_id: UUID
    epoch: str = field(default_factory=stream.new_epoch)
    seq: int = 0

    async def broadcast(self, expect: int, _: FanOut | None = None) -> Published:
        """The next event to every socket, from the moment it is asked for. The agents
        receive while the POST is answered: the generator's CPU counts from there on."""
        build_id = uuid4()
        self.seq += 1
        text = bare_event(self.epoch, self.seq, build_id, self.product_id)
        self.crowd.expect(str(build_id), expect)
        t0, cpu0 = time.monotonic(), time.process_time()
        async with self.http.post(f"{self.url}/broadcast", data=text) as resp:
            resp.raise_for_status()
            await resp.read()
        return t0, cpu0


@dataclass
class Notifier:
    """The notifier's side: its process, crowd, and a pool on its database to publish with."""

    pid: int
    crowd: Crowd
    pool: db.Pool
    product_id: UUID

    async def publish(self, expect: int, fan: FanOut | None = None) -> Published:
        """A build published for the product, in the transaction the consumer of
        ``catalog.build.published`` runs, from the moment its COMMIT returns (no frame can
        leave before: the NOTIFYs are delivered at commit)."""
        build_id = uuid4()
        published = datetime.now(UTC)
        event = catalog.BuildPublished(build_id=build_id, product_id=self.product_id, published_at=published)
        self.crowd.expect(str(build_id), expect)
        async with self.pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            started = time.monotonic()
            try:
                await notices.build_published(conn, event)
            except BaseException:
                await tx.rollback()
                raise
            before_commit = time.monotonic()
            await tx.commit()
            committed, cpu0 = time.monotonic(), time.process_time()
        if fan is not None:
            fan.transaction_ms.append((committed - started) * 1000)
            fan.commit_ms.append((committed - before_commit) * 1000)
        return committed, cpu0


async def _fan_round(
    crowd: Crowd, pid: int, fan: FanOut | None, publish: Callable[[FanOut | None], Awaitable[Published]]
) -> None:
    """One event to every agent of ``crowd``; the server's CPU until the round's acks are
    in, the generator's from the event's start to its last delivery."""
    server0 = cpu_seconds(pid)
    t0, generator0 = await publish(fan)
    times = await crowd.collected()
    generator = time.process_time() - generator0
    await asyncio.sleep(ROUND_GAP_SECONDS)
    if fan is not None:
        fan.add(t0, times, cpu_seconds(pid) - server0, generator)


async def _fan_out(bare: Bare, ours: Notifier, agents: int) -> tuple[FanOut, FanOut]:
    """Rounds taken in turn, bare then notifier; the first ``WARMUP_ROUNDS`` are not counted."""
    bare_fan, our_fan = FanOut(), FanOut()
    for n in range(WARMUP_ROUNDS + ROUNDS):
        counted = n >= WARMUP_ROUNDS
        await _fan_round(
            bare.crowd, bare.proc.pid, bare_fan if counted else None, partial(bare.broadcast, agents)
        )
        await _fan_round(ours.crowd, ours.pid, our_fan if counted else None, partial(ours.publish, agents))
    return bare_fan, our_fan


# --- figure 3: recovery -----------------------------------------------------------------------


@dataclass(frozen=True)
class Recovery:
    seconds: float  # until the last agent had the event
    p50_seconds: float
    resubscribed: int


async def _recover(crowd: Crowd, agents: list[Agent], produce: Publish) -> tuple[Recovery, list[Agent]]:
    """Drop every agent, produce an event while they are away, reconnect all at once."""
    for agent in agents:
        agent.drop()
    await asyncio.sleep(OUTAGE_SECONDS)
    await produce()  # sets what the crowd expects: the outage's event, once per agent
    again = [a.again() for a in agents]
    started = time.monotonic()
    ready = await crowd.connect(again, 0)
    times = await crowd.collected()
    result = Recovery(
        seconds=max(times, default=started) - started,
        p50_seconds=percentile([t - started for t in times], 50),
        resubscribed=ready,
    )
    return result, again


def _median_recovery(runs: list[Recovery]) -> Recovery:
    return sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]


# --- the whole run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RatioCeiling(Row):
    """A figure judged by its ratio to the baseline staying at or under ``target`` (at most
    so many times the bare latency); ``Row`` judges a ratio only as a floor."""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        ratio = self.ratio
        return ratio is not None and ratio <= self.target

    def target_text(self) -> str:
        return "" if self.target is None else f"ratio <= {self.target:.2f}"


@dataclass(frozen=True)
class Results:
    limits: str
    bare_held: Held
    our_held: Held
    bare_fan: FanOut
    our_fan: FanOut
    bare_recovery: Recovery
    our_recovery: Recovery
    bare_errors: Counter[str]
    our_errors: Counter[str]
    # Errors by phase (each failed agent once, each missing delivery once): held
    # (figure 1), fan-out (2), recovery (3).
    phase_errors: dict[str, Counter[str]]


def _errors(counter: Counter[str]) -> str:
    return " ".join(f"{why}×{n}" for why, n in sorted(counter.items()))


def _all_errors(crowds: Sequence[Crowd]) -> Counter[str]:
    total: Counter[str] = Counter()
    for crowd in crowds:
        total.update({f"{crowd.name}: {why}": n for why, n in crowd.errors.items()})
    return total


@contextlib.contextmanager
def _phase(errors: dict[str, Counter[str]], name: str, *crowds: Crowd) -> Iterator[None]:
    before = _all_errors(crowds)
    yield
    errors[name] = _all_errors(crowds) - before


async def _measure(stack: Stack) -> Results:
    own_limit = raise_own_nofile(CONNECTIONS + FANOUT + 2 * FD_MARGIN)
    pid = stack.processes["notifier"].pid
    limits = check_nofile(pid, CONNECTIONS + FD_MARGIN) + f"; the load generator's {own_limit}"
    dsn = stack.config.database_url("notifier")
    pool = await db.create_pool(dsn, 1, 1)
    bare_port = free_port()
    bare_proc = _start_bare(bare_port)
    http = aiohttp.ClientSession()
    bare_crowd = Crowd("bare", "127.0.0.1", bare_port, "/ws")
    our_crowd = Crowd("notifier", "127.0.0.1", stack.config.ports["notifier"], "/websocket")
    live: list[Agent] = []
    try:
        async with pool.acquire() as conn:
            data = await notifier_data.load(conn, CONNECTIONS, FANOUT)
        await _wait_listening(bare_port, bare_proc)
        bare = Bare(bare_proc, f"http://127.0.0.1:{bare_port}", bare_crowd, http, data.product_id)
        ours = Notifier(pid, our_crowd, pool, data.product_id)
        phase: dict[str, Counter[str]] = {}

        async def xacts() -> float:
            async with pool.acquire() as conn:
                value = await conn.fetchval(
                    "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                    "WHERE datname = current_database()"
                )
            return float(value)

        with _phase(phase, "held", bare_crowd, our_crowd):
            bare_agents = [Agent(bare_crowd, None, bare.epoch, 0) for _ in range(CONNECTIONS)]
            live += bare_agents
            warm = [Agent(bare_crowd, None, bare.epoch, 0) for _ in range(WARMUP_CONNECTIONS)]
            bare_held = await _hold(bare_crowd, bare_proc.pid, bare_agents, warm)
            for agent in bare_agents[FANOUT:]:
                agent.close()
            bare_agents = bare_agents[:FANOUT]

            our_agents = [Agent(our_crowd, cred, None, None) for cred in data.agents]
            live += our_agents
            warm = [Agent(our_crowd, cred, None, None) for cred in data.agents[-WARMUP_CONNECTIONS:]]
            our_held = await _hold(our_crowd, pid, our_agents, warm, xacts)
            # The first FANOUT platforms run the product: they stay for figures 2 and 3.
            for agent in our_agents[FANOUT:]:
                agent.close()
            our_agents = our_agents[:FANOUT]
            await asyncio.sleep(SETTLE_SECONDS)

        with _phase(phase, "fan-out", bare_crowd, our_crowd):
            bare_fan, our_fan = await _fan_out(bare, ours, FANOUT)

        with _phase(phase, "recovery", bare_crowd, our_crowd):
            bare_runs, our_runs = [], []
            for _ in range(RECOVERY_ROUNDS):
                run, bare_agents = await _recover(bare_crowd, bare_agents, lambda: bare.broadcast(FANOUT))
                live += bare_agents
                bare_runs.append(run)
                run, our_agents = await _recover(our_crowd, our_agents, lambda: ours.publish(FANOUT))
                live += our_agents
                our_runs.append(run)

        return Results(
            limits,
            bare_held,
            our_held,
            bare_fan,
            our_fan,
            _median_recovery(bare_runs),
            _median_recovery(our_runs),
            bare_crowd.errors,
            our_crowd.errors,
            phase,
        )
    finally:
        for agent in live:
            agent.close()
        await asyncio.sleep(0.5)
        await http.close()
        await pool.close()
        bare_proc.terminate()
        try:
            await asyncio.to_thread(bare_proc.wait, 10)
        except subprocess.TimeoutExpired:
            bare_proc.kill()


async def _measure_within_budget(stack: Stack) -> Results:
    async with asyncio.timeout(BUDGET_SECONDS):
        return await _measure(stack)


def report(r: Results) -> None:
    port_note = "direct to one notifier process, not through the gateway"
    _line(f"\nnotifier WebSockets ({CONNECTIONS:,} platforms, one Ed25519 agent key each; {port_note})")
    _line(f"  open files: {r.limits}")
    _line(f"  {CONNECTIONS:,} connections (ramp of {RAMP_CONCURRENCY} handshakes at a time; notifier: hello,")
    _line("  challenge, authenticate, subscribe with no position so a resync; bare: the upgrade only)")
    head = ("held", "conn/s", "RSS before", "RSS after", "KiB/conn", "idle CPU")
    _line(f"  {'':10}" + "".join(f"{h:>12}" for h in head) + "   DB xact/s idle")
    for name, h in (("bare", r.bare_held), ("notifier", r.our_held)):
        figures = (
            f"{h.held:,}",
            f"{h.held / h.seconds:,.0f}",
            f"{h.rss_before_kib / 1024:,.1f} MiB",
            f"{h.rss_after_kib / 1024:,.1f} MiB",
            f"{h.kib_per_connection:,.1f}",
            f"{h.idle_cpu:.0%}",
        )
        rate = "" if h.idle_xacts is None else f"   {h.idle_xacts:,.0f}"
        _line(f"  {name:10}" + "".join(f"{f:>12}" for f in figures) + rate)
    _line(
        f"\n  fan-out of one event to {FANOUT:,} platforms: {ROUNDS} rounds each, interleaved, after "
        f"{WARMUP_ROUNDS} warm-up rounds;"
    )
    _line("  notifier: from its producing transaction's COMMIT returning; bare: from the POST being sent")
    head = ("p50 ms", "p99 ms", "max ms", "last/round", "server CPU", "gen. CPU")
    _line(f"  {'':10}" + "".join(f"{h:>12}" for h in head))
    for name, f in (("bare", r.bare_fan), ("notifier", r.our_fan)):
        values = (
            f.p50,
            f.p99,
            max(f.latencies_ms, default=math.nan),
            statistics.median(f.spans_ms or [math.nan]),
            f.server_ms_per_round,
            f.generator_ms_per_round,
        )
        _line(f"  {name:10}" + "".join(f"{v:>12.1f}" for v in values))
    _line(
        "  (last/round: median time to a round's last delivery; CPU: ms per round, means; the "
        "server's until its acks are in)"
    )
    for name, f in (("bare", r.bare_fan), ("notifier", r.our_fan)):
        _line(f"  {name}, ms to each round's last delivery: " + " ".join(f"{v:.0f}" for v in f.spans_ms))
    if r.our_fan.transaction_ms:
        _line(
            f"  the producing transaction ({FANOUT:,} appends + NOTIFYs): median "
            f"{statistics.median(r.our_fan.transaction_ms):.0f} ms, its COMMIT "
            f"{statistics.median(r.our_fan.commit_ms):.1f} ms (not counted in the latencies)"
        )
    for name, f in (("bare", r.bare_fan), ("notifier", r.our_fan)):
        spans, gen = statistics.fmean(f.spans_ms or [math.nan]), f.generator_ms_per_round
        _line(
            f"  load generator, {name} rounds: {gen:.1f} ms CPU per round ({gen * 1000 / FANOUT:.1f} µs a "
            f"frame), busy {gen / spans:.0%} of the {spans:.1f} ms to the last delivery"
        )
    _line(
        f"\n  recovery: all {FANOUT:,} drop, an event is produced, all reconnect at once "
        f"(median of {RECOVERY_ROUNDS} rounds)"
    )
    for name, rec in (("bare", r.bare_recovery), ("notifier", r.our_recovery)):
        _line(
            f"  {name:10} all back with the event in {rec.seconds:.2f} s (half in {rec.p50_seconds:.2f} s), "
            f"{rec.resubscribed:,} re-subscribed"
        )
    for phase, counted in r.phase_errors.items():
        if counted:
            _line(f"  errors ({phase}): {_errors(counted)}")


def rows(r: Results) -> list[Row]:
    label = f"{CONNECTIONS:,} connections"

    def errors(phase: str) -> dict[str, Any]:
        counted = r.phase_errors.get(phase, Counter())
        return {"errors": sum(counted.values()), "statuses": _errors(counted)}

    return [
        Row(
            f"notifier: connections held by one process (authenticated + subscribed, of {label})",
            r.our_held.held,
            "conns",
            baseline=r.bare_held.held,
            baseline_name="bare",
            target=1.0,
            **errors("held"),
        ),
        Row(
            f"notifier: memory per connection (RSS growth / {label})",
            r.our_held.kib_per_connection,
            "KiB",
            baseline=r.bare_held.kib_per_connection,
            baseline_name="bare",
        ),
        Row(
            f"notifier: publish-to-delivery p50, one event to {FANOUT:,} platforms",
            r.our_fan.p50,
            "ms",
            baseline=r.bare_fan.p50,
            baseline_name="bare",
        ),
        RatioCeiling(
            f"notifier: publish-to-delivery p99, one event to {FANOUT:,} platforms",
            r.our_fan.p99,
            "ms",
            baseline=r.bare_fan.p99,
            baseline_name="bare",
            target=TARGET_P99_RATIO,
            **errors("fan-out"),
        ),
        Row(
            f"notifier: recovery after {FANOUT:,} agents reconnect at once",
            r.our_recovery.seconds,
            "s",
            baseline=r.bare_recovery.seconds,
            baseline_name="bare",
            **errors("recovery"),
        ),
    ]


async def run(stack: Stack) -> list[Row]:
    """The generator runs in a thread of its own on uvloop (the bench's loop is asyncio's),
    this one waiting meanwhile."""
    results = await asyncio.to_thread(uvloop.run, _measure_within_budget(stack))
    report(results)
    return rows(results)
