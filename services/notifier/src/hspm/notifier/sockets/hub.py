"""One replica's sockets and the wake-ups that reach them from any replica.

Every replica LISTENs on one PostgreSQL channel. A transaction that appends to a
platform's stream NOTIFYs ``s:<platform_id>[,<platform_id>...]`` (delivered only when
it commits); the hub reads the new events for those platforms' sessions. A notice fanned
out to many platforms NOTIFYs ``f:`` with its frame and positions, which sessions idle
just before it send as they are. The table stays the record: a lost NOTIFY only delays
delivery until the next tick.
``k:<key_id>`` (a key revoked) and ``p:<platform_id>`` (a platform deleted) close sockets.

The hub also does for all its sessions at once what each would otherwise ask the database
on its own: their reads and acknowledgements (``batch``), the periodic look at every
stream's head behind the heartbeats (a NOTIFY lost is caught there), and the periodic
check that every agent's key is still active. An idle replica with ten thousand sockets
runs a few statements per interval, not ten thousand.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol
from uuid import UUID

import asyncpg
import orjson
import structlog
from aiohttp import web

from hspm.common import metrics
from hspm.common.lifecycle import pool_key
from hspm.common.web import state_key
from hspm.notifier.keys import settings_key
from hspm.notifier.sockets import protocol, service
from hspm.notifier.sockets.batch import Batch, Latest
from hspm.notifier.stream.resume import Head
from hspm.notifier.stream.service import CHANNEL, Record

log = structlog.get_logger(__name__)
RECONNECT_SECONDS = 1.0
# Shutdown closes every socket at once and waits this long for all of them together: one
# by one, each waiting for its peer's close frame, thousands of sockets would outlast the
# 10 s a stopping service has.
STOP_CLOSE_SECONDS = 3.0
# The periodic tick visits its platforms in this many slices, yielding the loop after
# every TICK_YIELD of them.
TICK_SLICES = 20
TICK_YIELD = 200
# A fan-out reads for at most FAN_CHUNK sessions per query, FAN_PAGE events each (a
# session with more waiting is woken to page through them itself).
FAN_CHUNK = 1000
FAN_PAGE = 16


class Listener(Protocol):
    """What the hub needs of a session."""

    platform_id: UUID | None
    key_id: UUID | None
    epoch: str

    def wake(self) -> None: ...

    def tick(self, head: Head | None) -> None: ...

    def waiting_at(self) -> int | None: ...

    async def deliver(self, after: int, head: Head | None, rows: list[Record]) -> None: ...

    async def take(self, seq: int, frame: str) -> None: ...

    def recheck(self) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class Hub:
    def __init__(self, dsn: str, pool: asyncpg.Pool, tick_seconds: float, check_seconds: float) -> None:
        self.dsn = dsn
        self.tick_seconds, self.check_seconds = tick_seconds, check_seconds
        self.by_platform: defaultdict[UUID, set[Listener]] = defaultdict(set)
        self.by_key: defaultdict[UUID, set[Listener]] = defaultdict(set)
        self.listening = asyncio.Event()
        self._stopping = asyncio.Event()
        self._closing: set[asyncio.Task[None]] = set()
        self.reads: Batch[tuple[UUID, int, int], tuple[Head | None, list[Record]]] = Batch(
            pool, service.read_many, concurrency=2
        )
        self.acks = Latest(pool, service.acknowledge_many)
        self._pool = pool
        # Platforms whose NOTIFY came in this turn of the loop, fanned out together.
        self._dirty: set[UUID] = set()
        self._fanning: set[asyncio.Task[None]] = set()

    async def read(self, platform_id: UUID, after: int, limit: int) -> tuple[Head | None, list[Record]]:
        """The stream's position and up to ``limit`` events after ``after``."""
        return await self.reads((platform_id, after, limit))

    def ack(self, platform_id: UUID, seq: int) -> None:
        self.acks.record(platform_id, seq)

    def join(self, session: Listener) -> None:
        if session.platform_id is not None:
            self.by_platform[session.platform_id].add(session)
        if session.key_id is not None:
            self.by_key[session.key_id].add(session)

    def leave(self, session: Listener) -> None:
        for index, key in ((self.by_platform, session.platform_id), (self.by_key, session.key_id)):
            if key is not None and key in index:
                index[key].discard(session)
                if not index[key]:
                    del index[key]

    def sessions(self) -> list[Listener]:
        return [s for group in self.by_platform.values() for s in group]

    def agents(self) -> int:
        """Sockets authenticated with a platform's key: only agents hold one."""
        return sum(len(group) for group in self.by_key.values())

    def owners(self) -> int:
        return sum(len(group) for group in self.by_platform.values()) - self.agents()

    def dispatch(self, payload: str) -> None:
        """Act on one NOTIFY payload (``s:`` and ids, ``k:`` or ``p:`` and an id)."""
        kind, _, raw = payload.partition(":")
        if kind == "s":  # one platform's id, or many, comma-separated
            self._woken(raw.split(","))
            return
        if kind == "f":  # an event's frame and the platforms it was appended to
            self._carried(raw)
            return
        try:
            target = UUID(raw)
        except ValueError:
            return
        if kind == "k":
            for session in list(self.by_key.get(target, ())):
                self._close(session, protocol.CLOSE_FORBIDDEN, "key revoked")
        elif kind == "p":
            for session in list(self.by_platform.get(target, ())):
                self._close(session, protocol.CLOSE_GONE, "platform deleted")

    def _woken(self, ids: list[str]) -> None:
        for raw in ids:
            try:
                self._mark(UUID(raw))
            except ValueError:
                continue

    def _mark(self, target: UUID) -> None:
        """Read for this platform's sockets in this turn's fan-out."""
        if target in self.by_platform:
            if not self._dirty:
                asyncio.get_running_loop().call_soon(self._fan_out)
            self._dirty.add(target)

    def _carried(self, raw: str) -> None:
        """A wake-up carrying the frame: the sockets idle just before its position take it
        as it is; any other socket of those platforms reads as after a plain wake-up."""
        try:
            carried = orjson.loads(raw)
            body, entries = str(carried["b"]), carried["p"]
            targets = [(UUID(p), str(epoch), int(seq)) for p, epoch, seq in entries]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("notifier.bad_wake_up")
            return
        ready: list[tuple[Listener, int, str]] = []
        for platform_id, epoch, seq in targets:
            sessions = self.by_platform.get(platform_id)
            if not sessions:
                continue
            frame = protocol.carried_event(epoch, seq, body)
            for session in sessions:
                if session.waiting_at() == seq - 1 and session.epoch == epoch:
                    ready.append((session, seq, frame))
                else:
                    self._mark(platform_id)
        if ready:
            task = asyncio.ensure_future(self._hand(ready))
            self._fanning.add(task)
            task.add_done_callback(self._fanning.discard)

    async def _hand(self, ready: list[tuple[Listener, int, str]]) -> None:
        for session, seq, frame in ready:
            await session.take(seq, frame)

    def _fan_out(self) -> None:
        """The sessions of every platform woken in this turn: those idle at the head of
        what they were sent get the new events straight from one query for all of them;
        any other (busy, behind, at its window) is woken to read for itself."""
        dirty, self._dirty = self._dirty, set()
        idle: list[tuple[Listener, int]] = []
        for platform_id in dirty:
            for session in self.by_platform.get(platform_id, ()):
                at = session.waiting_at()
                if at is None:
                    session.wake()
                else:
                    idle.append((session, at))
        for start in range(0, len(idle), FAN_CHUNK):
            task = asyncio.ensure_future(self._deliver(idle[start : start + FAN_CHUNK]))
            self._fanning.add(task)
            task.add_done_callback(self._fanning.discard)

    async def _deliver(self, sessions: list[tuple[Listener, int]]) -> None:
        requests = []
        for session, at in sessions:
            assert session.platform_id is not None
            requests.append((session.platform_id, at, FAN_PAGE))
        try:
            async with self._pool.acquire() as conn:
                answers = await service.read_many(conn, requests)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("notifier.fan_out_failed", error=str(exc), sessions=len(sessions))
            for session, _ in sessions:
                session.wake()  # each reads for itself, retrying as it does
            return
        for (session, at), (head, rows) in zip(sessions, answers, strict=True):
            await session.deliver(at, head, rows)

    async def drain(self) -> None:
        """Finish the reads and fan-outs in flight, write the acknowledgements pending."""
        await self.reads.drain()
        if self._fanning:
            await asyncio.gather(*self._fanning, return_exceptions=True)
        await self.acks.drain()

    def _close(self, session: Listener, code: int, reason: str) -> None:
        # Held until done: a task nobody references may be collected mid-close.
        task = asyncio.ensure_future(session.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def wake_all(self) -> None:
        # After a gap in listening, NOTIFYs may have been missed: every session re-reads.
        for session in self.sessions():
            session.wake()

    async def ticking(self) -> None:
        """Every ``tick_seconds``: every platform's head, read once for all its sessions, so
        they send heartbeats and catch up on anything a lost NOTIFY did not wake them for.

        The platforms are visited a slice at a time, spread over the interval, a few hundred
        sessions per loop turn: ten thousand heartbeats at one instant would hold up an
        event being fanned out at that instant by the whole burst."""
        turn = 0
        while not self._stopping.is_set():
            await self._pause(self.tick_seconds / TICK_SLICES)
            ids = [p for p in self.by_platform if hash(p) % TICK_SLICES == turn]
            turn = (turn + 1) % TICK_SLICES
            heads = await self._guarded(service.heads, ids) if ids else None
            if heads is None:
                continue
            for n, platform_id in enumerate(ids):
                for session in list(self.by_platform.get(platform_id, ())):
                    session.tick(heads.get(platform_id))
                if n % TICK_YIELD == TICK_YIELD - 1:
                    await asyncio.sleep(0)

    async def checking(self) -> None:
        """Every ``check_seconds``: are the keys of every connected agent still active? One
        query for all; a session whose key is not looks closer itself (revoked, or its
        platform deleted) and closes. The NOTIFYs close most such sockets sooner."""
        while not self._stopping.is_set():
            await self._pause(self.check_seconds)
            keys = list(self.by_key)
            if not keys:
                continue
            active = await self._guarded(service.active_keys, keys)
            if active is None:
                continue
            for key_id in keys:
                for session in list(self.by_key.get(key_id, ())):
                    if (session.platform_id, key_id) not in active:
                        session.recheck()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _guarded(self, query: Any, ids: list[UUID]) -> Any:
        """A periodic query's answer, or None when the database cannot answer now (the
        next round asks again)."""
        try:
            async with self._pool.acquire() as conn:
                return await query(conn, ids)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("notifier.periodic_query_failed", error=str(exc))
            return None

    async def run(self) -> None:
        """Keep one LISTEN connection open; reconnect (and wake everyone) when it drops."""
        while not self._stopping.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, lambda _c, _p, _ch, payload: self.dispatch(payload))
                self.listening.set()
                self.wake_all()
                stop = asyncio.ensure_future(self._stopping.wait())
                gone = asyncio.ensure_future(lost.wait())
                await asyncio.wait({stop, gone}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                gone.cancel()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("notifier.listen_failed", error=str(exc))
            finally:
                self.listening.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
            if not self._stopping.is_set():
                await asyncio.sleep(RECONNECT_SECONDS)

    async def stop(self) -> None:
        self._stopping.set()
        closing = [asyncio.ensure_future(s.close(1001, "server shutting down")) for s in self.sessions()]
        if not closing:
            return
        _, late = await asyncio.wait(closing, timeout=STOP_CLOSE_SECONDS)
        for task in late:  # a peer that never answers the close frame
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


hub_key = web.AppKey("notifier_hub", Hub)


async def hub_context(app: web.Application) -> AsyncIterator[None]:
    """The hub as a background task, after the database (its pool must exist first)."""
    assert pool_key in app  # the LISTEN connection is separate, but the schema must exist
    settings = app[settings_key]
    beat = settings.ws_heartbeat_seconds
    if settings.ws_state_seconds:
        beat = min(beat, settings.ws_state_seconds)
    # Half the interval: a session idle for a heartbeat hears one within 1.5 of them.
    hub = Hub(settings.database_url, app[pool_key], max(beat / 2, 0.05), settings.ws_key_check_seconds)
    app[hub_key] = hub
    metrics.agent_connections(app[state_key].metrics.registry, hub.agents, hub.owners)
    tasks = [
        asyncio.create_task(hub.run(), name="notifier-hub"),
        asyncio.create_task(hub.ticking(), name="notifier-hub-tick"),
        asyncio.create_task(hub.checking(), name="notifier-hub-check"),
    ]

    async def on_shutdown(_: web.Application) -> None:
        await hub.stop()

    app.on_shutdown.append(on_shutdown)
    try:
        yield
    finally:
        await hub.stop()
        _, late = await asyncio.wait(tasks, timeout=3.0)
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await hub.drain()
