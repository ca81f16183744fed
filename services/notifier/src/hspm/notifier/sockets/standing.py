"""Whether an authenticated socket may stay open: its key still active, its platform still
there and still its owner's, the gateway's assertion of the owner's token not expired.

The hub checks every agent's key for the whole replica at once and calls ``recheck`` on a
socket whose key is no longer active; an owner's socket (no key) is checked here on its
own, as its standing hangs on the token's user and the assertion's expiry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, Protocol
from uuid import UUID

import asyncpg

from hspm.common.auth import Principal
from hspm.notifier.config import Settings
from hspm.notifier.sockets import protocol, service


class Guarded(Protocol):
    """What the checks need of a session."""

    pool: asyncpg.Pool
    settings: Settings
    principal: Principal
    principal_expires: float | None
    platform_id: UUID | None
    key_id: UUID | None

    @property
    def closed(self) -> bool: ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class Standing:
    def __init__(self, session: Guarded) -> None:
        self.session = session
        self._checking = False

    def recheck(self) -> None:
        """One check now, unless one is under way."""
        if not self._checking and not self.session.closed:
            self._checking = True
            self.session.spawn(self.check())

    async def check(self) -> bool:
        """Close the socket if it may no longer stay open; True when it was closed."""
        s = self.session
        assert s.platform_id is not None
        try:
            async with s.pool.acquire() as conn:
                verdict = await service.standing(conn, s.platform_id, s.key_id, s.principal)
        finally:
            self._checking = False
        if verdict is not None:
            await s.close(*verdict)
        return verdict is not None

    def assertion_expired(self) -> bool:
        expires = self.session.principal_expires
        return expires is not None and time.time() >= expires

    def _next_check(self) -> float:
        """The interval, cut short by the assertion's expiry on an owner's socket."""
        s = self.session
        delay = s.settings.ws_key_check_seconds
        if s.key_id is None and s.principal_expires is not None:
            delay = min(delay, max(0.0, s.principal_expires - time.time()))
        return delay

    async def watch(self) -> None:
        """Re-check what the socket was let in on until it closes. The hub's wake-ups close
        most such sockets at once; this ends the rest (a NOTIFY lost, changes nobody
        announces, an assertion that expires)."""
        s = self.session
        while not s.closed:
            await asyncio.sleep(self._next_check())
            if s.key_id is None and self.assertion_expired():
                await s.close(protocol.CLOSE_EXPIRED, "authorization expired")
                return
            if await self.check():
                return
