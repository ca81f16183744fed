"""One replica's sockets and the wake-ups that reach them from any replica.

Every replica LISTENs on one PostgreSQL channel. A transaction that appends to a
platform's stream NOTIFYs ``s:<platform_id>`` (delivered only when it commits); the hub
wakes that platform's sessions here, which then read the table by sequence. A NOTIFY
carries no data, so a lost one only delays delivery until the session's next poll.
``k:<key_id>`` (a key revoked) and ``p:<platform_id>`` (a platform deleted) close sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Protocol
from uuid import UUID

import asyncpg
import structlog
from aiohttp import web

from hspm.common.lifecycle import pool_key
from hspm.common.web import state_key
from hspm.notifier.sockets import protocol
from hspm.notifier.stream.service import CHANNEL

log = structlog.get_logger(__name__)
RECONNECT_SECONDS = 1.0
# Shutdown closes every socket at once and waits this long for all of them together: one
# by one, each waiting for its peer's close frame, thousands of sockets would outlast the
# 10 s a stopping service has.
STOP_CLOSE_SECONDS = 3.0


class Listener(Protocol):
    """What the hub needs of a session."""

    platform_id: UUID | None
    key_id: UUID | None

    def wake(self) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class Hub:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.by_platform: defaultdict[UUID, set[Listener]] = defaultdict(set)
        self.by_key: defaultdict[UUID, set[Listener]] = defaultdict(set)
        self.listening = asyncio.Event()
        self._stopping = asyncio.Event()
        self._closing: set[asyncio.Task[None]] = set()

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

    def dispatch(self, payload: str) -> None:
        """Act on one NOTIFY payload (``s:``, ``k:`` or ``p:`` and an id)."""
        kind, _, raw = payload.partition(":")
        try:
            target = UUID(raw)
        except ValueError:
            return
        if kind == "s":
            for session in list(self.by_platform.get(target, ())):
                session.wake()
        elif kind == "k":
            for session in list(self.by_key.get(target, ())):
                self._close(session, protocol.CLOSE_FORBIDDEN, "key revoked")
        elif kind == "p":
            for session in list(self.by_platform.get(target, ())):
                self._close(session, protocol.CLOSE_GONE, "platform deleted")

    def _close(self, session: Listener, code: int, reason: str) -> None:
        # Held until done: a task nobody references may be collected mid-close.
        task = asyncio.ensure_future(session.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def wake_all(self) -> None:
        # After a gap in listening, NOTIFYs may have been missed: every session re-reads.
        for session in self.sessions():
            session.wake()

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
    hub = Hub(app[state_key].settings.database_url)
    app[hub_key] = hub
    task = asyncio.create_task(hub.run(), name="notifier-hub")

    async def on_shutdown(_: web.Application) -> None:
        await hub.stop()

    app.on_shutdown.append(on_shutdown)
    try:
        yield
    finally:
        await hub.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, 3.0)
